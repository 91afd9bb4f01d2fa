/**
 * Standalone upgrades (no master): on the upgrade signal, start a successor
 * with the same command and every listening socket, wait until it is ready,
 * then drain. If it throws, exits or is not ready in time, it is stopped and
 * this process keeps serving. One upgrade signal gives one upgrade: a request
 * while an upgrade is under way or after the hand-over is not a new one (an
 * app's own handler may re-raise the signal at itself, as NestJS's shutdown
 * hooks do), and the upgrade after a hand-over is the successor's to make, on
 * its own signal. A stop during an upgrade cancels it.
 */
import type { DrainReason } from '../protocol/messages.js';
import type { Settings } from '../protocol/settings.js';
import type { Listeners } from '../listeners/route.js';
import { Child, awaitReady } from '../generation/parent.js';
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
  /** Runs the app's own listeners for the upgrade signal, held back until the hand-over. */
  runAppSignalListeners(): void;
  shutdown(reason: DrainReason, deadline?: number): Promise<never>;
}

export class Standalone {
  private successor: Child | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly d: StandaloneDeps) {}

  /** Resolves true once a successor has taken over, false if this request did not lead to one. */
  upgrade(): Promise<boolean> {
    const { state } = this.d.lifecycle;
    if (state === 'upgrading') {
      log('info', 'upgrade requested while one is under way: ignored, it is part of that one');
    } else if (state !== 'serving') {
      log('info', 'already handed over: ignoring the upgrade request; send it to the successor', { successor: this.successor?.pid });
    } else {
      return this.run();
    }
    return Promise.resolve(false);
  }

  stop(deadline?: number): void {
    this.stopping.abort();
    void this.d.shutdown('stop', deadline);
  }

  private async run(): Promise<boolean> {
    const { lifecycle, settings, notify } = this.d;
    if (this.stopping.signal.aborted) return false;
    if (process.pid === 1) {
      log('error', 'refusing a standalone upgrade as PID 1: this process exiting would end the container; use `baton run`');
      return false;
    }
    lifecycle.to('upgrading');
    log('info', 'upgrade started');
    const child = this.spawn();
    notify.reloading(child.generation, settings.generation);
    const failure = await awaitReady([child], settings.readyTimeoutMs, this.stopping.signal);
    if (failure) {
      child.drain('stop', Date.now() + settings.drainTimeoutMs);
      lifecycle.to('serving');
      log('error', `upgrade failed, still serving: ${failure.reason}`);
      logTail('successor', child.failed?.stderrTail ?? '');
      notify.serving(settings.generation, { failed: { generation: child.generation, reason: failure.reason } });
      return false;
    }
    this.successor = child;
    log('info', 'successor ready', { successor: child.pid, readyMs: Date.now() - child.startedAt });
    if (settings.pidFile) writePidFile(settings.pidFile, child.pid);
    // Said by this process, the main pid until systemd reads this message; drainAndExit() waits for it to go out.
    notify.serving(child.generation, { mainPid: child.pid });
    void this.d.shutdown('upgrade');
    this.d.runAppSignalListeners();
    return true;
  }

  private spawn(): Child {
    const { launch, listeners, settings } = this.d;
    const sockets = listeners.passable();
    const child = new Child({
      ...launch,
      sockets,
      settings: { ...settings, generation: settings.generation + 1 },
      role: 'successor',
    });
    log('info', 'successor spawned', { successor: child.pid, sockets: sockets.map((s) => s.name).join(',') });
    return child;
  }
}
