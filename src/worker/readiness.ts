/**
 * When a new process counts as ready, so its predecessor may drain:
 * - with BATON_WAIT_READY=1 only when the app says so (ready(), or PM2's
 *   process.send('ready'));
 * - otherwise as soon as it listens on every socket it inherited, or, when it
 *   inherited none or listens on fewer, once it has listened at least once and
 *   `settleMs` has passed with no further listen.
 */
export interface ReadinessOptions {
  waitReady: boolean;
  settleMs: number;
  /** Inherited sockets with a known address that no server has taken yet. */
  unadopted: () => number;
  inheritedCount: number;
  onReady: () => void;
}

export class Readiness {
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReadinessOptions) {}

  get isReady(): boolean {
    return this.done;
  }

  listened(): void {
    if (this.done || this.o.waitReady) return;
    if (this.o.inheritedCount > 0 && this.o.unadopted() === 0) {
      this.declare();
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.declare(), this.o.settleMs);
    this.timer.unref();
  }

  declare(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.o.onReady();
  }
}
