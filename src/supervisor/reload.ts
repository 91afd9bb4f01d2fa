/**
 * A master's reloads, one at a time: spawn the next generation, wait until it
 * is ready and through its crash window while the serving one still accepts,
 * then put it in service and drain the old one behind it; or stop it and
 * leave the serving generation as it was. With a canary, a first step of a
 * few workers serves beside the whole old generation for its time and is
 * judged before the rest start; with --batch, the rest come a batch at a
 * time, each taking old workers' slots (rollout.ts). Requests while one runs
 * join the next (generation/coalesce.ts). The master lends its workers' slots through
 * a Fleet, so this file holds the steps of a reload and nothing else.
 */
import path from 'node:path';
import {
  type Canary,
  NO_RELEASES,
  type Phase,
  type Begun,
  type ReloadAsk,
  ReloadRefused,
  type ReloadRecord,
  type ReloadResult,
  remember,
} from '../protocol/control.js';
import type { Settings } from '../protocol/settings.js';
import { awaitReady, crashReason, firstExit, rolledBack, stopNew } from '../generation/parent.js';
import { Coalescer } from '../generation/coalesce.js';
import { nodeVersion, versionOf } from '../generation/node-binary.js';
import { log } from '../log.js';
import type { Serving } from '../systemd/notify.js';
import { deadlineIn, sleep } from '../time.js';
import { type Step, giveBack, rolloutOf, stepsOf, watchCanary } from './rollout.js';
import type { Verdict, Window } from './health.js';
import { CURRENT, currentRelease, pointCurrent, releasePath } from './releases.js';
import type { ReplaceSlots } from './replace.js';
import type { Worker } from './worker.js';

export type PhaseListener = (phase: Phase) => void;

/** A generation's number, its release (with --releases), and what spawns its workers (on the code it started with). */
export interface Code {
  generation: number;
  release?: string;
  /** The node binary it runs on, an absolute path. */
  node: string;
  launch: () => Worker;
}

/** A generation told to drain. */
export interface Retiring {
  generation: number;
  workers: Worker[];
}

export interface ReloadOptions extends Pick<Settings, 'readyTimeoutMs' | 'drainTimeoutMs' | 'crashWindowMs'> {
  maxDraining: number;
  /** --batch: a reload that names none starts its workers so many at a time. */
  batch?: string;
  releases?: string;
  /** Told once per reload, in service or rolled back. */
  reloaded?: (result: ReloadResult) => void;
  /** --node-allow: the node binaries the admin API may name. */
  nodeAllow?: readonly string[];
  /**
   * The health gate (health.ts): how generation `next` answered beside `old` from `fromMs` to `toMs`; undefined when
   * it is off (a canary's window is judged whenever requests are counted). None: no requests counted.
   */
  judge?: (w: Window) => Verdict | undefined;
  /** A canary's running comparison (health.ts). */
  compare?: (w: Window) => string;
}

/** What a reload needs of the master's workers and of what it tells systemd. */
export interface Fleet {
  /** The generation serving now. */
  readonly generation: number;
  /** How many workers it runs (-w). */
  readonly workers: number;
  /** Its workers' slots, which a batch takes over one by one, and gives back to the old code on a rollback. */
  readonly slots: ReplaceSlots;
  /** While the first generation is being spawned (`-w 64` takes seconds): a reload waits for it. */
  readonly spawning: Promise<void> | undefined;
  readonly stopped: AbortSignal;
  isStopping(): boolean;
  /** The next generation's number, taken. */
  takeGeneration(): number;
  /** What spawns `generation`'s workers, from `release` with --releases. */
  launcher(generation: number, release: string | undefined, node: string): () => Worker;
  /** The node binary the serving generation runs on: a reload that names none runs on it too. */
  readonly node: string;
  /** `count` more workers of `launch`, in the next slots, as the generation starting: their exits are the reload's. */
  spawnStarting(launch: () => Worker, count: number): Worker[];
  /** The generation starting was stopped. */
  startingGone(): void;
  /** `code`'s generation serves from now on, in `workers`; returns the one it replaces. */
  promote(code: Code, workers: Worker[]): Retiring;
  closeUnused(why: string): void;
  reloading(next: number): void;
  announceServing(failed?: Serving['failed']): void;
}

/** One reload request: who hears its phases, and what it names (ReloadAsk). */
interface ReloadRequest extends ReloadAsk {
  onPhase: PhaseListener;
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

export class Reloads {
  readonly history: ReloadRecord[] = [];
  /** Old generations still draining, oldest first. */
  readonly retiring: Retiring[] = [];
  private readonly coalescer = new Coalescer<ReloadRequest, InService>(
    (requests) => this.run(requests),
    MIN_RELOAD_INTERVAL_MS,
  );

  constructor(
    private readonly fleet: Fleet,
    private readonly o: ReloadOptions,
  ) {}

  /**
   * One reload at a time, until its generation is in service (ready, and
   * through its crash window); the old generation's drain goes on behind it,
   * so a hotfix never waits for a slow drain. A request while one runs, or
   * less than MIN_RELOAD_INTERVAL_MS after one started, joins the next
   * reload: a request is never lost, and never doubled.
   */
  request(onPhase: PhaseListener, { release, node, remote, by, canary, batch }: ReloadAsk = {}): Promise<ReloadResult> {
    if (release !== undefined) this.checkRelease(release);
    if (node !== undefined) this.checkNode(node, remote === true);
    if (canary !== undefined) this.checkCanary(canary);
    log('info', 'reload requested', { by, release, node, canary: canary?.workers });
    if (this.fleet.isStopping()) return Promise.resolve(this.stopping());
    const { result, queued } = this.coalescer.request({ onPhase, release, node, canary, batch });
    if (queued) onPhase({ phase: 'queued', reason: 'a reload is running or has just run; this one follows it' });
    return result.then((r) => r.result);
  }

  /** A reload is under way (until its generation is in service), or waits to start. */
  get running(): boolean {
    return this.coalescer.busy;
  }

  /** Throws ReloadRefused unless `release` can be started now: it names a release, and no other one is queued. */
  private checkRelease(release: string): void {
    if (this.o.releases === undefined) throw new ReloadRefused(NO_RELEASES);
    releasePath(this.o.releases, release);
    const other = this.coalescer.waiting().find((r) => r.release !== undefined && r.release !== release);
    if (other)
      throw new ReloadRefused(
        `a reload of release ${other.release} is queued; ask for ${release} once it has run`,
        true,
      );
  }

  /**
   * Throws ReloadRefused unless `node` can run the workers, may be asked for from where it was, and is not at odds
   * with a queued one.
   */
  private checkNode(node: string, remote: boolean): void {
    if (remote && !this.o.nodeAllow?.includes(node))
      throw new ReloadRefused(
        `node ${node} is not one --node-allow names: the admin API starts only those (${this.o.nodeAllow?.join(', ') || 'none named'})`,
      );
    const checked = nodeVersion(node);
    if ('error' in checked) throw new ReloadRefused(checked.error);
    const other = this.coalescer.waiting().find((r) => r.node !== undefined && r.node !== node);
    if (other)
      throw new ReloadRefused(`a reload onto node ${other.node} is queued; ask for ${node} once it has run`, true);
  }

  /** Throws ReloadRefused unless a canary of `workers` leaves old workers serving beside it, and can be judged. */
  private checkCanary({ workers }: Canary): void {
    const all = this.fleet.workers;
    if (!this.o.judge)
      throw new ReloadRefused(
        'a canary is judged on the requests workers count: run baton without --no-request-metrics',
      );
    if (all < 2) throw new ReloadRefused(`--canary: -w ${all} leaves no old worker beside a canary (run -w 2 or more)`);
    if (workers >= all)
      throw new ReloadRefused(
        `--canary ${workers}: a canary is fewer workers than the ${all} this master runs (give 1 to ${all - 1})`,
      );
  }

  private stopping(): ReloadResult {
    return { ok: false, generation: this.fleet.generation, ms: 0, reason: 'the master is stopping' };
  }

  private async run(requests: ReloadRequest[]): Promise<InService> {
    const { fleet, o } = this;
    const started = Date.now();
    const emit = (phase: Phase): void => requests.forEach((r) => r.onPhase(phase));
    const now = (result: ReloadResult): InService => ({ result: Promise.resolve(result) });
    if (fleet.spawning) await fleet.spawning;
    if (fleet.isStopping()) return now(this.stopping());
    const generation = fleet.takeGeneration();
    let code: Code;
    try {
      code = this.codeOf(generation, {
        release: requests.find((r) => r.release !== undefined)?.release,
        node: requests.find((r) => r.node !== undefined)?.node ?? fleet.node,
      });
    } catch (err) {
      return now(this.refused(generation, (err as Error).message, started, emit));
    }
    const { release } = code;
    const begun = { at: started, release };
    const next: Worker[] = [];
    let cut = 0;
    for (const step of stepsOf(fleet.workers, o.crashWindowMs, rolloutOf(requests, o.batch, fleet.workers))) {
      const failure = await this.step(code, step, { next, started, emit });
      if (failure) return now(await this.rollBack(next, failure, begun, emit));
      if (fleet.stopped.aborted) return now(this.stopping());
      if (step.swapIn) cut += await this.swapIn(next.slice(-step.workers), next.length - step.workers, emit);
    }
    const old = fleet.promote(code, next);
    // A batch's workers took their slots already: the old generation is what is left of it.
    const retired = this.retire({ ...old, workers: old.workers.filter((w) => w.generation !== generation) }, emit);
    const inService = { ...begun, inServiceMs: Date.now() - started };
    if (release !== undefined) this.pointCurrent(release);
    fleet.announceServing();
    return {
      result: retired.then(({ cut: retiredCut, drainedAt }) =>
        this.done(
          generation,
          { ms: Date.now() - started, drainedMs: drainedAt - started, cut: cut + retiredCut },
          inService,
          emit,
        ),
      ),
    };
  }

  /**
   * One step of a rollout: `step.workers` more of `code`'s generation (added to `next`) start beside the serving one,
   * become ready, serve through the step's wait and are judged. Returns what rolls the reload back, if anything does.
   */
  private async step(
    code: Code,
    step: Step,
    { next, started, emit }: { next: Worker[]; started: number; emit: PhaseListener },
  ): Promise<{ reason: string; child?: Worker } | undefined> {
    const { fleet, o } = this;
    const { generation } = code;
    if (step.canary) emit({ phase: 'canary', generation, workers: step.workers, forMs: step.forMs });
    const batch = this.spawn(code, step.workers, emit);
    next.push(...batch);
    const failure = await awaitReady(batch, o.readyTimeoutMs, fleet.stopped);
    if (failure) return failure;
    const readyAt = Date.now();
    log('info', 'reload: new generation ready', { next: generation, ms: readyAt - started });
    emit({ phase: 'ready', generation, ms: readyAt - started });
    // Both generations serve through the wait; the old one is told to drain only once the new one is in service,
    // so a crash here leaves it serving as if nothing had happened, whatever the files on disk now hold.
    const window = { next: generation, old: fleet.generation, fromMs: readyAt, canary: step.canary };
    const watching = step.canary
      ? watchCanary(liveOf(fleet.slots), { workers: batch, forMs: step.forMs }, () => this.compared(window, emit))
      : undefined;
    const crash = await firstExit(next, step.forMs, fleet.stopped);
    watching?.end();
    if (crash) return { reason: crashReason(crash.child, crash.exit, step.forMs), child: crash.child };
    if (fleet.stopped.aborted) return undefined;
    const verdict = step.forMs > 0 ? o.judge?.({ ...window, toMs: Date.now() }) : undefined;
    if (verdict && step.canary) emit({ phase: 'verdict', generation, ok: verdict.ok, text: verdict.text });
    if (verdict?.ok === false) return { reason: verdict.text };
    if (verdict) log('info', `reload: ${verdict.text}`);
    return undefined;
  }

  /**
   * A batch judged good takes its slots (from `first` on) from the old generation's workers, which drain; resolves,
   * with the connections they cut, once they have exited, so that no more than -w and a batch run at once.
   */
  private async swapIn(batch: Worker[], first: number, emit: PhaseListener): Promise<number> {
    const { slots } = this.fleet;
    const old: Worker[] = [];
    batch.forEach((fresh, i) => {
      const was = slots.live[first + i];
      if (slots.swap(first + i, was!, fresh) && was) old.push(was);
    });
    return (await this.retire({ generation: this.fleet.generation, workers: old }, emit)).cut;
  }

  /** A canary's comparison so far, said. */
  private compared(window: Omit<Window, 'toMs'>, emit: PhaseListener): void {
    const text = this.o.compare?.({ ...window, toMs: Date.now() });
    if (text === undefined) return;
    log('info', `canary: ${text}`);
    emit({ phase: 'comparing', generation: window.next, text });
  }

  /** `count` more workers of `code`'s generation, starting beside the serving one. */
  private spawn(code: Code, count: number, emit: PhaseListener): Worker[] {
    const { generation, release } = code;
    this.fleet.reloading(generation);
    const next = this.fleet.spawnStarting(code.launch, count);
    const node = versionOf(code.node);
    log('info', 'reload: spawned', { next: generation, pids: next.map((w) => w.pid).join(','), release, node });
    emit({
      phase: 'spawned',
      generation,
      pids: next.map((w) => w.pid),
      ...(release === undefined ? {} : { release }),
      ...(node === undefined ? {} : { node }),
    });
    return next;
  }

  /**
   * The code `generation` runs: `named`, or what `current` points to now (with --releases), else the command line's.
   */
  private codeOf(generation: number, { release: named, node }: { release?: string; node: string }): Code {
    const release = this.o.releases === undefined ? undefined : (named ?? currentRelease(this.o.releases));
    return { generation, release, node, launch: this.fleet.launcher(generation, release, node) };
  }

  /**
   * The release could not be found as the reload began (`current` dangling, or the one named gone since): nothing was
   * started.
   */
  private refused(generation: number, reason: string, started: number, emit: PhaseListener): ReloadResult {
    log('error', `reload refused, generation ${this.fleet.generation} still serving: ${reason}`, {
      failed: generation,
    });
    emit({ phase: 'rollback', generation, reason, stderrTail: '' });
    return this.record({ ok: false, generation, ms: Date.now() - started, reason }, { at: started });
  }

  /** `current` follows the release in service; failing that, it is said, and the next start would run the old one. */
  private pointCurrent(release: string): void {
    try {
      pointCurrent(this.o.releases!, release);
    } catch (err) {
      log(
        'error',
        `release ${release} serves, but ${path.join(this.o.releases!, CURRENT)} could not be pointed at it (${(err as NodeJS.ErrnoException).code}): the next start would run the release it names`,
      );
    }
  }

  /** `ms`: from the command to the old generation gone, which the crash window may outlast. */
  private done(
    generation: number,
    { ms, drainedMs, cut }: { ms: number; drainedMs: number; cut: number },
    begun: Begun,
    emit: PhaseListener,
  ): ReloadResult {
    // A later reload may already serve: it closes what its own generation leaves unused.
    if (generation === this.fleet.generation)
      this.fleet.closeUnused('closed sockets the serving generation does not listen on');
    log('info', 'reload: done', { next: generation, ms, drainedMs, cut });
    emit({ phase: 'done', generation, ms, drainedMs });
    return this.record({ ok: true, generation, ms, drainedMs, cut }, begun);
  }

  /**
   * The new generation is stopped and the serving one, never told to drain,
   * serves on: a ready worker drains what it took in its window, one that
   * never became ready has its drain's deadline now (see stopNew). Then the
   * sockets only the failed generation listened on are closed, so their
   * clients are refused rather than queued where nobody accepts.
   */
  private async rollBack(
    next: Worker[],
    failure: { reason: string; child?: Worker },
    begun: Begun,
    emit: PhaseListener,
  ): Promise<ReloadResult> {
    const generation = next[0]!.generation;
    const kept = await giveBack(this.fleet, generation, this.o);
    const stopped = next.filter((w) => !kept.includes(w));
    stopNew(stopped, deadlineIn(this.o.drainTimeoutMs));
    await Promise.all(stopped.map((w) => w.exited));
    this.fleet.startingGone();
    this.fleet.closeUnused('closed sockets only the failed generation listened on');
    const said = rolledBack(
      { generation, ...failure },
      `reload rolled back, generation ${this.fleet.generation} still serving`,
      'worker',
      emit,
    );
    this.fleet.announceServing({ generation, reason: failure.reason });
    return this.record({ ...said, ms: Date.now() - begun.at }, begun);
  }

  /**
   * Drains the old generation's workers; resolves, once they are gone, with
   * the connections they cut at the deadline and when the last of them had
   * closed its last connection (a process's exit, the kernel reclaiming its
   * memory, comes after that and takes tens of ms for a large app). Past the
   * cap on draining generations, the oldest is ended now.
   */
  private async retire(old: Retiring, emit: PhaseListener): Promise<{ cut: number; drainedAt: number }> {
    const deadline = deadlineIn(this.o.drainTimeoutMs);
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
      log(
        'warn',
        `more than ${this.o.maxDraining} generations draining: ending generation ${oldest.generation}'s drain now`,
        {
          old: oldest.generation,
          connections,
        },
      );
      for (const w of oldest.workers) w.drain('upgrade', Date.now());
    }
  }

  private record(result: ReloadResult, begun: Begun): ReloadResult {
    remember(this.history, result, begun);
    this.o.reloaded?.(result);
    return result;
  }
}

/** The workers in `slots` now. */
const liveOf = (slots: ReplaceSlots): Worker[] => slots.live.filter((w): w is Worker => w !== undefined);

/** The connections `workers`, all exited, cut at their drain deadline. */
export async function cutBy(workers: readonly Worker[]): Promise<number> {
  return (await Promise.all(workers.map((w) => w.cut))).reduce((n, c) => n + c, 0);
}
