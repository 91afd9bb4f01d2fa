/**
 * Standalone upgrades (no master): on the upgrade signal, start a successor
 * with the same command and every listening socket, wait until it is ready,
 * then drain. If it throws, exits or is not ready in time, it is stopped and
 * this process keeps serving. One upgrade at a time (a request meanwhile
 * joins the next); a request after the hand-over is passed on to the
 * successor through its channel; a stop during an upgrade cancels it. Each
 * upgrade's phases and outcome are said as a master says a reload's, for the
 * admin API.
 */
import type { Phase, ReloadResult } from '../protocol/control.js';
import type { DrainReason } from '../protocol/messages.js';
import type { Settings } from '../protocol/settings.js';
import type { Listeners } from '../listeners/route.js';
import { Child, awaitReady } from '../generation/parent.js';
import { Coalescer } from '../generation/coalesce.js';
import { log, logTail } from '../log.js';
import type { Notifier } from '../systemd/notify.js';
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
  /** Once per upgrade that started a successor, however many requests joined it; with the successor when it took over. */
  upgraded(result: ReloadResult, successor: Child | undefined): void;
  shutdown(reason: DrainReason, deadline?: number): Promise<never>;
}

type PhaseListener = (phase: Phase) => void;

export class Standalone {
  private successor: Child | undefined;
  private readonly stopping = new AbortController();
  private readonly upgrades = new Coalescer<PhaseListener, ReloadResult>((listeners) => this.run(listeners));

  constructor(private readonly d: StandaloneDeps) {}

  /** Resolves `ok` once a successor has taken over; else why not (rolled back, stopping, handed over already). */
  upgrade(onPhase: PhaseListener = () => {}): Promise<ReloadResult> {
    const { result, queued } = this.upgrades.request(onPhase);
    if (queued) {
      log('info', 'upgrade requested during an upgrade: one more will follow');
      onPhase({ phase: 'queued', reason: 'an upgrade is running; this one follows it' });
    }
    return result;
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
    if (lifecycle.state === 'draining') return refused(this.passOn());
    if (process.pid === 1) {
      const reason = 'refusing a standalone upgrade as PID 1: this process exiting would end the container; use `baton run`';
      log('error', reason);
      return refused(reason);
    }
    lifecycle.to('upgrading');
    log('info', 'upgrade started');
    const child = this.spawn();
    say({ phase: 'spawned', generation: child.generation, pids: [child.pid] });
    notify.reloading(child.generation, settings.generation);
    const failure = await awaitReady([child], settings.readyTimeoutMs, this.stopping.signal);
    if (failure) {
      child.drain('stop', Date.now() + settings.drainTimeoutMs);
      lifecycle.to('serving');
      log('error', `upgrade failed, still serving: ${failure.reason}`);
      const stderrTail = child.failed?.stderrTail ?? '';
      logTail('successor', stderrTail);
      notify.serving(settings.generation, { failed: { generation: child.generation, reason: failure.reason } });
      say({ phase: 'rollback', generation: child.generation, reason: failure.reason, stderrTail });
      return this.outcome(end({ ok: false, generation: child.generation, reason: failure.reason, stderrTail }), undefined);
    }
    this.successor = child;
    log('info', 'successor ready', { successor: child.pid, readyMs: Date.now() - child.startedAt });
    say({ phase: 'ready', generation: child.generation, ms: Date.now() - started });
    if (settings.pidFile) writePidFile(settings.pidFile, child.pid);
    // Said by this process, the main pid until systemd reads this message; drainAndExit() waits for it to go out.
    notify.serving(child.generation, { mainPid: child.pid });
    say({ phase: 'draining', generation: settings.generation, connections: this.d.connections() });
    void this.d.shutdown('upgrade');
    say({ phase: 'done', generation: child.generation, ms: Date.now() - started });
    return this.outcome(end({ ok: true, generation: child.generation }), child);
  }

  private outcome(result: ReloadResult, successor: Child | undefined): ReloadResult {
    this.d.upgraded(result, successor);
    return result;
  }

  private spawn(): Child {
    const { launch, listeners, settings } = this.d;
    const sockets = [...listeners.passable(), ...this.d.moreSockets()];
    const child = new Child({
      ...launch,
      sockets,
      settings: { ...settings, generation: settings.generation + 1 },
      role: 'successor',
    });
    log('info', 'successor spawned', { successor: child.pid, sockets: sockets.map((s) => s.name).join(',') });
    return child;
  }

  /** After the hand-over an upgrade is the successor's to make; if it is gone, nobody's. Returns what was done. */
  private passOn(): string {
    const successor = this.successor;
    if (successor?.send({ type: 'upgrade' })) {
      log('info', 'already handed over: passing the upgrade request on', { successor: successor.pid });
      return `already handed over to pid ${successor.pid}: the upgrade request was passed on to it`;
    }
    log('warn', 'already handed over, and the successor has exited: ignoring the upgrade request', { successor: successor?.pid });
    return 'already handed over, and the successor has exited: nothing to upgrade';
  }
}
