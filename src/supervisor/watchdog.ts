/**
 * Tells which ready workers have fallen silent: a worker beats every
 * HEARTBEAT_MS, so one silent for the limit is stopped (SIGSTOP) or stuck in
 * a loop, though its state still says ready. Each worker is reported once per
 * silence, and again as it answers if it does.
 */
import type { Worker } from './worker.js';

export class Watchdog {
  private readonly silent = new WeakSet<Worker>();

  constructor(private readonly limitMs: number) {}

  /** How long `w` has said nothing since it was ready. */
  static silentFor(w: Worker, now: number): number {
    return now - (w.heartbeat?.at ?? w.readyAt ?? now);
  }

  isSilent(w: Worker): boolean {
    return this.silent.has(w);
  }

  /** The ready workers newly silent for the limit, and the silent ones that beat again. */
  check(workers: readonly Worker[], now: number): { silent: Worker[]; answering: Worker[] } {
    const silent: Worker[] = [];
    const answering: Worker[] = [];
    if (this.limitMs === 0) return { silent, answering };
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
