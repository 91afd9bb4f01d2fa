/**
 * The master: owns the listening sockets, runs N workers of one generation,
 * replaces them on reload (new generation ready first, then the old one
 * drains), rolls back a generation that fails to start, and restarts crashed
 * workers with back-off. It never touches request traffic. Workers come from
 * an injected spawner, so the rules here are tested without processes.
 */
import type { Phase, ReloadRecord, ReloadResult, Status, WorkerStatus } from '../protocol/control.js';
import type { Address } from '../listeners/address.js';
import type { Inherited } from '../listeners/inherit.js';
import { awaitReady } from '../generation/parent.js';
import { Coalescer } from '../generation/coalesce.js';
import { configureLog, log, logTail } from '../log.js';
import { sleep } from '../time.js';
import { Backoff } from './backoff.js';
import type { SocketTable } from './sockets.js';
import type { Spawner, Worker } from './worker.js';

export interface MasterOptions {
  name: string;
  workers: number;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
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
  private readonly startedAt = Date.now();
  private generation = 0;
  private nextGeneration = 1;
  private live: (Worker | undefined)[] = [];
  private starting: Worker[] = [];
  private readonly draining = new Set<Worker>();
  private readonly backoff: Backoff[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly reloads = new Coalescer<PhaseListener, ReloadResult>((listeners) => this.runReload(listeners), MIN_RELOAD_INTERVAL_MS);
  private readonly history: ReloadRecord[] = [];
  private readonly stopSignal = new AbortController();
  /** Until some worker has been ready, a crash has no good generation to fall back on. */
  private everReady = false;
  /** Spawns a worker of the serving generation, on the code that generation started with; set by start(). */
  private launch!: () => Worker;

  constructor(
    private readonly o: MasterOptions,
    private readonly sockets: SocketTable,
    private readonly spawnWorker: Spawner,
    private readonly exit: (code: number) => void,
  ) {}

  /** Binds the pre-declared sockets and starts the first generation. Rejects with a one-line error if a --listen address cannot be bound. */
  async start(): Promise<void> {
    const unusable = this.sockets.adopt(this.o.inherited);
    if (unusable.length) log('warn', 'closed inherited sockets whose address cannot be told', { sockets: unusable.join(',') });
    for (const { label, address } of this.o.listen) {
      const held = await this.sockets.acquire(address, label);
      if (held instanceof Error) throw new Error(`--listen ${label ? `${label}=` : ''}${describe(address)}: ${held.code ?? held.message}`);
    }
    this.generation = this.nextGeneration++;
    configureLog({ generation: this.generation });
    this.launch = this.spawnWorker(this.generation);
    this.live = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(this.launch, slot));
    log('info', 'started', { workers: this.o.workers, pids: this.live.map((w) => w!.pid).join(','), sockets: this.listenerNames().join(',') });
  }

  /** A worker's exit counts as a crash only once its generation is live; before that it is the reload's business. */
  private spawn(launch: () => Worker, slot: number): Worker {
    const worker = launch();
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
      log('error', `the app failed to start: ${worker.describeExit({ code, signal })}`);
      logTail('worker', worker.failed?.stderrTail ?? '');
      this.stop(1);
      return;
    }
    const backoff = (this.backoff[slot] ??= new Backoff());
    const { delayMs, crashes } = backoff.next(Date.now() - worker.startedAt);
    log(crashes > 1 ? 'error' : 'warn', `${worker.describeExit({ code, signal })}; restarting it in ${delayMs} ms`, {
      worker: worker.pid, crashesInARow: crashes,
    });
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (!this.stopSignal.signal.aborted && this.live[slot] === undefined) this.live[slot] = this.spawn(this.launch, slot);
    }, delayMs);
    this.respawns.add(timer);
  }

  /**
   * One reload at a time. A request while one runs, or less than
   * MIN_RELOAD_INTERVAL_MS after one started, joins the next reload, which
   * starts when that is over; so a request is never lost, and never doubled.
   */
  reload(onPhase: PhaseListener = () => {}): Promise<ReloadResult> {
    if (this.stopSignal.signal.aborted) return Promise.resolve(this.stopping());
    const { result, queued } = this.reloads.request(onPhase);
    if (queued) onPhase({ phase: 'queued', reason: 'a reload is running or has just run; this one follows it' });
    return result;
  }

  private stopping(): ReloadResult {
    return { ok: false, generation: this.generation, ms: 0, reason: 'the master is stopping' };
  }

  private async runReload(listeners: PhaseListener[]): Promise<ReloadResult> {
    const started = Date.now();
    const emit = (phase: Phase): void => listeners.forEach((l) => l(phase));
    if (this.stopSignal.signal.aborted) return this.stopping();
    const generation = this.nextGeneration++;
    const launch = this.spawnWorker(generation);
    const next = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(launch, slot));
    this.starting = next;
    log('info', 'reload: spawned', { next: generation, pids: next.map((w) => w.pid).join(',') });
    emit({ phase: 'spawned', generation, pids: next.map((w) => w.pid) });

    const failure = await awaitReady(next, this.o.readyTimeoutMs, this.stopSignal.signal);
    if (failure) return this.rollBack(next, failure, started, emit);
    const readyMs = Date.now() - started;
    log('info', 'reload: new generation ready', { next: generation, ms: readyMs });
    emit({ phase: 'ready', generation, ms: readyMs });

    const cut = await this.retire(this.promote(next, launch), emit);
    const closed = this.sockets.closeUnused(new Set(next.flatMap((w) => w.listening)));
    if (closed.length) log('info', 'closed sockets the new generation does not listen on', { sockets: closed.join(',') });
    const ms = Date.now() - started;
    log('info', 'reload: done', { ms, cut });
    emit({ phase: 'done', generation, ms });
    return this.record({ ok: true, generation, ms, cut });
  }

  private async rollBack(next: Worker[], failure: { reason: string; child?: Worker }, started: number, emit: PhaseListener): Promise<ReloadResult> {
    const generation = next[0]!.generation;
    const deadline = Date.now() + this.o.drainTimeoutMs;
    for (const w of next) w.drain('stop', deadline);
    await Promise.all(next.map((w) => w.exited));
    this.starting = [];
    const stderrTail = failure.child?.failed?.stderrTail ?? '';
    log('error', `reload rolled back, generation ${this.generation} still serving: ${failure.reason}`, { failed: generation });
    logTail('worker', stderrTail);
    emit({ phase: 'rollback', generation, reason: failure.reason, stderrTail });
    return this.record({ ok: false, generation, ms: Date.now() - started, reason: failure.reason, stderrTail });
  }

  /** The new generation serves from now on; returns the old one's workers, to be retired. */
  private promote(next: Worker[], launch: () => Worker): { workers: Worker[]; generation: number } {
    const old = { workers: this.live.filter((w): w is Worker => w !== undefined && w.state !== 'exited'), generation: this.generation };
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    this.live = next;
    this.launch = launch;
    this.starting = [];
    this.generation = next[0]!.generation;
    this.backoff.forEach((b) => b.reset());
    configureLog({ generation: this.generation });
    return old;
  }

  /** Drains the old generation's workers until they are gone; returns the connections they cut at the deadline. */
  private async retire(old: { workers: Worker[]; generation: number }, emit: PhaseListener): Promise<number> {
    const deadline = Date.now() + this.o.drainTimeoutMs;
    for (const w of old.workers) {
      this.draining.add(w);
      w.drain('upgrade', deadline);
    }
    const reported = Promise.all(old.workers.map((w) => w.draining));
    const counts = await Promise.race([reported, sleep(DRAINING_REPORT_MS).then(() => undefined)]);
    const connections = (counts ?? []).reduce((n, c) => n + c, 0);
    log('info', 'reload: draining the old generation', { old: old.generation, connections });
    emit({ phase: 'draining', generation: old.generation, connections });
    await Promise.all(old.workers.map((w) => w.exited));
    return cutBy(old.workers);
  }

  private record(result: ReloadResult): ReloadResult {
    const { generation, ok, ms, reason, cut } = result;
    this.history.push({ generation, ok, ms, at: new Date().toISOString(), reason, cut });
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
    const deadline = Date.now() + this.o.drainTimeoutMs;
    for (const w of all) w.drain('stop', deadline);
    void Promise.all(all.map((w) => w.exited)).then(async () => {
      this.sockets.closeAll();
      log('info', 'stopped', { cut: await cutBy(all) });
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

/** The connections `workers`, all exited, cut at their drain deadline. */
async function cutBy(workers: readonly Worker[]): Promise<number> {
  return (await Promise.all(workers.map((w) => w.cut))).reduce((n, c) => n + c, 0);
}

function describe(a: Address): string {
  return a.kind === 'unix' ? a.path : `${a.host ?? '*'}:${a.port}`;
}
