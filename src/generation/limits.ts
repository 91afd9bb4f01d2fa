/**
 * When a worker is due for replacement, though it serves: its memory has
 * stayed above --max-memory for MEMORY_BEATS checks in a row (one reading
 * over, a burst, is not a leak), or it has answered --max-requests or served
 * --max-age, each plus its own share of the jitter. Checked once a heartbeat,
 * by a master of its workers (supervisor/replace.ts replaces them) and by a
 * standalone process of itself (its memory only).
 */
import os from 'node:os';
import type { ReplaceReason } from '../protocol/control.js';
import { formatDuration } from '../protocol/settings.js';
import { mib } from '../format.js';
import type { Child } from './parent.js';

/** What a limit judges of a process. */
export type Judged = Pick<Child, 'pid' | 'state' | 'readyAt' | 'rssBytes'>;

/** Consecutive readings over the limit before a worker is replaced. */
export const MEMORY_BEATS = 3;

export type LimitReason = Exclude<ReplaceReason, 'unresponsive'>;

/** A worker's requests so far, as its heartbeats told them; undefined before any (or with counting off). */
export type RequestsOf = (pid: number) => number | undefined;

export interface Due<W extends Judged = Judged> {
  worker: W;
  reason: LimitReason;
  /** For the log: `rss 530 MiB > 512 MiB`. */
  detail: string;
}

export interface LimitOptions {
  maxMemoryBytes: number;
  /** maxMemoryBytes is the default drawn from the container's memory limit. */
  fromContainer?: boolean;
  maxAgeMs: number;
  maxAgeJitterMs: number;
  maxRequests?: number;
  maxRequestsJitter?: number;
  requestsOf?: RequestsOf;
}

export class Limits {
  private readonly over = new WeakMap<Judged, number>();
  private readonly jitter = new WeakMap<Judged, { age: number; requests: number }>();

  constructor(private readonly o: LimitOptions) {}

  /** Each worker's own share of the jitters, drawn once. */
  private jitterOf(w: Judged): { age: number; requests: number } {
    let j = this.jitter.get(w);
    if (!j) {
      j = {
        age: Math.floor(Math.random() * this.o.maxAgeJitterMs),
        requests: Math.floor(Math.random() * (this.o.maxRequestsJitter ?? 0)),
      };
      this.jitter.set(w, j);
    }
    return j;
  }

  /** The limits in force, for the log: `RSS above 512.0 MiB, 6h served`; none if none. */
  describe(): string | undefined {
    const { maxMemoryBytes: memory, maxAgeMs: age, maxAgeJitterMs: jitter } = this.o;
    const rules = [
      ...(memory ? [`RSS above ${mib(memory)}${this.o.fromContainer ? ' (container limit / 2 / workers)' : ''}`] : []),
      ...(this.o.maxRequests ? [`${this.o.maxRequests} requests served`] : []),
      ...(age ? [`${formatDuration(age)} served${jitter ? ` (+ up to ${formatDuration(jitter)})` : ''}`] : []),
    ];
    return rules.length ? rules.join(', ') : undefined;
  }

  /** The ready workers among `workers` due now, each once per reading. */
  check<W extends Judged>(workers: readonly W[], now: number): Due<W>[] {
    const due: Due<W>[] = [];
    for (const w of workers) {
      if (w.state !== 'ready') continue;
      const found = this.memory(w) ?? this.requests(w) ?? this.age(w, now);
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

  private requests(w: Judged): Omit<Due, 'worker'> | undefined {
    const limit = this.o.maxRequests ?? 0;
    if (limit === 0) return undefined;
    const served = this.o.requestsOf?.(w.pid);
    if (served === undefined || served < limit + this.jitterOf(w).requests) return undefined;
    return { reason: 'requests', detail: `${served} requests ≥ --max-requests ${limit}` };
  }

  private age(w: Judged, now: number): Omit<Due, 'worker'> | undefined {
    if (this.o.maxAgeMs === 0 || w.readyAt === undefined) return undefined;
    const served = now - w.readyAt;
    if (served < this.o.maxAgeMs + this.jitterOf(w).age) return undefined;
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
