/**
 * The master: owns the listening sockets and N worker slots of the serving
 * generation; restarts crashed workers with back-off, replaces silent ones,
 * and stops. Reloads (supervisor/reload.ts) borrow its slots through a Fleet.
 * It never touches request traffic. Workers come from an injected spawner, so
 * the rules here are tested without processes.
 */
import path from 'node:path';
import type {
  LastExit,
  MasterMemory,
  ReleaseList,
  ReloadAsk,
  ReloadResult,
  ReplaceReason,
  Source,
  Status,
  Stopping,
  WorkerStatus,
} from '../protocol/control.js';
import type { Address } from '../listeners/address.js';
import type { Settings, SupervisorSettings } from '../protocol/settings.js';
import type { Inherited } from '../listeners/inherit.js';
import type { Exit } from '../generation/parent.js';
import { configureLog, log, logTail } from '../log.js';
import type { Notifier, Serving } from '../systemd/notify.js';
import { deadlineIn } from '../time.js';
import { Backoff } from './backoff.js';
import { currentRelease, listReleases, releasePath } from './releases.js';
import { identify } from './release-identity.js';
import { comparison, judge } from './health.js';
import {
  type Code,
  type Fleet,
  type PhaseListener,
  type ReloadOptions,
  Reloads,
  type Retiring,
  cutBy,
} from './reload.js';
import type { SocketTable } from './sockets.js';
import { Limits, defaultMaxMemory } from '../generation/limits.js';
import { versionOf } from '../generation/node-binary.js';
import { type ReplaceSlots, Replacer } from './replace.js';
import type { BeatHistory } from './beats.js';
import type { RequestHistory } from './requests.js';
import { HeartbeatWatch } from './watchdog.js';
import type { Spawner, Worker } from './worker.js';

export interface MasterOptions
  extends SupervisorSettings,
    Pick<Settings, 'readyTimeoutMs' | 'drainTimeoutMs' | 'crashWindowMs'> {
  name: string;
  workers: number;
  /** Pre-bound with --listen. */
  listen: { label?: string; address: Address }[];
  /** From systemd socket activation. */
  inherited: readonly Inherited[];
  /** --releases: the directory of releases; each generation runs one, and `current` follows the one in service. */
  releases?: string;
  /** --node: the node binary the workers run on (absolute; checked); absent, the master's own. */
  node?: string;
  /** baton's own version, for status. */
  version?: string;
  /** --node-allow: the node binaries the admin API may name in a reload. */
  nodeAllow?: readonly string[];
  /** Told of what the master does, for counting (the admin listener's metrics). */
  events?: MasterEvents;
  /** The options not at their default, and where each came from, for status. */
  sources?: readonly Source[];
  /** The workers' requests, as their heartbeats add them up (absent in unit tests). */
  requests?: RequestHistory;
  /** The workers' last heartbeats, for the admin page's sparklines (absent in unit tests). */
  beats?: BeatHistory;
}

export interface MasterEvents {
  /** A reload ended, in service or rolled back (once per reload, however many requests joined it). */
  reloaded(result: ReloadResult): void;
  /** A crashed worker was started again. */
  respawned(): void;
  /** A serving worker was replaced by a new one (--max-memory, --max-age, --replace-unresponsive). */
  replaced(reason: ReplaceReason): void;
  /** A worker cut this many connections at its drain deadline. */
  cut(connections: number): void;
}

/**
 * The first generation's workers are spawned this many at a time, the event
 * loop turning between: each spawn is a fork and exec that blocks it, and
 * under `-w 64` status requests and signals must still be answered.
 */
const SPAWN_BATCH = 4;

/** Once stopped: waiting out --shutdown-delay (until when, the timer that ends it), then draining by a deadline. */
type StopState = { phase: 'delay'; until: number; timer: NodeJS.Timeout } | { phase: 'draining'; deadline: number };

export class Master {
  private readonly startedAt = Date.now();
  private generation = 0;
  private nextGeneration = 1;
  private live: (Worker | undefined)[] = [];
  private starting: Worker[] = [];
  private readonly backoff: Backoff[] = [];
  /** Per slot, in the serving generation: crashed workers started again, and how the last one ended. */
  private crashes: { restarts: number; lastExit?: LastExit }[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly reloads: Reloads;
  private readonly stopSignal = new AbortController();
  private stopState: StopState | undefined;
  private readonly watch: HeartbeatWatch;
  private readonly replacer: Replacer;
  /** Until some worker has been ready, a crash has no good generation to fall back on. */
  private everReady = false;
  /** Whether systemd has been told that a generation serves (READY=1). */
  private announced = false;
  /** While the first generation's workers are being spawned: a reload waits for it. */
  private spawning: Promise<void> | undefined;
  /** The serving generation's code: its release (with --releases), node, and what spawns its workers. */
  private code: Code | undefined;

  constructor(
    private readonly o: MasterOptions,
    private readonly sockets: SocketTable,
    private readonly spawnWorker: Spawner,
    private readonly exit: (code: number) => void,
    private readonly notify: Notifier,
  ) {
    this.replacer = new Replacer(this.slots(), (reason) => o.events?.replaced(reason));
    this.watch = new HeartbeatWatch(o, () => this.live, limitsOf(o), this.replacer);
    this.reloads = new Reloads(this.fleet(), {
      ...o,
      reloaded: (result) => o.events?.reloaded(result),
      ...gateOf(o),
    });
  }

  /** What replacing a worker may do with the workers' slots. */
  private slots(): ReplaceSlots {
    const master = this;
    return {
      get live() {
        return master.live;
      },
      spawn: (slot) => this.spawn(this.code!.launch, slot),
      swap: (slot, old, fresh) => {
        if (this.live[slot] !== old || this.stopSignal.signal.aborted) return false;
        this.live[slot] = fresh;
        return true;
      },
      deadline: () => deadlineIn(this.o.drainTimeoutMs),
      reloading: () => this.reloads.running,
      isSilent: (w) => this.watch.isSilent(w),
    };
  }

  /** What a reload may do with the workers' slots, and with what systemd is told. */
  private fleet(): Fleet {
    const master = this;
    return {
      get generation() {
        return master.generation;
      },
      workers: this.o.workers,
      slots: this.slots(),
      get spawning() {
        return master.spawning;
      },
      stopped: this.stopSignal.signal,
      isStopping: () => this.isStopping(),
      takeGeneration: () => this.nextGeneration++,
      launcher: (generation, release, node) => launcher(this.spawnWorker, this.o, { generation, release, node }),
      get node() {
        return master.code!.node;
      },
      spawnStarting: (launch, count) => {
        const more = Array.from({ length: count }, (_, i) => this.spawn(launch, this.starting.length + i));
        this.starting.push(...more);
        return more;
      },
      startingGone: () => this.starting.splice(0),
      promote: (code, workers) => this.promote(code, workers),
      closeUnused: (why) => this.closeUnused(why),
      reloading: (next) => this.notify.reloading(next, this.generation),
      announceServing: (failed) => this.announceServing(failed),
    };
  }

  /**
   * Binds the pre-declared sockets and starts the first generation. Rejects with a one-line error if a --listen address
   * cannot be bound.
   */
  async start(): Promise<void> {
    const unusable = this.sockets.adopt(this.o.inherited);
    if (unusable.length)
      log('warn', 'closed inherited sockets whose address cannot be told', { sockets: unusable.join(',') });
    for (const { label, address } of this.o.listen) {
      const held = await this.sockets.acquire(address, label);
      if (held instanceof Error)
        throw new Error(`--listen ${label ? `${label}=` : ''}${describe(address)}: ${held.code ?? held.message}`);
    }
    this.generation = this.nextGeneration++;
    configureLog({ generation: this.generation });
    const release = this.o.releases === undefined ? undefined : currentRelease(this.o.releases);
    const node = this.o.node ?? process.execPath;
    const code = { generation: this.generation, release, node };
    this.code = { ...code, launch: launcher(this.spawnWorker, this.o, code) };
    this.watch.start();
    this.spawning = this.spawnFirst().finally(() => (this.spawning = undefined));
    await this.spawning;
    if (this.stopSignal.signal.aborted) return;
    log('info', 'started', {
      workers: this.o.workers,
      pids: this.live.map((w) => w!.pid).join(','),
      sockets: this.listenerNames().join(','),
      release,
    });
  }

  /** The first generation, SPAWN_BATCH at a time; none more once stopping. */
  private async spawnFirst(): Promise<void> {
    for (let slot = 0; slot < this.o.workers; slot++) {
      if (slot > 0 && slot % SPAWN_BATCH === 0) await new Promise(setImmediate);
      if (this.stopSignal.signal.aborted) return;
      this.live[slot] = this.spawn(this.code!.launch, slot);
    }
  }

  /** A worker's exit counts as a crash only once its generation is live; before that it is the reload's business. */
  private spawn(launch: () => Worker, slot: number): Worker {
    const worker = launch();
    void worker.exited.then((exit) => this.onExit(worker, slot, exit));
    void worker.cut.then((n) => this.o.events?.cut(n));
    void worker.settled.then(() => this.closeUnused('closed sockets the serving generation does not listen on'));
    void worker.ready.then(
      () => {
        this.everReady = true;
        log('info', 'worker ready', { worker: worker.pid, ms: Date.now() - worker.startedAt });
        // The first generation serves once every slot has a ready worker (one may have been respawned meanwhile).
        if (!this.announced && this.live.length === this.o.workers && this.live.every((w) => w?.state === 'ready'))
          this.announceServing();
      },
      () => {},
    );
    return worker;
  }

  private onExit(worker: Worker, slot: number, exit: Exit): void {
    // A new generation's exits before it is in service are its reload's to judge.
    if (this.stopSignal.signal.aborted || this.live[slot] !== worker) return;
    this.live[slot] = undefined;
    if (!this.everReady) {
      log('error', `the app failed to start: ${worker.describeExit(exit)}`);
      logTail('worker', worker.failed?.stderrTail ?? '');
      this.stop(1);
    } else {
      this.respawnLater(worker, slot, exit);
    }
  }

  private respawnLater(worker: Worker, slot: number, exit: Exit): void {
    const replacement = this.replacer.takeReplacement(worker);
    if (replacement) {
      this.live[slot] = replacement;
      return;
    }
    (this.crashes[slot] ??= { restarts: 0 }).lastExit = { pid: worker.pid, ...exit, at: new Date().toISOString() };
    const backoff = (this.backoff[slot] ??= new Backoff());
    const { delayMs, crashes } = backoff.next(Date.now() - worker.startedAt);
    log(crashes > 1 ? 'error' : 'warn', `${worker.describeExit(exit)}; restarting it in ${delayMs} ms`, {
      worker: worker.pid,
      crashesInARow: crashes,
    });
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (this.stopSignal.signal.aborted || this.live[slot] !== undefined) return;
      this.live[slot] = this.spawn(this.code!.launch, slot);
      this.crashes[slot]!.restarts += 1;
      this.o.events?.respawned();
    }, delayMs);
    this.respawns.add(timer);
  }

  /** See Reloads.request: one at a time, each until its generation is in service. */
  reload(onPhase: PhaseListener = () => {}, ask?: ReloadAsk): Promise<ReloadResult> {
    return this.reloads.request(onPhase, ask);
  }

  /**
   * Closes the sockets no worker of the serving generation listens on: only
   * once each has settled where it listens (an app may listen late), and
   * with no other generation starting, which may listen where they do not.
   */
  private closeUnused(why: string): void {
    if (this.starting.length > 0 || !this.live.every((w) => w?.state === 'ready' && w.isSettled)) return;
    const closed = this.sockets.closeUnused(new Set(this.live.flatMap((w) => w?.listening ?? [])));
    if (closed.length) log('info', why, { sockets: closed.join(',') });
  }

  /** READY=1 for the generation serving now: the first one ready, or a reload over, whichever way it went. */
  private announceServing(failed?: Serving['failed']): void {
    this.announced = true;
    this.notify.serving(this.generation, { failed });
  }

  /** `code`'s generation serves from now on, in `workers`; returns the workers it replaces, to be retired. */
  private promote(code: Code, workers: Worker[]): Retiring {
    const old = {
      workers: this.live.filter((w): w is Worker => w !== undefined && w.state !== 'exited'),
      generation: this.generation,
    };
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    this.live = workers;
    this.code = code;
    this.starting = [];
    this.generation = code.generation;
    this.backoff.forEach((b) => b.reset());
    this.crashes = [];
    configureLog({ generation: this.generation });
    return old;
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
      this.drainAll(code);
      return;
    }
    this.notify.stopping();
    const delayMs = this.o.shutdownDelayMs;
    if (code !== 0 || delayMs === 0) {
      this.drainAll(code);
      return;
    }
    log('info', `stopping: reporting not ready, serving on for the shutdown delay (${delayMs} ms), then draining`);
    this.stopState = {
      phase: 'delay',
      until: Date.now() + delayMs,
      timer: setTimeout(() => this.drainAll(code), delayMs),
    };
  }

  /** `baton upgrade`: a new master serves on the sockets. Drains, exits 0; no STOPPING=1; unix paths left to it. */
  retire(): void {
    if (this.stopState?.phase !== 'draining') this.drainAll(0, { keepPaths: true });
  }

  private drainAll(code: number, { keepPaths = false } = {}): void {
    this.endDelay();
    this.stopSignal.abort();
    for (const t of this.respawns) clearTimeout(t);
    this.watch.stop();
    this.replacer.stop();
    const all = this.workers();
    log('info', 'stopping: draining all workers', { workers: all.length });
    const deadline = deadlineIn(this.o.drainTimeoutMs);
    this.stopState = { phase: 'draining', deadline };
    for (const w of all) w.drain('stop', deadline);
    // The master's copies go now, so that once the workers have stopped accepting, the listening sockets are
    // closed: a client is refused (and a load balancer tries another node) instead of queued where no process
    // will accept, to be reset at the master's exit. A socket systemd passed stays open in systemd.
    this.sockets.closeAll({ keepPaths });
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
    this.stopSignal.abort();
    for (const w of this.workers()) w.kill();
    this.sockets.closeAll();
    this.exit(130);
  }

  private workers(): Worker[] {
    const all = [
      ...this.live,
      ...this.starting,
      ...this.replacer.workers(),
      ...this.reloads.retiring.flatMap((r) => r.workers),
    ];
    return [...new Set(all)].filter((w): w is Worker => w !== undefined && w.state !== 'exited');
  }

  private listenerNames(): string[] {
    return this.sockets.all().map((h) => h.name);
  }

  status(): Status {
    const now = Date.now();
    const requests = this.o.requests;
    const all = this.workers();
    requests?.keepWorkers(all.map((w) => w.pid));
    const workers = all.map((w) =>
      workerStatus(w, now, this.o, {
        unresponsive: this.watch.isSilent(w),
        ...(this.live.includes(w) ? (this.crashes[this.live.indexOf(w)] ?? { restarts: 0 }) : {}),
      }),
    );
    return {
      name: this.o.name,
      masterPid: process.pid,
      ...(this.o.version === undefined ? {} : { version: this.o.version }),
      uptimeMs: now - this.startedAt,
      master: ownMemory(),
      generation: this.generation,
      ...releaseOf(this.o.releases, this.code?.release),
      workers,
      listeners: this.listenerNames(),
      reloads: [...this.reloads.history],
      ...(this.replacer.history.length ? { replacements: [...this.replacer.history] } : {}),
      ...(this.stopState ? { stopping: stoppingAt(this.stopState, now) } : {}),
      ...(this.o.sources?.length ? { settings: [...this.o.sources] } : {}),
      ...(requests ? { requests: requests.status(now) } : {}),
    };
  }

  releases(): ReleaseList | undefined {
    return this.o.releases === undefined ? undefined : listReleases(this.o.releases, this.code?.release ?? null);
  }
}

/** The serving generation's release (with --releases), and which code it is. */
function releaseOf(dir: string | undefined, release: string | undefined): Pick<Status, 'release' | 'releaseIdentity'> {
  if (dir === undefined || release === undefined) return {};
  return { release, releaseIdentity: identify(path.join(dir, release)) };
}

/** When a serving worker is due for replacement: --max-memory (or the container's share), --max-requests, --max-age. */
function limitsOf(o: MasterOptions): Limits {
  return new Limits({
    ...o,
    maxMemoryBytes: o.maxMemoryBytes ?? defaultMaxMemory(o.workers),
    fromContainer: o.maxMemoryBytes === undefined,
    requestsOf: (pid) => sum(o.requests?.worker(pid)),
  });
}

/**
 * The health gate of reloads, where the workers' requests are counted: a crash window is judged unless
 * --max-error-increase 0, a canary always.
 */
function gateOf(o: MasterOptions): Pick<ReloadOptions, 'judge' | 'compare'> {
  const history = o.requests;
  if (!history) return {};
  return {
    judge: (window) => (window.canary || o.maxErrorIncrease > 0 ? judge(history, window, o) : undefined),
    compare: (window) => comparison(history, window),
  };
}

/** What spawns `generation`'s workers: from `release`'s directory with --releases, else as the command line said. */
function launcher(spawn: Spawner, o: MasterOptions, { generation, release, node }: Omit<Code, 'launch'>): () => Worker {
  return spawn(generation, release === undefined ? undefined : releasePath(o.releases!, release), node);
}

/** A worker's requests, whatever they came to. */
function sum(codes: Record<string, number> | undefined): number | undefined {
  return codes && Object.values(codes).reduce((a, b) => a + b, 0);
}

/**
 * A worker as status shows it: with what `kept` holds of its heartbeats, and `also`, what the master knows of it
 * besides the worker itself.
 */
function workerStatus(
  w: Worker,
  now: number,
  kept: Pick<MasterOptions, 'requests' | 'beats'>,
  also: Pick<WorkerStatus, 'unresponsive' | 'restarts' | 'lastExit'>,
): WorkerStatus {
  const node = versionOf(w.execPath);
  const history = kept.beats?.of(w.pid);
  return {
    pid: w.pid,
    generation: w.generation,
    state: w.state === 'exited' ? 'draining' : w.state,
    uptimeMs: now - w.startedAt,
    rssBytes: w.rssBytes(),
    connections: w.heartbeat?.connections ?? null,
    heartbeatAgeMs: w.heartbeat ? now - w.heartbeat.at : null,
    delayMs: w.heartbeat?.delayMs ?? null,
    unresponsive: also.unresponsive,
    ...(node === undefined ? {} : { node }),
    ...(w.heartbeat?.cpuMs === undefined ? {} : { cpuMs: w.heartbeat.cpuMs }),
    ...withRequests(kept.requests?.worker(w.pid)),
    ...(also.restarts === undefined ? {} : { restarts: also.restarts }),
    ...(also.lastExit === undefined ? {} : { lastExit: also.lastExit }),
    ...(history === undefined ? {} : { history }),
  };
}

function withRequests(requests: WorkerStatus['requests']): Pick<WorkerStatus, 'requests'> {
  return requests === undefined ? {} : { requests };
}

function stoppingAt(
  state: { phase: 'delay'; until: number } | { phase: 'draining'; deadline: number },
  now: number,
): Stopping {
  return { phase: state.phase, msLeft: Math.max(0, (state.phase === 'delay' ? state.until : state.deadline) - now) };
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
  return {
    rssBytes: m.rss,
    heapTotalBytes: m.heapTotal,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    afterGc: gc !== undefined,
  };
}

function describe(a: Address): string {
  return a.kind === 'unix' ? a.path : `${a.host ?? '*'}:${a.port}`;
}
