/**
 * Standalone upgrades, one at a time: a request during an upgrade is coalesced
 * into at most one more; a request after the hand-over is passed on to the
 * successor; a stop during an upgrade cancels it.
 */
import { log, logTail } from '../log.js';
import { writePidFile } from './pidfile.js';
import type { Runtime } from './runtime.js';
import { type Launch, spawnSuccessor } from './upgrade.js';

export class Standalone {
  private pending = false;
  private successor: number | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly rt: Runtime, private readonly launch: Launch) {}

  async upgrade(): Promise<boolean> {
    const { rt } = this;
    if (rt.state === 'draining') {
      if (this.successor !== undefined && !this.stopping.signal.aborted) {
        log('info', 'already handed over: passing the upgrade request on', { successor: this.successor });
        process.kill(this.successor, rt.settings.upgradeSignal);
      }
      return false;
    }
    if (rt.state === 'upgrading') {
      if (!this.pending) log('info', 'upgrade requested during an upgrade: one more will follow');
      this.pending = true;
      return false;
    }
    if (process.pid === 1) {
      log('error', 'refusing a standalone upgrade as PID 1: this process exiting would end the container; use `baton run`');
      return false;
    }
    rt.state = 'upgrading';
    log('info', 'upgrade started');
    const outcome = await spawnSuccessor(this.launch, rt.listeners, rt.settings, this.stopping.signal);
    if (!outcome.ok) {
      if (rt.state === 'upgrading') rt.state = 'serving';
      log('error', `upgrade failed, still serving: ${outcome.reason}`);
      logTail('successor', outcome.stderrTail);
      if (this.pending && !this.stopping.signal.aborted) {
        this.pending = false;
        return this.upgrade();
      }
      return false;
    }
    this.successor = outcome.pid;
    log('info', 'successor ready', { successor: outcome.pid, readyMs: outcome.ms });
    if (rt.settings.pidFile) writePidFile(rt.settings.pidFile, outcome.pid);
    outcome.child.disconnect();
    if (this.pending) {
      this.pending = false;
      process.kill(outcome.pid, rt.settings.upgradeSignal);
    }
    await rt.shutdown('upgrade');
    return true;
  }

  stop(): void {
    if (this.rt.state === 'draining') {
      log('info', 'already draining');
      return;
    }
    this.stopping.abort();
    void this.rt.shutdown('stop');
  }
}
