/**
 * Replacing a serving worker without losing capacity or a request: a new
 * worker of its generation starts in its slot's stead, and only once that one
 * is ready does the old one drain (or, silent, get killed). One at a time per
 * master, the next waiting until the old one has exited, and none while a
 * reload runs (it replaces every worker anyway). A replacement that fails to
 * start leaves the old worker serving; it is tried again after a back-off.
 */
import { HISTORY, type ReplaceReason, type ReplacementRecord } from '../protocol/control.js';
import { log } from '../log.js';
import { Backoff } from './backoff.js';
import type { Worker } from './worker.js';

export interface Replacement {
  worker: Worker;
  reason: ReplaceReason;
  /** Why, for the log: `rss 530 MiB > 512 MiB for 3 heartbeats`. */
  detail: string;
}

/** What replacing needs of the master: its slots, and how to fill one. */
export interface ReplaceSlots {
  /** The serving generation's workers, by slot. */
  readonly live: readonly (Worker | undefined)[];
  /** A new worker of the serving generation, for `slot`. */
  spawn(slot: number): Worker;
  /** `fresh` takes `slot` from `old`; false if `old` no longer holds it, or the master is stopping. */
  swap(slot: number, old: Worker, fresh: Worker): boolean;
  /** The deadline of a drain ordered now. */
  deadline(): number;
  /** A reload is running: replacements wait. */
  reloading(): boolean;
  /** Whether `w` is silent still (a silent worker cannot drain: it is killed). */
  isSilent(w: Worker): boolean;
}

export class Replacer {
  private readonly queue: Replacement[] = [];
  /** The replacement under way: its new worker starting, then the old one draining. */
  private current: (Replacement & { fresh: Worker; swapped: boolean }) | undefined;
  private readonly backoff = new Backoff();
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The latest replacements done, for status. */
  readonly history: ReplacementRecord[] = [];

  constructor(
    private readonly slots: ReplaceSlots,
    /** Told of each replacement done, for /metrics. */
    private readonly replaced: (reason: ReplaceReason) => void = () => {},
  ) {}

  /** `worker` is due for replacement; asking again while it waits or is replaced changes nothing. */
  ask(worker: Worker, reason: ReplaceReason, detail: string): void {
    if (this.current?.worker === worker || this.queue.some((q) => q.worker === worker)) return;
    this.queue.push({ worker, reason, detail });
    this.next();
  }

  /** Starts the next replacement: if none is under way or waiting out a back-off, and no reload runs. */
  next(): void {
    if (this.stopped || this.current || this.retry || this.slots.reloading()) return;
    for (let q = this.queue.shift(); q; q = this.queue.shift()) {
      const slot = this.slots.live.indexOf(q.worker);
      // A reload or a crash has replaced it meanwhile.
      if (slot >= 0 && q.worker.state === 'ready') {
        this.start(q, slot);
        return;
      }
    }
  }

  private start(q: Replacement, slot: number): void {
    log('info', `replacing ${q.worker.name}: ${q.detail}`, { worker: q.worker.pid, reason: q.reason });
    const fresh = this.slots.spawn(slot);
    const current = { ...q, fresh, swapped: false };
    this.current = current;
    fresh.ready.then(
      () => this.swap(current, slot),
      (err: Error) => this.failed(current, err),
    );
  }

  private swap(c: NonNullable<Replacer['current']>, slot: number): void {
    // The old worker died while this one started, and this one took its slot (takeReplacement).
    if (this.current !== c) return;
    if (!this.slots.swap(slot, c.worker, c.fresh)) {
      this.current = undefined;
      c.fresh.drain('stop', this.slots.deadline());
      this.next();
      return;
    }
    c.swapped = true;
    this.backoff.reset();
    const old = c.worker;
    this.history.push({
      at: new Date().toISOString(),
      pid: old.pid,
      by: c.fresh.pid,
      reason: c.reason,
      detail: c.detail,
    });
    if (this.history.length > HISTORY) this.history.shift();
    this.replaced(c.reason);
    void old.exited.then(() => {
      if (this.current === c) this.current = undefined;
      this.next();
    });
    if (c.reason === 'unresponsive' && this.slots.isSilent(old)) {
      log('warn', `killing ${old.name}: ${c.fresh.name} has replaced it`, { worker: old.pid });
      old.kill();
    } else {
      log('info', `replaced pid ${old.pid} by pid ${c.fresh.pid}: ${c.detail}; draining ${old.name}`, {
        reason: c.reason,
      });
      old.drain('stop', this.slots.deadline());
    }
  }

  private failed(c: NonNullable<Replacer['current']>, err: Error): void {
    if (this.current !== c) return;
    this.current = undefined;
    c.fresh.kill();
    const { delayMs } = this.backoff.next(0);
    log('error', `could not replace ${c.worker.name}: ${err.message}; it serves on, trying again in ${delayMs} ms`, {
      worker: c.worker.pid,
      reason: c.reason,
    });
    this.queue.unshift(c);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.next();
    }, delayMs);
    this.retry.unref();
  }

  /** An old worker died while its replacement was starting: that replacement, which takes its slot. */
  takeReplacement(dead: Worker): Worker | undefined {
    if (this.current?.worker !== dead || this.current.swapped) return undefined;
    const { fresh } = this.current;
    this.current = undefined;
    return fresh;
  }

  /** The replacement starting and the old worker draining, for status and a stop. */
  workers(): Worker[] {
    return this.current ? [this.current.fresh, this.current.worker] : [];
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }
}
