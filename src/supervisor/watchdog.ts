/**
 * Tells which ready workers have fallen silent: a worker beats every
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
import type { Worker } from './worker.js';

export class Watchdog {
  private readonly silent = new WeakSet<Worker>();
  private lastCheck: number | undefined;

  constructor(private readonly limitMs: number, private readonly everyMs: number) {}

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
