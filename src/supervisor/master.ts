/**
 * The master: owns the listening sockets, runs N workers of one generation,
 * replaces them on reload (new generation ready first, then the old one
 * drains), rolls back a generation that fails to start, and restarts crashed
 * workers with back-off. It never touches request traffic.
 */
import path from 'node:path';
import type { Phase, ReloadResult, Status, WorkerStatus } from '../control/types.js';
import { configureLog, log, logTail } from '../log.js';
import type { Address } from '../listeners/address.js';
import type { Inherited } from '../listeners/inherit.js';
import { Backoff } from './backoff.js';
import { SocketTable } from './sockets.js';
import { Worker, type WorkerSpec } from './worker.js';

export interface MasterOptions extends Omit<WorkerSpec, 'script'> {
  name: string;
  workers: number;
  /** The script as given: resolved against the logical cwd at each spawn, so a symlink switch takes effect. */
  script: string;
  readyTimeoutMs: number;
  /** Pre-bound with --listen. */
  listen: { label?: string; address: Address }[];
  /** From systemd socket activation. */
  inherited: readonly Inherited[];
}

type PhaseListener = (phase: Phase) => void;

const HISTORY = 10;
/**
 * Reloads start at least this far apart: requests meanwhile join the queued
 * one, so a burst of signals or commands starts at most two generations.
 */
const MIN_RELOAD_INTERVAL_MS = 1000;
/** How long a reload waits for the old workers to report their open connections. */
const DRAINING_REPORT_MS = 500;

export class Master {
  private readonly sockets = new SocketTable();
  private readonly startedAt = Date.now();
  private generation = 0;
  private nextGeneration = 1;
  private live: (Worker | undefined)[] = [];
  private starting: Worker[] = [];
  private readonly draining = new Set<Worker>();
  private readonly backoff: Backoff[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private running: Promise<ReloadResult> | undefined;
  private lastStart = 0;
  private queued: { listeners: Set<PhaseListener>; result: Promise<ReloadResult> } | undefined;
  private readonly history: Status['reloads'] = [];
  private readonly stopSignal = new AbortController();
  /** Until some worker has been ready, a crash has no good generation to fall back on. */
  private everReady = false;

  constructor(private readonly o: MasterOptions, private readonly exit: (code: number) => void) {}

  /** Binds the pre-declared sockets and starts the first generation. Throws a one-line error if a --listen address cannot be bound. */
  start(): void {
    const unusable = this.sockets.adopt(this.o.inherited);
    if (unusable.length) log('warn', 'closed inherited sockets whose address cannot be told', { sockets: unusable.join(',') });
    for (const { label, address } of this.o.listen) {
      const held = this.sockets.acquire(address, label);
      if (held instanceof Error) throw new Error(`--listen ${label ? `${label}=` : ''}${describe(address)}: ${held.code ?? held.message}`);
    }
    this.generation = this.nextGeneration++;
    configureLog({ generation: this.generation });
    this.live = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(this.generation, slot));
    log('info', 'started', { workers: this.o.workers, pids: this.live.map((w) => w!.pid).join(','), sockets: this.listenerNames().join(',') });
  }

  /** A worker's exit counts as a crash only once its generation is live; before that it is the reload's business. */
  private spawn(generation: number, slot: number): Worker {
    const spec: WorkerSpec = { ...this.o, script: path.resolve(this.o.cwd, this.o.script) };
    const worker = new Worker(spec, generation, this.sockets);
    void worker.exited.then(({ code, signal }) => this.onExit(worker, slot, code, signal));
    void worker.ready.then(() => {
      this.everReady = true;
      log('info', 'worker ready', { worker: worker.pid, ms: Date.now() - worker.startedAt });
    }, () => {});
    return worker;
  }

  private onExit(worker: Worker, slot: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.draining.delete(worker);
    if (this.stopSignal.signal.aborted || this.live[slot] !== worker) return;
    this.live[slot] = undefined;
    if (!this.everReady) {
      log('error', `the app failed to start: ${worker.describeExit(code, signal)}`);
      logTail('worker', worker.failed?.stderrTail ?? '');
      this.stop(1);
      return;
    }
    const backoff = (this.backoff[slot] ??= new Backoff());
    const { delayMs, crashes } = backoff.next(Date.now() - worker.startedAt);
    log(crashes > 1 ? 'error' : 'warn', `worker exited (${signal ?? `code ${code}`}); restarting it in ${delayMs} ms`, {
      worker: worker.pid, crashesInARow: crashes,
    });
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (!this.stopSignal.signal.aborted && this.live[slot] === undefined) this.live[slot] = this.spawn(this.generation, slot);
    }, delayMs);
    this.respawns.add(timer);
  }

  /**
   * One reload at a time. A request while one runs, or less than
   * MIN_RELOAD_INTERVAL_MS after one started, joins the next reload, which
   * starts when that is over; so a request is never lost, and never doubled.
   */
  reload(onPhase: PhaseListener = () => {}): Promise<ReloadResult> {
    if (this.stopSignal.signal.aborted) {
      return Promise.resolve({ ok: false, generation: this.generation, ms: 0, reason: 'the master is stopping' });
    }
    if (!this.queued && !this.running && Date.now() - this.lastStart >= MIN_RELOAD_INTERVAL_MS) {
      return this.begin(new Set([onPhase]));
    }
    if (!this.queued) {
      const listeners = new Set<PhaseListener>();
      const result = (this.running ?? Promise.resolve())
        .then(() => sleep(this.lastStart + MIN_RELOAD_INTERVAL_MS - Date.now()))
        .then(() => {
          this.queued = undefined;
          return this.begin(listeners);
        });
      this.queued = { listeners, result };
    }
    this.queued.listeners.add(onPhase);
    onPhase({ phase: 'queued', reason: 'a reload is running or has just run; this one follows it' });
    return this.queued.result;
  }

  private begin(listeners: Set<PhaseListener>): Promise<ReloadResult> {
    this.lastStart = Date.now();
    const run = this.runReload(listeners).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async runReload(listeners: Set<PhaseListener>): Promise<ReloadResult> {
    const started = Date.now();
    const emit = (phase: Phase): void => listeners.forEach((l) => l(phase));
    if (this.stopSignal.signal.aborted) return { ok: false, generation: this.generation, ms: 0, reason: 'the master is stopping' };
    const generation = this.nextGeneration++;
    const next = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(generation, slot));
    this.starting = next;
    log('info', 'reload: spawned', { next: generation, pids: next.map((w) => w.pid).join(',') });
    emit({ phase: 'spawned', generation, pids: next.map((w) => w.pid) });

    const failure = await this.waitReady(next);
    if (failure) {
      for (const w of next) w.drain('stop', this.o.drainTimeoutMs);
      await Promise.all(next.map((w) => w.exited));
      this.starting = [];
      const stderrTail = failure.worker?.failed?.stderrTail ?? '';
      log('error', `reload rolled back, generation ${this.generation} still serving: ${failure.reason}`, { failed: generation });
      logTail('worker', stderrTail);
      emit({ phase: 'rollback', generation, reason: failure.reason, stderrTail });
      return this.record({ ok: false, generation, ms: Date.now() - started, reason: failure.reason, stderrTail });
    }
    const readyMs = Date.now() - started;
    log('info', 'reload: new generation ready', { next: generation, ms: readyMs });
    emit({ phase: 'ready', generation, ms: readyMs });

    const old = this.live.filter((w): w is Worker => w !== undefined && w.state !== 'exited');
    const oldGeneration = this.generation;
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    this.live = next;
    this.starting = [];
    this.generation = generation;
    this.backoff.forEach((b) => b.reset());
    configureLog({ generation });
    for (const w of old) {
      this.draining.add(w);
      w.drain('upgrade', this.o.drainTimeoutMs);
    }
    await until(() => old.every((w) => w.drainingConnections !== undefined || w.state === 'exited'), DRAINING_REPORT_MS);
    const connections = old.reduce((n, w) => n + (w.drainingConnections ?? 0), 0);
    log('info', 'reload: draining the old generation', { old: oldGeneration, connections });
    emit({ phase: 'draining', generation: oldGeneration, connections });
    await Promise.all(old.map((w) => w.exited));

    const closed = this.sockets.closeUnused(new Set(next.flatMap((w) => w.listening)));
    if (closed.length) log('info', 'closed sockets the new generation does not listen on', { sockets: closed.join(',') });
    const ms = Date.now() - started;
    log('info', 'reload: done', { ms });
    emit({ phase: 'done', generation, ms });
    return this.record({ ok: true, generation, ms });
  }

  /** Undefined once every worker is ready; else why not (the first to fail, the timeout, or a stop). */
  private waitReady(workers: Worker[]): Promise<{ reason: string; worker?: Worker } | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const late = workers.find((w) => w.state === 'starting');
        resolve({ reason: `worker pid ${late?.pid} was not ready within ${this.o.readyTimeoutMs} ms`, worker: late });
      }, this.o.readyTimeoutMs);
      const onStop = (): void => resolve({ reason: 'cancelled: the master is stopping' });
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      const settle = (r: { reason: string; worker?: Worker } | undefined): void => {
        clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', onStop);
        resolve(r);
      };
      Promise.all(workers.map((w) => w.ready)).then(() => settle(undefined), () => {});
      // Exiting fails the reload even after the worker was ready: its generation is not live yet.
      for (const w of workers) void w.exited.then(({ code, signal }) => settle({ reason: w.describeExit(code, signal), worker: w }));
    });
  }

  private record(result: ReloadResult): ReloadResult {
    this.history.push({ generation: result.generation, ok: result.ok, ms: result.ms, at: new Date().toISOString(), reason: result.reason });
    if (this.history.length > HISTORY) this.history.shift();
    return result;
  }

  /** Drains every worker, then closes the sockets and exits with `code`. */
  stop(code = 0): void {
    if (this.stopSignal.signal.aborted) return;
    this.stopSignal.abort();
    for (const t of this.respawns) clearTimeout(t);
    const all = this.workers();
    log('info', 'stopping: draining all workers', { workers: all.length });
    for (const w of all) w.drain('stop', this.o.drainTimeoutMs);
    void Promise.all(all.map((w) => w.exited)).then(() => {
      this.sockets.closeAll();
      log('info', 'stopped');
      this.exit(code);
    });
  }

  /** The second SIGINT: no drain. */
  kill(): void {
    for (const w of this.workers()) w.kill();
    this.sockets.closeAll();
    this.exit(130);
  }

  private workers(): Worker[] {
    const all = [...this.live, ...this.starting, ...this.draining];
    return [...new Set(all)].filter((w): w is Worker => w !== undefined && w.state !== 'exited');
  }

  private listenerNames(): string[] {
    return this.sockets.all().map((h) => h.name);
  }

  status(): Status {
    const workers: WorkerStatus[] = this.workers().map((w) => ({
      pid: w.pid,
      generation: w.generation,
      state: w.state === 'exited' ? 'draining' : w.state,
      uptimeMs: Date.now() - w.startedAt,
      rssBytes: w.rssBytes(),
    }));
    return {
      name: this.o.name,
      masterPid: process.pid,
      uptimeMs: Date.now() - this.startedAt,
      generation: this.generation,
      workers,
      listeners: this.listenerNames(),
      reloads: [...this.history],
    };
  }
}

function describe(a: Address): string {
  return a.kind === 'unix' ? a.path : `${a.host ?? '*'}:${a.port}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      if (done() || Date.now() >= deadline) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
}
