/**
 * Standalone upgrades (no master): on the upgrade signal, start a successor
 * with the same command and every listening socket, wait until it is ready
 * and through its crash window (both serve meanwhile), then drain. If it
 * throws, exits or is not ready in time, it is stopped and this process,
 * never told to drain, keeps serving. One upgrade signal gives one upgrade: a request
 * while an upgrade is under way joins it, and one after the hand-over is not
 * a new one (an app's own handler may re-raise the signal at itself, as
 * NestJS's shutdown hooks do): the upgrade after a hand-over is the
 * successor's to make, on its own signal. A stop during an upgrade cancels it.
 * Each upgrade's phases and outcome are said as a master says a reload's, for
 * the admin API.
 */
import type { Phase, ReloadResult } from '../protocol/control.js';
import type { DrainReason } from '../protocol/messages.js';
import type { Settings } from '../protocol/settings.js';
import type { Listeners } from '../listeners/route.js';
import {
  type Child,
  type ChildSpec,
  awaitReady,
  crashReason,
  firstExit,
  rolledBack,
  stopNew,
} from '../generation/parent.js';
import type { NativeHandle } from '../internals/handles.js';
import { log } from '../log.js';
import type { Notifier } from '../systemd/notify.js';
import { deadlineIn } from '../time.js';
import type { Lifecycle } from './lifecycle.js';
import { writePidFile } from './pidfile.js';

export interface Launch {
  execPath: string;
  /** Node flags, script and app arguments, as this process was started. */
  args: string[];
  /** The logical working directory, so a `current -> releases/vN` switch takes effect. */
  cwd: string;
  /** The environment this process started with, minus the socket hand-over variables. */
  env: Record<string, string | undefined>;
}

/** What an upgrade needs of its successor: unit tests give fakes of it. */
export type Successor = Pick<
  Child,
  | 'pid'
  | 'name'
  | 'generation'
  | 'startedAt'
  | 'readyAt'
  | 'state'
  | 'failed'
  | 'ready'
  | 'exited'
  | 'describeExit'
  | 'drain'
  | 'send'
  | 'handOver'
>;

/** Starts a successor: a process (new Child), or a fake in unit tests. */
export type SpawnSuccessor = (spec: ChildSpec) => Successor;

export interface StandaloneDeps {
  lifecycle: Lifecycle;
  listeners: Listeners;
  settings: Settings;
  launch: Launch;
  notify: Notifier;
  /** Sockets passed on after the app's: the admin listener's. */
  moreSockets(): { fd: number; name: string }[];
  /** The app's open connections, as the drain begins. */
  connections(): number;
  /**
   * Once per upgrade that started a successor, however many requests joined it; with the successor when it took over.
   */
  upgraded(result: ReloadResult, successor: Successor | undefined): void;
  /** Runs the app's own listeners for the upgrade signal, held back until the hand-over. */
  runAppSignalListeners(): void;
  shutdown(reason: DrainReason, deadline?: number): Promise<never>;
  spawn: SpawnSuccessor;
}

type PhaseListener = (phase: Phase) => void;

export class Standalone {
  private successor: Successor | undefined;
  private readonly stopping = new AbortController();
  /** The upgrade under way: who hears its phases, and its outcome. */
  private current: { listeners: PhaseListener[]; result: Promise<ReloadResult> } | undefined;

  constructor(private readonly d: StandaloneDeps) {}

  /** Resolves `ok` once a successor has taken over; else why not (rolled back, stopping, handed over already). */
  upgrade(onPhase: PhaseListener = () => {}): Promise<ReloadResult> {
    if (this.current) {
      log('info', 'upgrade requested while one is under way: it is part of that one');
      this.current.listeners.push(onPhase);
      return this.current.result;
    }
    const listeners = [onPhase];
    const result = this.run(listeners).finally(() => (this.current = undefined));
    this.current = { listeners, result };
    return result;
  }

  /**
   * An idle connection on `address`, to the successor that has taken over; false if none has, or it has no server
   * there.
   */
  handOver(address: string, handle: NativeHandle): Promise<boolean> {
    return this.successor?.state === 'ready' ? this.successor.handOver(address, handle) : Promise.resolve(false);
  }

  stop(deadline?: number): void {
    this.stopping.abort();
    void this.d.shutdown('stop', deadline);
  }

  private async run(listeners: PhaseListener[]): Promise<ReloadResult> {
    const { lifecycle, settings, notify } = this.d;
    const started = Date.now();
    const say = (p: Phase): void => listeners.forEach((l) => l(p));
    const end = (r: Omit<ReloadResult, 'ms'>): ReloadResult => ({ ...r, ms: Date.now() - started });
    const refused = (reason: string): ReloadResult => end({ ok: false, generation: settings.generation, reason });
    if (this.stopping.signal.aborted) return refused('stopping');
    if (lifecycle.state !== 'serving') {
      log('info', 'already handed over: ignoring the upgrade request; send it to the successor', {
        successor: this.successor?.pid,
      });
      return refused(
        `already handed over${this.successor ? ` to pid ${this.successor.pid}` : ''}: send the upgrade to the process serving now`,
      );
    }
    if (process.pid === 1) {
      const reason =
        'refusing a standalone upgrade as PID 1: this process exiting would end the container; use `baton run`';
      log('error', reason);
      return refused(reason);
    }
    lifecycle.to('upgrading');
    log('info', 'upgrade started');
    const child = this.spawn();
    say({ phase: 'spawned', generation: child.generation, pids: [child.pid] });
    notify.reloading(child.generation, settings.generation);
    const failure = await awaitReady([child], settings.readyTimeoutMs, this.stopping.signal);
    if (failure) return this.rollBack(child, failure.reason, say, end);
    log('info', 'successor ready', { successor: child.pid, readyMs: Date.now() - child.startedAt });
    say({ phase: 'ready', generation: child.generation, ms: Date.now() - started });
    // Both serve through the window: this process drains only once its successor has proven itself.
    const crash = await firstExit([child], settings.crashWindowMs, this.stopping.signal);
    if (crash) return this.rollBack(child, crashReason(child, crash.exit, settings.crashWindowMs), say, end);
    if (this.stopping.signal.aborted) return this.rollBack(child, 'cancelled by a stop', say, end);
    // Before the hand-over: a pid file naming an exited process would send the next signal nowhere.
    const unwritten = settings.pidFile ? writePidFile(settings.pidFile, child.pid) : undefined;
    if (unwritten) return this.rollBack(child, unwritten, say, end);
    this.successor = child;
    log('info', 'handing over: the successor is in service', { successor: child.pid });
    // Said by this process, the main pid until systemd reads this message; drainAndExit() waits for it to go out.
    notify.serving(child.generation, { mainPid: child.pid });
    say({ phase: 'draining', generation: settings.generation, connections: this.d.connections() });
    void this.d.shutdown('upgrade');
    this.d.runAppSignalListeners();
    say({ phase: 'done', generation: child.generation, ms: Date.now() - started });
    return this.outcome(end({ ok: true, generation: child.generation }), child);
  }

  /** The successor is stopped (as a master stops a failed generation) and this process serves on. */
  private rollBack(
    child: Successor,
    reason: string,
    say: PhaseListener,
    end: (r: Omit<ReloadResult, 'ms'>) => ReloadResult,
  ): ReloadResult {
    const { lifecycle, settings, notify } = this.d;
    stopNew([child], deadlineIn(settings.drainTimeoutMs));
    lifecycle.to('serving');
    const said = rolledBack(
      { generation: child.generation, reason, child },
      'upgrade failed, still serving',
      'successor',
      say,
    );
    notify.serving(settings.generation, { failed: { generation: child.generation, reason } });
    return this.outcome(end(said), undefined);
  }

  private outcome(result: ReloadResult, successor: Successor | undefined): ReloadResult {
    this.d.upgraded(result, successor);
    return result;
  }

  private spawn(): Successor {
    const { launch, listeners, settings, spawn } = this.d;
    const sockets = [...listeners.passable(), ...this.d.moreSockets()];
    const child = spawn({
      ...launch,
      sockets,
      settings: { ...settings, generation: settings.generation + 1 },
      role: 'successor',
    });
    log('info', 'successor spawned', { successor: child.pid, sockets: sockets.map((s) => s.name).join(',') });
    return child;
  }
}
