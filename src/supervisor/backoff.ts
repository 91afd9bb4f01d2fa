/**
 * Restart delays for a crash loop: 100 ms, doubling per consecutive crash, at
 * most 30 s. A worker that stayed up a minute resets the count.
 */
const FIRST_MS = 100;
const MAX_MS = 30_000;
const STABLE_MS = 60_000;

export class Backoff {
  private crashes = 0;

  /** The delay before restarting a worker that crashed after running `uptimeMs`. */
  next(uptimeMs: number): { delayMs: number; crashes: number } {
    if (uptimeMs >= STABLE_MS) this.crashes = 0;
    this.crashes++;
    return { delayMs: Math.min(FIRST_MS * 2 ** (this.crashes - 1), MAX_MS), crashes: this.crashes };
  }

  reset(): void {
    this.crashes = 0;
  }
}
