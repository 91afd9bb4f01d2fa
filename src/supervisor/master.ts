/**
 * The master: owns the listening sockets, runs N workers of one generation,
 * replaces them on reload (new generation ready first, then the old one
 * drains), rolls back a generation that fails to start, and restarts crashed
 * workers with back-off. It never touches request traffic. Workers come from
 * an injected spawner, so the rules here are tested without processes.
 */
import path from 'node:path';
import {
  type MasterMemory, NO_RELEASES, type Phase, type ReleaseList, ReloadRefused, type ReloadRecord, type ReloadResult, type Status, type Stopping, type WorkerStatus, remember,
} from '../protocol/control.js';
import type { Address } from '../listeners/address.js';
import { HEARTBEAT_MS } from '../protocol/messages.js';
import type { SupervisorSettings } from '../protocol/settings.js';
import type { Inherited } from '../listeners/inherit.js';
import { type Exit, awaitReady } from '../generation/parent.js';
import { Coalescer } from '../generation/coalesce.js';
import { configureLog, log, logTail } from '../log.js';
import type { Notifier, Serving } from '../systemd/notify.js';
import { sleep } from '../time.js';
import { Backoff } from './backoff.js';
import { CURRENT, currentRelease, listReleases, pointCurrent, releasePath } from './releases.js';
import type { SocketTable } from './sockets.js';
import { Watchdog } from './watchdog.js';
import type { Spawner, Worker } from './worker.js';

export interface MasterOptions extends SupervisorSettings {
  name: string;
  workers: number;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
  /** Pre-bound with --listen. */
  listen: { label?: string; address: Address }[];
  /** From systemd socket activation. */
  inherited: readonly Inherited[];
  /** --releases: the directory of releases; each generation runs one, and `current` follows the one in service. */
  releases?: string;
  /** Told of what the master does, for counting (the admin listener's metrics). */
  events?: MasterEvents;
}

export interface MasterEvents {
  /** A reload ended, in service or rolled back (once per reload, however many requests joined it). */
  reloaded(result: ReloadResult): void;
  /** A crashed worker was started again. */
  respawned(): void;
  /** A worker cut this many connections at its drain deadline. */
  cut(connections: number): void;
}

type PhaseListener = (phase: Phase) => void;

/** One reload request: who hears its phases, and the release it names (none: the one `current` points to). */
interface ReloadRequest {
  onPhase: PhaseListener;
  release?: string;
}

/** A generation's number, its release (with --releases), and what spawns its workers (on the code it started with). */
interface Code {
  generation: number;
  release?: string;
  launch: () => Worker;
}

/** A worker of a generation in its crash window that exited. */
interface Crash {
  worker: Worker;
  slot: number;
  exit: Exit;
}

/** A reload that has put its generation in service; its result comes once the old generation has drained. */
interface InService {
  result: Promise<ReloadResult>;
}

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
  /** Old generations still draining, oldest first. */
  private readonly retiring: { generation: number; workers: Worker[] }[] = [];
  /** Silent workers whose replacement is starting, and that replacement. */
  private readonly replacing = new Map<Worker, Worker>();
  /** Silent workers replaced, draining (or being killed). */
  private readonly replaced = new Set<Worker>();
  private readonly backoff: Backoff[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly reloads = new Coalescer<ReloadRequest, InService>((requests) => this.runReload(requests), MIN_RELOAD_INTERVAL_MS);
  private readonly history: ReloadRecord[] = [];
  private readonly stopSignal = new AbortController();
  /** Once stopped: waiting out --shutdown-delay (until when, and the timer that ends it), then draining by a deadline. */
  private stopState: { phase: 'delay'; until: number; timer: NodeJS.Timeout } | { phase: 'draining'; deadline: number } | undefined;
  private readonly watchdog: Watchdog;
  private heartbeatCheck: NodeJS.Timeout | undefined;
  /** The generation in its crash window: an exit there rolls the reload back, instead of a respawn. */
  private probation: { generation: number; crashed: (crash: Crash) => void } | undefined;
  /** Until some worker has been ready, a crash has no good generation to fall back on. */
  private everReady = false;
  /** Whether systemd has been told that a generation serves (READY=1). */
  private announced = false;
  /** Spawns a worker of the serving generation, on the code that generation started with; set by start(). */
  private launch!: () => Worker;
  /** The release the serving generation runs (with --releases); set by start(). */
  private release: string | undefined;

  constructor(
    private readonly o: MasterOptions,
    private readonly sockets: SocketTable,
    private readonly spawnWorker: Spawner,
    private readonly exit: (code: number) => void,
    private readonly notify: Notifier,
  ) {
    this.watchdog = new Watchdog(o.unresponsiveMs, HEARTBEAT_MS);
  }

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
    this.release = this.o.releases === undefined ? undefined : currentRelease(this.o.releases);
    this.launch = this.launcher(this.generation, this.release);
    this.live = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(this.launch, slot));
    if (this.o.unresponsiveMs > 0) {
      this.heartbeatCheck = setInterval(() => this.checkHeartbeats(), HEARTBEAT_MS);
      this.heartbeatCheck.unref();
    }
    log('info', 'started', {
      workers: this.o.workers, pids: this.live.map((w) => w!.pid).join(','), sockets: this.listenerNames().join(','), release: this.release,
    });
  }

  /** What spawns `generation`'s workers: from `release`'s directory with --releases, else as the command line said. */
  private launcher(generation: number, release: string | undefined): () => Worker {
    return this.spawnWorker(generation, release === undefined ? undefined : releasePath(this.o.releases!, release));
  }

  /** A worker's exit counts as a crash only once its generation is live; before that it is the reload's business. */
  private spawn(launch: () => Worker, slot: number): Worker {
    const worker = launch();
    void worker.exited.then((exit) => this.onExit(worker, slot, exit));
    void worker.cut.then((n) => this.o.events?.cut(n));
    void worker.ready.then(() => {
      this.everReady = true;
      log('info', 'worker ready', { worker: worker.pid, ms: Date.now() - worker.startedAt });
      // The first generation serves once every slot has a ready worker (one may have been respawned meanwhile).
      if (!this.announced && this.live.every((w) => w?.state === 'ready')) this.announceServing();
    }, () => {});
    return worker;
  }

  private onExit(worker: Worker, slot: number, exit: Exit): void {
    this.replaced.delete(worker);
    if (this.stopSignal.signal.aborted || this.live[slot] !== worker) return;
    this.live[slot] = undefined;
    if (!this.everReady) {
      log('error', `the app failed to start: ${worker.describeExit(exit)}`);
      logTail('worker', worker.failed?.stderrTail ?? '');
      this.stop(1);
    } else if (this.probation?.generation === worker.generation) {
      this.probation.crashed({ worker, slot, exit });
    } else {
      this.respawnLater(worker, slot, exit);
    }
  }

  private respawnLater(worker: Worker, slot: number, exit: Exit): void {
    const replacement = this.replacing.get(worker);
    if (replacement) {
      // A silent worker that died while its replacement was starting: the replacement takes its slot.
      this.replacing.delete(worker);
      this.live[slot] = replacement;
      return;
    }
    const backoff = (this.backoff[slot] ??= new Backoff());
    const { delayMs, crashes } = backoff.next(Date.now() - worker.startedAt);
    log(crashes > 1 ? 'error' : 'warn', `${worker.describeExit(exit)}; restarting it in ${delayMs} ms`, {
      worker: worker.pid, crashesInARow: crashes,
    });
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (this.stopSignal.signal.aborted || this.live[slot] !== undefined) return;
      this.live[slot] = this.spawn(this.launch, slot);
      this.o.events?.respawned();
    }, delayMs);
    this.respawns.add(timer);
  }

  /**
   * One reload at a time, until its generation is in service (ready, and
   * through its crash window); the old generation's drain goes on behind it,
   * so a hotfix never waits for a slow drain. A request while one runs, or
   * less than MIN_RELOAD_INTERVAL_MS after one started, joins the next
   * reload: a request is never lost, and never doubled.
   */
  reload(onPhase: PhaseListener = () => {}, release?: string): Promise<ReloadResult> {
    if (release !== undefined) this.checkRelease(release);
    if (this.isStopping()) return Promise.resolve(this.stopping());
    const { result, queued } = this.reloads.request({ onPhase, release });
    if (queued) onPhase({ phase: 'queued', reason: 'a reload is running or has just run; this one follows it' });
    return result.then((r) => r.result);
  }

  /** Throws ReloadRefused unless `release` can be started now: it names a release, and no other one is queued. */
  private checkRelease(release: string): void {
    if (this.o.releases === undefined) throw new ReloadRefused(NO_RELEASES);
    releasePath(this.o.releases, release);
    const other = this.reloads.waiting().find((r) => r.release !== undefined && r.release !== release);
    if (other) throw new ReloadRefused(`a reload of release ${other.release} is queued; ask for ${release} once it has run`, true);
  }

  private stopping(): ReloadResult {
    return { ok: false, generation: this.generation, ms: 0, reason: 'the master is stopping' };
  }

  private async runReload(requests: ReloadRequest[]): Promise<InService> {
    const started = Date.now();
    const emit = (phase: Phase): void => requests.forEach((r) => r.onPhase(phase));
    if (this.isStopping()) return { result: Promise.resolve(this.stopping()) };
    const generation = this.nextGeneration++;
    let code: Code;
    try {
      code = this.codeOf(generation, requests.find((r) => r.release !== undefined)?.release);
    } catch (err) {
      return { result: Promise.resolve(this.refused(generation, (err as Error).message, started, emit)) };
    }
    const { release, launch } = code;
    this.notify.reloading(generation, this.generation);
    const next = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(launch, slot));
    this.starting = next;
    log('info', 'reload: spawned', { next: generation, pids: next.map((w) => w.pid).join(','), release });
    emit({ phase: 'spawned', generation, pids: next.map((w) => w.pid), ...(release === undefined ? {} : { release }) });

    const failure = await awaitReady(next, this.o.readyTimeoutMs, this.stopSignal.signal);
    if (failure) return { result: Promise.resolve(await this.rollBack(next, failure, started, emit)) };
    const readyMs = Date.now() - started;
    log('info', 'reload: new generation ready', { next: generation, ms: readyMs });
    emit({ phase: 'ready', generation, ms: readyMs });

    const previous: Code = { generation: this.generation, release: this.release, launch: this.launch };
    const retired = this.retire(this.promote(code, next), emit).then(({ cut, drainedAt }) => ({ cut, ms: Date.now() - started, drainedMs: drainedAt - started }));
    const crash = await this.watch(generation);
    if (crash) return { result: Promise.resolve(await this.revert(previous, crash, started, emit)) };
    if (release !== undefined) this.pointCurrent(release);
    this.announceServing();
    return { result: retired.then(({ cut, ms, drainedMs }) => this.done(generation, { ms, drainedMs, cut }, emit)) };
  }

  /** The code `generation` runs: `named`, or what `current` points to now (with --releases), else the command line's. */
  private codeOf(generation: number, named: string | undefined): Code {
    const release = this.o.releases === undefined ? undefined : named ?? currentRelease(this.o.releases);
    return { generation, release, launch: this.launcher(generation, release) };
  }

  /** The release could not be found as the reload began (`current` dangling, or the one named gone since): nothing was started. */
  private refused(generation: number, reason: string, started: number, emit: PhaseListener): ReloadResult {
    log('error', `reload refused, generation ${this.generation} still serving: ${reason}`, { failed: generation });
    emit({ phase: 'rollback', generation, reason, stderrTail: '' });
    return this.record({ ok: false, generation, ms: Date.now() - started, reason });
  }

  /** `current` follows the release in service; failing that, it is said, and the next start would run the old one. */
  private pointCurrent(release: string): void {
    try {
      pointCurrent(this.o.releases!, release);
    } catch (err) {
      log('error', `release ${release} serves, but ${path.join(this.o.releases!, CURRENT)} could not be pointed at it (${(err as NodeJS.ErrnoException).code}): the next start would run the release it names`);
    }
  }

  /** `ms`: from the command to the old generation gone, which the crash window may outlast. */
  private done(generation: number, { ms, drainedMs, cut }: { ms: number; drainedMs: number; cut: number }, emit: PhaseListener): ReloadResult {
    // A later reload may already serve: it closes what its own generation leaves unused.
    if (generation === this.generation) {
      const closed = this.sockets.closeUnused(new Set(this.live.flatMap((w) => w?.listening ?? [])));
      if (closed.length) log('info', 'closed sockets the new generation does not listen on', { sockets: closed.join(',') });
    }
    log('info', 'reload: done', { next: generation, ms, drainedMs, cut });
    emit({ phase: 'done', generation, ms, drainedMs });
    return this.record({ ok: true, generation, ms, drainedMs, cut });
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
    this.announceServing({ generation, reason: failure.reason });
    return this.record({ ok: false, generation, ms: Date.now() - started, reason: failure.reason, stderrTail });
  }

  /**
   * Resolves with the first worker of `generation` to exit within the crash
   * window, or undefined once the window has passed (or the master stops).
   */
  private watch(generation: number): Promise<Crash | undefined> {
    if (this.o.crashWindowMs === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const end = (crash: Crash | undefined): void => {
        clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', onStop);
        this.probation = undefined;
        resolve(crash);
      };
      const onStop = (): void => end(undefined);
      const timer = setTimeout(onStop, this.o.crashWindowMs);
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      this.probation = { generation, crashed: end };
    });
  }

  /**
   * A crash in the crash window: the previous generation's code serves again,
   * in new workers (its old ones may have run their shutdown hooks, and
   * finish their drain), and then the failed generation drains.
   */
  private async revert(previous: Code, crash: Crash, started: number, emit: PhaseListener): Promise<ReloadResult> {
    const failed = this.generation;
    const after = Date.now() - (crash.worker.readyAt ?? crash.worker.startedAt);
    const crashed = `${crash.worker.describeExit(crash.exit)} ${after} ms after it was ready (crash window ${this.o.crashWindowMs} ms)`;
    log('error', `generation ${failed} failed: ${crashed}; starting generation ${previous.generation} again`);
    const revived = Array.from({ length: this.o.workers }, (_, slot) => this.spawn(previous.launch, slot));
    this.starting = revived;
    const failure = await awaitReady(revived, this.o.readyTimeoutMs, this.stopSignal.signal);
    let reason = crashed;
    if (failure) {
      for (const w of revived) w.drain('stop', Date.now() + this.o.drainTimeoutMs);
      this.starting = [];
      reason = `${crashed}; generation ${previous.generation} could not start again (${failure.reason}), so ${failed} serves on`;
      if (!this.stopSignal.signal.aborted) this.respawnLater(crash.worker, crash.slot, crash.exit);
    } else {
      // Drains behind the next reload, as any old generation does.
      void this.retire(this.promote(previous, revived), () => {});
    }
    log('error', `reload rolled back: ${reason}`, { failed, serving: this.generation });
    emit({ phase: 'rollback', generation: failed, reason, stderrTail: '' });
    this.announceServing({ generation: failed, reason });
    return this.record({ ok: false, generation: failed, ms: Date.now() - started, reason });
  }

  /** READY=1 for the generation serving now: the first one ready, or a reload over, whichever way it went. */
  private announceServing(failed?: Serving['failed']): void {
    this.announced = true;
    this.notify.serving(this.generation, { failed });
  }

  /** `code`'s generation serves from now on, in `workers`; returns the workers it replaces, to be retired. */
  private promote(code: Code, workers: Worker[]): { workers: Worker[]; generation: number } {
    const old = { workers: this.live.filter((w): w is Worker => w !== undefined && w.state !== 'exited'), generation: this.generation };
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    this.live = workers;
    this.launch = code.launch;
    this.release = code.release;
    this.starting = [];
    this.generation = code.generation;
    this.backoff.forEach((b) => b.reset());
    configureLog({ generation: this.generation });
    return old;
  }

  /**
   * Drains the old generation's workers; resolves, once they are gone, with
   * the connections they cut at the deadline and when the last of them had
   * closed its last connection (a process's exit, the kernel reclaiming its
   * memory, comes after that and takes tens of ms for a large app). Past the
   * cap on draining generations, the oldest is ended now.
   */
  private async retire(old: { workers: Worker[]; generation: number }, emit: PhaseListener): Promise<{ cut: number; drainedAt: number }> {
    const deadline = Date.now() + this.o.drainTimeoutMs;
    for (const w of old.workers) w.drain('upgrade', deadline);
    this.retiring.push(old);
    this.endOldest();
    const drainedAt = Promise.all(old.workers.map((w) => w.cut)).then(() => Date.now());
    const reported = Promise.all(old.workers.map((w) => w.draining));
    const counts = await Promise.race([reported, sleep(DRAINING_REPORT_MS).then(() => undefined)]);
    // Workers that do not say (stopped, or blocked) are counted by their last heartbeats.
    const connections = (counts ?? old.workers.map((w) => w.heartbeat?.connections ?? 0)).reduce((n, c) => n + c, 0);
    log('info', 'reload: draining the old generation', { old: old.generation, connections });
    emit({ phase: 'draining', generation: old.generation, connections });
    await Promise.all(old.workers.map((w) => w.exited));
    this.retiring.splice(this.retiring.indexOf(old), 1);
    return { cut: await cutBy(old.workers), drainedAt: await drainedAt };
  }

  private endOldest(): void {
    const over = this.retiring.length - this.o.maxDraining;
    for (const oldest of this.retiring.slice(0, Math.max(0, over))) {
      const connections = oldest.workers.reduce((n, w) => n + (w.heartbeat?.connections ?? 0), 0);
      log('warn', `more than ${this.o.maxDraining} generations draining: ending generation ${oldest.generation}'s drain now`, {
        old: oldest.generation, connections,
      });
      for (const w of oldest.workers) w.drain('upgrade', Date.now());
    }
  }

  /** Reports workers whose heartbeat fell silent (and those that answer again); replaces them if told to. */
  private checkHeartbeats(): void {
    const now = Date.now();
    const { silent, answering, lateMs } = this.watchdog.check(this.live.filter((w): w is Worker => w !== undefined), now);
    if (lateMs !== undefined) log('info', `the master's own timers ran ${lateMs} ms late (it was paused): looking at the workers' heartbeats again in ${HEARTBEAT_MS} ms`);
    for (const w of answering) log('info', `${w.name} answers again`, { worker: w.pid });
    for (const w of silent) {
      const what = this.o.replaceUnresponsive ? 'replacing it' : 'not replacing it (--replace-unresponsive would)';
      log('warn', `${w.name} has sent no heartbeat for ${Watchdog.silentFor(w, now)} ms: its event loop is blocked, or it is stopped; ${what}`, {
        worker: w.pid,
      });
      if (this.o.replaceUnresponsive) this.replace(w);
    }
  }

  /** A new worker first; once it is ready, the silent one is killed (or drained, if it has answered meanwhile). */
  private replace(silent: Worker): void {
    const slot = this.live.indexOf(silent);
    if (slot < 0) return;
    const fresh = this.spawn(this.launch, slot);
    this.replacing.set(silent, fresh);
    fresh.ready.then(() => {
      if (!this.replacing.delete(silent)) return; // it took the slot of the silent one, which died meanwhile
      if (this.live[slot] !== silent || this.stopSignal.signal.aborted) {
        fresh.drain('stop', Date.now() + this.o.drainTimeoutMs);
        return;
      }
      this.live[slot] = fresh;
      this.replaced.add(silent);
      if (this.watchdog.isSilent(silent)) {
        log('warn', `killing ${silent.name}: ${fresh.name} has replaced it`, { worker: silent.pid });
        silent.kill();
      } else {
        silent.drain('stop', Date.now() + this.o.drainTimeoutMs);
      }
    }, (err: Error) => {
      this.replacing.delete(silent);
      log('error', `could not replace ${silent.name}: ${err.message}`);
    });
  }

  private record(result: ReloadResult): ReloadResult {
    remember(this.history, result);
    this.o.events?.reloaded(result);
    return result;
  }

  /** stop() has been called: the master waits out its shutdown delay, or drains, and exits. */
  isStopping(): boolean {
    return this.stopState !== undefined;
  }

  /** A worker of the serving generation is ready. */
  isServing(): boolean {
    return this.live.some((w) => w?.state === 'ready');
  }

  /**
   * Drains every worker, then closes the sockets and exits with `code`. With
   * a shutdown delay, a stop first only reports not ready and serves on for
   * the delay; a second stop meanwhile drains at once. A master whose app
   * could not start (code 1) has nothing to serve on: it drains at once.
   */
  stop(code = 0): void {
    if (this.stopState?.phase === 'draining') return;
    if (this.stopState?.phase === 'delay') {
      log('info', 'stop requested again: ending the shutdown delay, draining now');
      return this.drainAll(code);
    }
    this.notify.stopping();
    const delayMs = this.o.shutdownDelayMs;
    if (code !== 0 || delayMs === 0) return this.drainAll(code);
    log('info', `stopping: reporting not ready, serving on for the shutdown delay (${delayMs} ms), then draining`);
    this.stopState = { phase: 'delay', until: Date.now() + delayMs, timer: setTimeout(() => this.drainAll(code), delayMs) };
  }

  private drainAll(code: number): void {
    this.endDelay();
    this.stopSignal.abort();
    for (const t of this.respawns) clearTimeout(t);
    clearInterval(this.heartbeatCheck);
    const all = this.workers();
    log('info', 'stopping: draining all workers', { workers: all.length });
    const deadline = Date.now() + this.o.drainTimeoutMs;
    this.stopState = { phase: 'draining', deadline };
    for (const w of all) w.drain('stop', deadline);
    // The master's copies go now, so that once the workers have stopped accepting, the listening sockets are
    // closed: a client is refused (and a load balancer tries another node) instead of queued where no process
    // will accept, to be reset at the master's exit. A socket systemd passed stays open in systemd.
    this.sockets.closeAll();
    void Promise.all(all.map((w) => w.exited)).then(async () => {
      log('info', 'stopped', { cut: await cutBy(all) });
      this.exit(code);
    });
  }

  private endDelay(): void {
    if (this.stopState?.phase === 'delay') clearTimeout(this.stopState.timer);
  }

  /** The second SIGINT: no drain. */
  kill(): void {
    this.endDelay();
    for (const w of this.workers()) w.kill();
    this.sockets.closeAll();
    this.exit(130);
  }

  private workers(): Worker[] {
    const all = [...this.live, ...this.starting, ...this.replacing.values(), ...this.replaced, ...this.retiring.flatMap((r) => r.workers)];
    return [...new Set(all)].filter((w): w is Worker => w !== undefined && w.state !== 'exited');
  }

  private listenerNames(): string[] {
    return this.sockets.all().map((h) => h.name);
  }

  status(): Status {
    const now = Date.now();
    const workers: WorkerStatus[] = this.workers().map((w) => ({
      pid: w.pid,
      generation: w.generation,
      state: w.state === 'exited' ? 'draining' : w.state,
      uptimeMs: now - w.startedAt,
      rssBytes: w.rssBytes(),
      connections: w.heartbeat?.connections ?? null,
      heartbeatAgeMs: w.heartbeat ? now - w.heartbeat.at : null,
      delayMs: w.heartbeat?.delayMs ?? null,
      unresponsive: this.watchdog.isSilent(w),
    }));
    return {
      name: this.o.name,
      masterPid: process.pid,
      uptimeMs: now - this.startedAt,
      master: ownMemory(),
      generation: this.generation,
      ...(this.release === undefined ? {} : { release: this.release }),
      workers,
      listeners: this.listenerNames(),
      reloads: [...this.history],
      ...(this.stopState ? { stopping: stoppingAt(this.stopState, now) } : {}),
    };
  }

  releases(): ReleaseList | undefined {
    return this.o.releases === undefined ? undefined : listReleases(this.o.releases, this.release ?? null);
  }
}

function stoppingAt(state: { phase: 'delay'; until: number } | { phase: 'draining'; deadline: number }, now: number): Stopping {
  return { phase: state.phase, msLeft: Math.max(0, (state.phase === 'delay' ? state.until : state.deadline) - now) };
}

/** The connections `workers`, all exited, cut at their drain deadline. */
async function cutBy(workers: readonly Worker[]): Promise<number> {
  return (await Promise.all(workers.map((w) => w.cut))).reduce((n, c) => n + c, 0);
}

/**
 * Heap used counts garbage until the next full collection, which V8 runs when
 * it likes: two readings minutes apart can differ by megabytes with nothing
 * retained. A master run with `node --expose-gc` (the bench's soak) collects
 * first, on a status request only, so that the figure is what is live.
 */
function ownMemory(): MasterMemory {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external, afterGc: gc !== undefined };
}

function describe(a: Address): string {
  return a.kind === 'unix' ? a.path : `${a.host ?? '*'}:${a.port}`;
}
