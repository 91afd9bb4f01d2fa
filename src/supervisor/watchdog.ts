/**
 * Watching the serving generation's heartbeats. Watchdog tells which ready
 * workers have fallen silent: a worker beats every
 * HEARTBEAT_MS, so one silent for the limit is stopped (SIGSTOP) or stuck in
 * a loop, though its state still says ready. Each worker is reported once per
 * silence, and again as it answers if it does.
 *
 * A silence is only the worker's if the master was listening: a master that
 * was itself stopped (SIGSTOP, a frozen VM) wakes to find every worker's last
 * beat old, their later beats still unread in its channels. So a check that
 * runs late by more than a beat finds nothing, and the next one, after those
 * beats have been read, decides.
 */
import { HEARTBEAT_MS } from '../protocol/messages.js';
import { log } from '../log.js';
import type { Limits } from '../generation/limits.js';
import type { Replacer } from './replace.js';
import type { Worker } from './worker.js';

export class Watchdog {
  private readonly silent = new WeakSet<Worker>();
  private lastCheck: number | undefined;

  constructor(
    private readonly limitMs: number,
    private readonly everyMs: number,
  ) {}

  /** How long `w` has said nothing since it was ready. */
  static silentFor(w: Worker, now: number): number {
    return now - (w.heartbeat?.at ?? w.readyAt ?? now);
  }

  isSilent(w: Worker): boolean {
    return this.silent.has(w);
  }

  /**
   * The ready workers newly silent for the limit, and the silent ones that
   * beat again; `lateMs` when this check ran that late, the master's own
   * pause, and looked at nobody.
   */
  check(workers: readonly Worker[], now: number): { silent: Worker[]; answering: Worker[]; lateMs?: number } {
    const silent: Worker[] = [];
    const answering: Worker[] = [];
    if (this.limitMs === 0) return { silent, answering };
    const lateMs = now - (this.lastCheck ?? now) - this.everyMs;
    this.lastCheck = now;
    if (lateMs > this.everyMs) return { silent, answering, lateMs };
    for (const w of workers) {
      if (w.state !== 'ready') continue;
      const quiet = Watchdog.silentFor(w, now) >= this.limitMs;
      if (quiet && !this.silent.has(w)) {
        this.silent.add(w);
        silent.push(w);
      } else if (!quiet && this.silent.has(w)) {
        this.silent.delete(w);
        answering.push(w);
      }
    }
    return { silent, answering };
  }
}

/**
 * Checks the serving generation every HEARTBEAT_MS: reports the workers that
 * fell silent (and those that answer again), and has replaced the ones due:
 * silent ones with --replace-unresponsive, and those past --max-memory,
 * --max-requests or --max-age (generation/limits.ts).
 */
export class HeartbeatWatch {
  private readonly detector: Watchdog;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { unresponsiveMs: number; replaceUnresponsive: boolean },
    private readonly live: () => readonly (Worker | undefined)[],
    private readonly limits: Limits,
    private readonly replacer: Replacer,
  ) {
    this.detector = new Watchdog(o.unresponsiveMs, HEARTBEAT_MS);
  }

  start(): void {
    const limits = this.limits.describe();
    if (limits) log('info', `replacing workers past their limits: ${limits}`);
    if (this.o.unresponsiveMs === 0 && !limits) return;
    this.timer = setInterval(() => this.check(), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  isSilent(w: Worker): boolean {
    return this.detector.isSilent(w);
  }

  private check(): void {
    const now = Date.now();
    const live = this.live().filter((w): w is Worker => w !== undefined);
    const { silent, answering, lateMs } = this.detector.check(live, now);
    if (lateMs !== undefined) {
      log(
        'info',
        `the master's own timers ran ${lateMs} ms late (it was paused): looking at the workers' heartbeats again in ${HEARTBEAT_MS} ms`,
      );
    }
    for (const w of answering) log('info', `${w.name} answers again`, { worker: w.pid });
    for (const w of silent) {
      const what = this.o.replaceUnresponsive ? 'replacing it' : 'not replacing it (--replace-unresponsive would)';
      const how = 'its event loop is blocked, or it is stopped';
      const quiet = `${w.name} has sent no heartbeat for ${Watchdog.silentFor(w, now)} ms`;
      log('warn', `${quiet}: ${how}; ${what}`, { worker: w.pid });
      if (this.o.replaceUnresponsive) this.replacer.ask(w, 'unresponsive', quiet);
    }
    // A master that was paused has stale readings too: nothing is judged on them.
    if (lateMs === undefined)
      for (const d of this.limits.check(live, now)) this.replacer.ask(d.worker, d.reason, d.detail);
    this.replacer.next();
  }
}
