/**
 * When a worker is due for replacement, though it serves: its memory has
 * stayed above --max-memory for MEMORY_BEATS checks in a row (one reading
 * over, a burst, is not a leak), or it has served --max-age plus its own share
 * of the jitter. Checked once a heartbeat, by a master of its workers
 * (supervisor/replace.ts replaces them) and by a standalone process of itself.
 */
import os from 'node:os';
import type { ReplaceReason } from '../protocol/control.js';
import { formatDuration } from '../protocol/settings.js';
import { mib } from '../format.js';
import type { Child } from './parent.js';

/** What a limit judges of a process. */
export type Judged = Pick<Child, 'state' | 'readyAt' | 'rssBytes'>;

/** Consecutive readings over the limit before a worker is replaced. */
export const MEMORY_BEATS = 3;

export type LimitReason = Exclude<ReplaceReason, 'unresponsive'>;

export interface Due<W extends Judged = Judged> {
  worker: W;
  reason: LimitReason;
  /** For the log: `rss 530 MiB > 512 MiB`. */
  detail: string;
}

export interface LimitOptions {
  maxMemoryBytes: number;
  maxAgeMs: number;
  maxAgeJitterMs: number;
}

export class Limits {
  private readonly over = new WeakMap<Judged, number>();
  private readonly jitter = new WeakMap<Judged, number>();

  constructor(
    private readonly o: LimitOptions,
    private readonly random: () => number = Math.random,
  ) {}

  get active(): boolean {
    return this.o.maxMemoryBytes > 0 || this.o.maxAgeMs > 0;
  }

  /** The ready workers among `workers` due now, each once per reading. */
  check<W extends Judged>(workers: readonly W[], now: number): Due<W>[] {
    const due: Due<W>[] = [];
    for (const w of workers) {
      if (w.state !== 'ready') continue;
      const found = this.memory(w) ?? this.age(w, now);
      if (found) due.push({ worker: w, ...found });
    }
    return due;
  }

  private memory(w: Judged): Omit<Due, 'worker'> | undefined {
    const limit = this.o.maxMemoryBytes;
    if (limit === 0) return undefined;
    const rss = w.rssBytes();
    const over = rss !== null && rss > limit ? (this.over.get(w) ?? 0) + 1 : 0;
    this.over.set(w, over);
    if (over < MEMORY_BEATS) return undefined;
    return { reason: 'memory', detail: `rss ${mib(rss)} > ${mib(limit)} for ${over} heartbeats` };
  }

  private age(w: Judged, now: number): Omit<Due, 'worker'> | undefined {
    if (this.o.maxAgeMs === 0 || w.readyAt === undefined) return undefined;
    let jitter = this.jitter.get(w);
    if (jitter === undefined) this.jitter.set(w, (jitter = Math.floor(this.random() * this.o.maxAgeJitterMs)));
    const served = now - w.readyAt;
    if (served < this.o.maxAgeMs + jitter) return undefined;
    return { reason: 'age', detail: `served ${formatDuration(Math.floor(served / 1000) * 1000)} ≥ --max-age` };
  }
}

/**
 * --max-memory unset: a share of the container's memory limit such that a
 * reload, when both generations run, fits in it; none without a limit
 * (process.constrainedMemory() says 0, nothing, or more than the machine has).
 */
export function defaultMaxMemory(workers: number, limit = process.constrainedMemory?.()): number {
  if (!limit || limit >= os.totalmem()) return 0;
  return Math.floor(limit / (2 * workers));
}
