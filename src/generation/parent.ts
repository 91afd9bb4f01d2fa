/**
 * The parent side of a generation, for the master and for a standalone
 * process alike: start a child with the listening sockets (fd 3 on, described
 * as systemd does) and an IPC channel; learn when it is ready or why it failed;
 * ask it to drain by a deadline, and kill it if it outlives that deadline. A
 * child is addressed through its process handle and channel, never by a bare
 * pid, which may be reused once it has been reaped.
 */
import type { ChildProcess } from 'node:child_process';
import events from 'node:events';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { writeListenEnv } from '../protocol/fds.js';
import type { DrainReason, FailedMessage, Message } from '../protocol/messages.js';
import { type Env, type Settings, settingsEnv, workerEnv } from '../protocol/settings.js';
import { builtin } from '../internals/builtins.js';
import type { NativeHandle } from '../internals/handles.js';
import { log, logTail } from '../log.js';
import type { Phase, ReloadResult } from '../protocol/control.js';
import { quote } from '../protocol/quote.js';
import { type Timer, at } from '../time.js';
import { type Body, Channel } from './channel.js';
import { Handing } from './handing.js';

/** A child that outlives its drain deadline by this much is killed. */
const KILL_GRACE_MS = 2000;

export interface ChildSpec {
  execPath: string;
  /** Node flags, script and app arguments. */
  args: string[];
  cwd: string;
  /** The environment before baton's own variables are added. */
  env: Env;
  sockets: readonly { name: string; fd: number }[];
  settings: Settings;
  /** A master's worker, or a standalone process's successor. */
  role: 'worker' | 'successor';
  /** Where its stdout and stderr go, read through pipes (--log-file); absent, they are the parent's own. */
  output?: (stream: 'stdout' | 'stderr', from: Readable, child: { pid: number; generation: number }) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type ChildState = 'starting' | 'ready' | 'draining' | 'exited';

/** What else a child asks of its parent (a worker's listen requests). */
export type OnRequest = (child: Child, m: Message, handle: NativeHandle | undefined) => void;

export class Child {
  readonly pid: number;
  /** `worker pid 42`, `successor pid 42`: how log lines and reasons name it. */
  readonly name: string;
  readonly generation: number;
  /** The node binary it runs on. */
  readonly execPath: string;
  readonly startedAt = Date.now();
  state: ChildState = 'starting';
  /** Sockets it listens on, reported when ready and as that changes. */
  listening: string[] = [];
  /** It has given up the inherited sockets it did not take: `listening` is where it serves (see ListeningMessage). */
  isSettled = false;
  /** Resolves when it is settled. */
  readonly settled: Promise<void>;
  /** When it said it was ready. */
  readyAt: number | undefined;
  /** Its last heartbeat (a master's worker beats every HEARTBEAT_MS). */
  heartbeat: { at: number; delayMs: number; connections: number; cpuMs?: number } | undefined;
  /** What it said as it died before it was ready. */
  failed: FailedMessage | undefined;
  /** Why it never started: the spawn error, said with what to do about it. */
  private spawnFailure: string | undefined;
  /** Resolves when it is ready; rejects with the reason if it exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<Exit>;
  /** The connections it had open as it began to drain (0 if it exited first). */
  readonly draining: Promise<number>;
  /**
   * The connections it cut at its drain deadline, as it said before exiting;
   * killed there before it could say (stopped, or its event loop blocked), the
   * connections it last said it had open, a floor.
   */
  readonly cut: Promise<number>;
  private readonly process: ChildProcess;
  private readonly channel: Channel;
  /** Connections handed to it, waiting for its word. */
  private readonly handing = new Handing();
  private wasReady = false;
  private killTimer: Timer | undefined;
  private deadline = Infinity;
  /** Its open connections as it last said (a heartbeat, or as it began to drain). */
  private lastConnections = 0;
  private killedAtDeadline = false;
  private saidCut = false;
  private reportDraining: (connections: number) => void = () => {};
  private reportCut: (cut: number) => void = () => {};
  private markReady: () => void = () => {};
  private markSettled: () => void = () => {};

  constructor(spec: ChildSpec, onRequest: OnRequest = () => {}) {
    this.process = spawnChild(spec);
    this.pid = this.process.pid ?? 0;
    this.generation = spec.settings.generation;
    this.execPath = spec.execPath;
    for (const stream of ['stdout', 'stderr'] as const) {
      const from = this.process[stream];
      if (spec.output && from) spec.output(stream, from, { pid: this.pid, generation: this.generation });
    }
    this.name = `${spec.role} pid ${this.pid}`;
    // Not once: an 'error' with no listener (a failed kill, say) would throw in the master.
    this.process.on('error', (err: Error) => {
      if (isSpawnError(err)) this.spawnFailure ??= describeSpawnError(err, spec);
      else log('warn', `${this.name}: ${err.message}`);
    });
    this.channel = new Channel(this.process, this.name, (m, handle) => this.receive(m, handle, onRequest));
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': it comes after the IPC channel has delivered its last message.
      this.process.once('close', (code, signal) => {
        this.state = 'exited';
        this.handing.end();
        this.killTimer?.cancel();
        this.reportDraining(0);
        this.reportCut(this.killedAtDeadline && !this.saidCut ? this.lostAtKill() : 0);
        resolve({ code, signal });
      });
    });
    this.draining = new Promise((resolve) => (this.reportDraining = resolve));
    this.cut = new Promise((resolve) => (this.reportCut = resolve));
    this.settled = new Promise((resolve) => (this.markSettled = resolve));
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      // A failed spawn ends in 'close' too (code: the negative errno), after the 'error' that says why.
      void this.exited.then((exit) => reject(new Error(this.describeExit(exit))));
    });
    this.ready.catch(() => {});
  }

  private receive(m: Message, handle: NativeHandle | undefined, onRequest: OnRequest): void {
    if (m.type === 'ready' && this.state === 'starting') {
      this.state = 'ready';
      this.wasReady = true;
      this.readyAt = Date.now();
      this.listening = m.listening;
      this.markReady();
    } else if (m.type === 'listening') {
      this.listening = m.listening;
      this.isSettled ||= m.settled;
      if (m.settled) this.markSettled();
    } else if (m.type === 'connection-taken') {
      this.handing.answer(m.id, m.taken);
    } else if (m.type === 'failed') {
      this.failed = m;
    } else if (m.type === 'heartbeat') {
      this.heartbeat = { at: Date.now(), delayMs: m.delayMs, connections: m.connections, cpuMs: m.cpuMs };
      this.lastConnections = m.connections;
      // Its figures are the parent's to keep, its requests to add up.
      onRequest(this, m, handle);
    } else if (m.type === 'draining') {
      this.lastConnections = m.connections;
      this.reportDraining(m.connections);
    } else if (m.type === 'drained') {
      this.saidCut = true;
      this.reportCut(m.cut);
    } else {
      onRequest(this, m, handle);
    }
  }

  send(body: Body, handle?: { fd: number }): boolean {
    return this.channel.send(body, handle);
  }

  /** An idle connection on `address`, to serve from now on: resolves true once a server of its has taken it. */
  handOver(address: string, handle: NativeHandle): Promise<boolean> {
    return this.handing.send(this.channel, address, handle);
  }

  /**
   * Asks it to stop accepting, drain and exit by `deadline`; kills it if it
   * is still there KILL_GRACE_MS later. A child still starting may not read
   * messages yet: it gets SIGTERM, which it drains on as well. Asked again
   * with an earlier deadline, it is told so (it cuts what is open at once),
   * and killed that much sooner.
   */
  drain(reason: DrainReason, deadline: number): void {
    if (this.state === 'exited' || deadline >= this.deadline) return;
    const starting = this.state === 'starting';
    this.state = 'draining';
    this.deadline = deadline;
    if (starting || !this.send({ type: 'drain', reason, deadline })) this.process.kill('SIGTERM');
    this.killTimer?.cancel();
    this.killTimer = at(deadline + KILL_GRACE_MS, () => {
      log('warn', `${this.name} outlived its drain deadline: killing it`);
      this.killedAtDeadline = true;
      this.process.kill('SIGKILL');
    });
  }

  /** What a child killed at its deadline, unheard since, lost: at least what it last said it had open. */
  private lostAtKill(): number {
    const n = this.lastConnections;
    if (n > 0)
      log('warn', `≥${n} ${n === 1 ? 'connection' : 'connections'} lost: ${this.name} killed at the drain deadline`);
    return n;
  }

  kill(): void {
    if (this.state !== 'exited') this.process.kill('SIGKILL');
  }

  /** Why it exited, with the error it reported. */
  describeExit(exit: Exit): string {
    if (this.spawnFailure) return this.spawnFailure;
    return `${this.name} exited ${this.wasReady ? '' : 'before it was ready '}(${how(exit)})${errorOf(this)}`;
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

/**
 * Node reports most failed spawns (ENOENT, EACCES, EMFILE…) as an 'error'
 * event, then a 'close' whose code is the negative errno, but throws others
 * (ENOTDIR for a working directory that is a file, E2BIG): a thrown one is
 * replayed the same way, so that a failed spawn is always a child that
 * exited, and never an exception in the master's timers or reloads.
 */
function spawnChild(spec: ChildSpec): ChildProcess {
  try {
    return builtin('child_process').spawn(spec.execPath, spec.args, {
      cwd: spec.cwd,
      env: childEnv(spec),
      stdio: [
        'inherit',
        spec.output ? 'pipe' : 'inherit',
        spec.output ? 'pipe' : 'inherit',
        ...spec.sockets.map((s) => s.fd),
        'ipc',
      ],
    });
  } catch (err) {
    if (!isSpawnError(err)) throw err;
    const unspawned = Object.assign(new events.EventEmitter(), { pid: undefined, connected: false, kill: () => false });
    process.nextTick(() => {
      unspawned.emit('error', err);
      unspawned.emit('close', err.errno ?? -1, null);
    });
    return unspawned as unknown as ChildProcess;
  }
}

function isSpawnError(err: unknown): err is NodeJS.ErrnoException {
  const syscall = (err as NodeJS.ErrnoException | undefined)?.syscall;
  return typeof syscall === 'string' && syscall.startsWith('spawn');
}

/** The fix for a process out of file descriptors, wherever baton meets one. */
export const RAISE_FD_LIMIT = 'raise the limit with ulimit -n, or LimitNOFILE= under systemd';

/** `cannot start the worker: spawn EMFILE (…)`: the errno, and the fix for the usual ones. */
function describeSpawnError(err: NodeJS.ErrnoException, spec: ChildSpec): string {
  const code = err.code ?? String(err.errno);
  let cwdIsDir = false;
  try {
    cwdIsDir = fs.statSync(spec.cwd).isDirectory();
  } catch {
    // missing: said below
  }
  const missing = cwdIsDir
    ? `${quote(spec.execPath)} not found`
    : `the working directory ${quote(spec.cwd)} does not exist or is not a directory`;
  const hints: Record<string, string> = {
    EMFILE: `too many open files; ${RAISE_FD_LIMIT}`,
    ENFILE: 'the system has too many open files; close some, or raise fs.file-max',
    EAGAIN: 'too many processes, or too little memory; raise the limit with ulimit -u, or LimitNPROC= under systemd',
    ENOENT: missing,
    ENOTDIR: missing,
    EACCES: `permission denied to run ${quote(spec.execPath)} in ${quote(spec.cwd)}`,
    E2BIG: 'the arguments and environment are too long',
  };
  const hint = hints[code];
  return `cannot start the ${spec.role}: spawn ${code}${hint ? ` (${hint})` : ''}`;
}

function childEnv(spec: ChildSpec): Env {
  return {
    ...spec.env,
    ...settingsEnv(spec.settings),
    ...(spec.role === 'worker' ? workerEnv() : {}),
    ...writeListenEnv(
      spec.sockets.map((s) => s.name),
      process.pid,
    ),
  };
}

/** What the waiting needs of a child: a master's tests give fakes of it. */
export type Starting = Pick<Child, 'name' | 'state' | 'ready' | 'exited' | 'describeExit'>;

/**
 * Why `children` are not all ready by `timeoutMs`: the first to fail, the timeout, or `cancel`; undefined once all are
 * ready.
 */
export function awaitReady<C extends Starting>(
  children: readonly C[],
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<{ reason: string; child?: C } | undefined> {
  return new Promise((resolve) => {
    const settle = (r: { reason: string; child?: C } | undefined): void => {
      timer.cancel();
      cancel?.removeEventListener('abort', onCancel);
      resolve(r);
    };
    const timer = at(Date.now() + timeoutMs, () => {
      const late = children.find((c) => c.state === 'starting');
      settle({ reason: `${late?.name ?? 'a child'} was not ready within ${timeoutMs} ms`, child: late });
    });
    const onCancel = (): void => settle({ reason: 'cancelled by a stop' });
    if (cancel?.aborted) return onCancel();
    cancel?.addEventListener('abort', onCancel, { once: true });
    Promise.all(children.map((c) => c.ready)).then(
      () => settle(undefined),
      () => {},
    );
    // Exiting fails the wait even after the child was ready: it has not taken over yet.
    for (const c of children) void c.exited.then((exit) => settle({ reason: c.describeExit(exit), child: c }));
  });
}

/**
 * The first of `children` to exit within `windowMs` (they are ready and on
 * probation), or undefined once it has passed or on `cancel`.
 */
export function firstExit<C extends Starting>(
  children: readonly C[],
  windowMs: number,
  cancel?: AbortSignal,
): Promise<{ child: C; exit: Exit } | undefined> {
  if (windowMs === 0 || cancel?.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const settle = (r: { child: C; exit: Exit } | undefined): void => {
      timer.cancel();
      cancel?.removeEventListener('abort', onCancel);
      resolve(r);
    };
    const timer = at(Date.now() + windowMs, () => settle(undefined));
    const onCancel = (): void => settle(undefined);
    cancel?.addEventListener('abort', onCancel, { once: true });
    for (const child of children) void child.exited.then((exit) => settle({ child, exit }));
  });
}

/** Why a child that exited in its crash window failed, with the error it reported. */
export function crashReason(
  child: Pick<Child, 'name' | 'readyAt' | 'startedAt' | 'failed'>,
  exit: Exit,
  windowMs: number,
): string {
  const after = Date.now() - (child.readyAt ?? child.startedAt);
  return `${child.name} exited (${how(exit)}) ${after} ms after it was ready (crash window ${windowMs} ms)${errorOf(child)}`;
}

function how({ code, signal }: Exit): string {
  return signal ?? `code ${code}`;
}

function errorOf(child: Pick<Child, 'failed'>): string {
  return child.failed?.error ? `: ${child.failed.error}` : '';
}

/**
 * Stops a failed generation: what is ready drains by `deadline`; what never
 * became ready (it may be stuck) gets SIGTERM and is killed KILL_GRACE_MS
 * later, not a whole drain timeout later, so that one which took requests
 * before it said ready (--wait-ready) still answers them.
 */
export function stopNew(children: readonly Pick<Child, 'state' | 'drain'>[], deadline: number): void {
  for (const c of children) c.drain('stop', c.state === 'starting' ? Date.now() : deadline);
}

/**
 * A failed generation said alike by a master and a standalone process: the
 * line `said` with the reason, the failed child's stderr tail, the rollback
 * phase, and the result's fields; each then tells systemd who serves.
 */
export function rolledBack(
  failed: { generation: number; reason: string; child?: Pick<Child, 'failed'> },
  said: string,
  who: string,
  onPhase: (phase: Phase) => void,
): Omit<ReloadResult, 'ms'> & { ok: false; reason: string; stderrTail: string } {
  const { generation, reason } = failed;
  const stderrTail = failed.child?.failed?.stderrTail ?? '';
  log('error', `${said}: ${reason}`, { failed: generation });
  logTail(who, stderrTail);
  onPhase({ phase: 'rollback', generation, reason, stderrTail });
  return { ok: false, generation, reason, stderrTail };
}
