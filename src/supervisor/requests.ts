/**
 * The workers' requests as the master adds them up from their heartbeats:
 * per worker and per generation since the start, and per generation second
 * by second over the last HISTORY_SECONDS, in a ring of fixed size, so that
 * `baton status` and /metrics read the last RECENT_SECONDS. Memory is fixed:
 * one ring per generation, and only the last GENERATIONS generations kept.
 */
import type { GenerationRequests, RecentRequests } from '../protocol/control.js';
import {
  CODES,
  type Code,
  LATENCY_BOUNDS_MS,
  type RequestCounts,
  UNANSWERED,
  addCounts,
  emptyCounts,
  quantileMs,
} from '../protocol/requests.js';

export const HISTORY_SECONDS = 300;
/** The span `baton status` reads its rates and latencies over. */
export const RECENT_SECONDS = 10;
/** Generations kept: the serving one, those still draining, and the last few before them. */
const GENERATIONS = 8;
/** Workers kept between two statuses (which forget those gone): a crash loop's pids, say, cannot grow it further. */
const WORKERS = 4096;
const BUCKETS = LATENCY_BOUNDS_MS.length + 1;
/** One second's counts in the ring: the codes, the buckets, the latencies' sum, the connections. */
const WIDTH = CODES.length + BUCKETS + 2;

/** One generation's counts: since its start, and its last HISTORY_SECONDS. */
class Series {
  readonly total = emptyCounts();
  private readonly ring = new Float64Array(HISTORY_SECONDS * WIDTH);
  /** Which second (since the epoch) each slot of the ring holds; -1: none yet. */
  private readonly second = new Float64Array(HISTORY_SECONDS).fill(-1);

  add(c: RequestCounts, second: number): void {
    addCounts(this.total, c);
    const slot = second % HISTORY_SECONDS;
    const at = slot * WIDTH;
    if (this.second[slot] !== second) {
      this.ring.fill(0, at, at + WIDTH);
      this.second[slot] = second;
    }
    const values = [...c.codes, ...c.buckets, c.sumMs, c.connections];
    for (let i = 0; i < WIDTH; i++) this.ring[at + i]! += values[i]!;
  }

  /** The counts of the `seconds` seconds up to and including `last`. */
  over(last: number, seconds: number): RequestCounts {
    const sum = emptyCounts();
    for (let s = last - seconds + 1; s <= last; s++) {
      const slot = s % HISTORY_SECONDS;
      if (this.second[slot] !== s) continue;
      const v = this.ring.subarray(slot * WIDTH, (slot + 1) * WIDTH);
      addCounts(sum, {
        codes: Array.from(v.subarray(0, CODES.length)),
        buckets: Array.from(v.subarray(CODES.length, CODES.length + BUCKETS)),
        sumMs: v[WIDTH - 2]!,
        connections: v[WIDTH - 1]!,
      });
    }
    return sum;
  }
}

export class RequestHistory {
  private readonly generations = new Map<number, Series>();
  private readonly workers = new Map<number, RequestCounts>();

  /** A worker's heartbeat said what its requests came to since its previous one. */
  add(pid: number, generation: number, counts: RequestCounts, now = Date.now()): void {
    let series = this.generations.get(generation);
    if (!series) {
      series = new Series();
      this.generations.set(generation, series);
      if (this.generations.size > GENERATIONS) this.generations.delete(Math.min(...this.generations.keys()));
    }
    series.add(counts, Math.floor(now / 1000));
    let worker = this.workers.get(pid);
    if (!worker) {
      this.workers.set(pid, (worker = emptyCounts()));
      // A Map iterates in insertion order: the first key is the longest known.
      if (this.workers.size > WORKERS) this.workers.delete(this.workers.keys().next().value!);
    }
    addCounts(worker, counts);
  }

  /** `generation`'s counts of the seconds `from` to `to` (since the epoch); undefined for a generation not kept. */
  between(generation: number, from: number, to: number): RequestCounts | undefined {
    return this.generations.get(generation)?.over(to, to - from + 1);
  }

  /** A worker's requests since its start, by what they came to; undefined before it reported any. */
  worker(pid: number): Record<Code, number> | undefined {
    const c = this.workers.get(pid);
    return c && byCode(c.codes);
  }

  /** Forgets the workers not in `pids` (those gone). */
  keepWorkers(pids: readonly number[]): void {
    const live = new Set(pids);
    for (const pid of this.workers.keys()) if (!live.has(pid)) this.workers.delete(pid);
  }

  /** Each generation's requests, the oldest first: since its start, and over the last RECENT_SECONDS. */
  status(now = Date.now()): GenerationRequests[] {
    // The second under way is still filling: the span is the RECENT_SECONDS before it.
    const last = Math.floor(now / 1000) - 1;
    return [...this.generations]
      .sort(([a], [b]) => a - b)
      .map(([generation, series]) => ({
        generation,
        total: { ...series.total, codes: byCode(series.total.codes) },
        recent: recent(series.over(last, RECENT_SECONDS)),
      }));
  }
}

function byCode(codes: readonly number[]): Record<Code, number> {
  return Object.fromEntries(CODES.map((code, i) => [code, codes[i]!])) as Record<Code, number>;
}

function recent(c: RequestCounts): RecentRequests {
  const requests = c.codes.reduce((n, x) => n + x, 0);
  const share = (n: number): number => (requests === 0 ? 0 : n / requests);
  return {
    seconds: RECENT_SECONDS,
    perSecond: requests / RECENT_SECONDS,
    share5xx: share(c.codes[CODES.indexOf('5xx')]!),
    shareUnanswered: share(c.codes[UNANSWERED]!),
    p50Ms: quantileMs(c.buckets, 0.5),
    p99Ms: quantileMs(c.buckets, 0.99),
  };
}
