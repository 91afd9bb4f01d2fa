/**
 * Reloads and upgrades run one at a time. A request while one runs (or less
 * than `minIntervalMs` after one started) joins the next run, which starts
 * when that one is over: a burst of requests gives at most two runs, and no
 * request is lost or doubled.
 */
import { sleep } from '../time.js';

export class Coalescer<A, T> {
  private running: Promise<T> | undefined;
  private queued: { args: A[]; result: Promise<T> } | undefined;
  private lastStart = -Infinity;

  /** `run` gets the argument of every request it serves. */
  constructor(
    private readonly run: (args: A[]) => Promise<T>,
    private readonly minIntervalMs = 0,
  ) {}

  request(arg: A): { result: Promise<T>; queued: boolean } {
    if (!this.queued && !this.running && Date.now() - this.lastStart >= this.minIntervalMs) {
      return { result: this.start([arg]), queued: false };
    }
    if (!this.queued) {
      const args: A[] = [];
      const result = (this.running ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => sleep(this.lastStart + this.minIntervalMs - Date.now()))
        .then(() => {
          this.queued = undefined;
          return this.start(args);
        });
      this.queued = { args, result };
    }
    this.queued.args.push(arg);
    return { result: this.queued.result, queued: true };
  }

  /** A run is under way, or one waits to start. */
  get busy(): boolean {
    return this.running !== undefined || this.queued !== undefined;
  }

  /** The arguments of the requests waiting for the next run. */
  waiting(): readonly A[] {
    return this.queued?.args ?? [];
  }

  private start(args: A[]): Promise<T> {
    this.lastStart = Date.now();
    const run = this.run(args).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
