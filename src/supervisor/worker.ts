/**
 * One worker process, as the master sees it: spawned with every socket the
 * master holds (fd 3 on), an IPC channel for control messages, and the
 * master's own stdout/stderr (inherited, never piped through the master).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { ENV, writeListenEnv } from '../protocol/env.js';
import { type FailedMessage, type Message, isBatonMessage, message, parseMessage } from '../protocol/messages.js';
import { log } from '../log.js';
import { parseName } from '../listeners/address.js';
import type { SocketTable } from './sockets.js';

export interface WorkerSpec {
  execPath: string;
  nodeArgs: string[];
  register: string;
  script: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  waitReady: boolean;
  drainTimeoutMs: number;
  logFormat: 'text' | 'json';
}

export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

export class Worker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt = Date.now();
  state: WorkerState = 'starting';
  /** Sockets it listens on, reported when ready. */
  listening: string[] = [];
  failed: FailedMessage | undefined;
  wasReady = false;
  drainingConnections: number | undefined;
  /** Resolves when it is ready; rejects with the reason if it exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(spec: WorkerSpec, readonly generation: number, sockets: SocketTable) {
    const held = sockets.all();
    this.child = spawn(spec.execPath, [...spec.nodeArgs, '--import', spec.register, spec.script, ...spec.args], {
      cwd: spec.cwd,
      env: {
        ...spec.env,
        ...writeListenEnv(held.map((h) => h.name), process.pid),
        [ENV.role]: 'worker',
        [ENV.generation]: String(generation),
        [ENV.waitReady]: spec.waitReady ? '1' : '0',
        [ENV.drainTimeout]: `${spec.drainTimeoutMs}ms`,
        [ENV.logFormat]: spec.logFormat,
      },
      stdio: ['inherit', 'inherit', 'inherit', ...held.map((h) => h.handle.fd), 'ipc'],
    });
    this.pid = this.child.pid ?? 0;
    this.exited = new Promise((resolve) => {
      // 'close' comes after the IPC channel has delivered its last message.
      this.child.once('close', (code, signal) => {
        this.state = 'exited';
        clearTimeout(this.killTimer);
        resolve({ code, signal });
      });
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (raw: unknown) => {
        const m = this.parse(raw);
        if (m?.type === 'ready' && this.state === 'starting') {
          this.state = 'ready';
          this.wasReady = true;
          this.listening = m.listening;
          resolve();
        } else if (m) {
          this.handle(m, sockets);
        }
      });
      this.child.once('error', (err) => reject(new Error(`cannot start a worker: ${err.message}`)));
      void this.exited.then(({ code, signal }) => reject(new Error(this.describeExit(code, signal))));
    });
    this.ready.catch(() => {});
  }

  private parse(raw: unknown): Message | undefined {
    if (!isBatonMessage(raw)) return undefined;
    const parsed = parseMessage(raw);
    if (parsed.ok) return parsed.message;
    log('warn', 'ignored a malformed message from a worker', { worker: this.pid, reason: parsed.reason });
    return undefined;
  }

  private handle(m: Message, sockets: SocketTable): void {
    if (m.type === 'failed') {
      this.failed = m;
    } else if (m.type === 'draining') {
      this.drainingConnections = m.connections;
    } else if (m.type === 'listen') {
      const address = parseName(m.address);
      if (!address) {
        this.send({ type: 'listen-result', id: m.id, code: 'EINVAL' });
        return;
      }
      const held = sockets.acquire(address);
      if (held instanceof Error) {
        log('error', `cannot bind ${m.address} for worker pid ${this.pid}: ${held.code ?? held.message}`);
        this.send({ type: 'listen-result', id: m.id, code: held.code ?? 'EINVAL' });
      } else {
        this.send({ type: 'listen-result', id: m.id, name: held.name }, held.handle);
      }
    }
  }

  private send(body: Parameters<typeof message>[0], handle?: { fd: number }): void {
    if (!this.child.connected) return;
    try {
      this.child.send(message(body), handle as never, (err: Error | null) => {
        if (err) log('warn', 'a message to a worker was lost', { worker: this.pid, error: err.message });
      });
    } catch (err) {
      log('warn', 'a message to a worker was lost', { worker: this.pid, error: (err as Error).message });
    }
  }

  /** Asks it to stop accepting, drain and exit; kills it if it outlives the drain timeout. */
  drain(reason: 'upgrade' | 'stop', drainTimeoutMs: number): void {
    if (this.state === 'exited' || this.state === 'draining') return;
    this.state = 'draining';
    if (this.child.connected) this.send({ type: 'drain', reason });
    else this.child.kill('SIGTERM');
    this.killTimer = setTimeout(() => {
      log('warn', 'worker outlived the drain timeout: killing it', { worker: this.pid });
      this.child.kill('SIGKILL');
    }, drainTimeoutMs + 2000);
  }

  kill(): void {
    if (this.state !== 'exited') this.child.kill('SIGKILL');
  }

  /** Why it exited, with the error it reported if it died before it was ready. */
  describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ?? `code ${code}`;
    if (this.wasReady) return `worker pid ${this.pid} exited (${how})`;
    const why = this.failed?.error ? `: ${this.failed.error}` : '';
    return `worker pid ${this.pid} exited before it was ready (${how})${why}`;
  }

  rssBytes(): number | null {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1];
      return kb ? Number(kb) * 1024 : null;
    } catch {
      return null;
    }
  }
}
