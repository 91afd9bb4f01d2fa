/**
 * What a worker counts of its requests, as it travels with its heartbeat
 * (the counts since the previous beat) and as the master adds it up: answers
 * by status class, requests that ended without an answer, the answers'
 * latency in fixed buckets, and the connections of raw net servers. The
 * buckets are fixed here, once, so both sides and /metrics agree on them.
 */

/** What a request came to: its answer's status class, or none (aborted, reset, timed out). */
export const CODES = ['2xx', '3xx', '4xx', '5xx', 'unanswered'] as const;
export type Code = (typeof CODES)[number];
export const UNANSWERED = CODES.indexOf('unanswered');

/** Upper bounds of the latency buckets, in ms (Prometheus' default buckets); one more bucket holds the rest. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

export interface RequestCounts {
  /** Requests by what they came to, in the order of CODES. */
  codes: number[];
  /** Answers per latency bucket, not cumulative: one per bound, then those above the last. */
  buckets: number[];
  /** The answers' latencies added up, in ms. */
  sumMs: number;
  /** Connections accepted by servers that are not HTTP. */
  connections: number;
}

export function emptyCounts(): RequestCounts {
  return { codes: CODES.map(() => 0), buckets: [...LATENCY_BOUNDS_MS, 0].map(() => 0), sumMs: 0, connections: 0 };
}

/** Adds `delta` into `into`. */
export function addCounts(into: RequestCounts, delta: RequestCounts): void {
  for (let i = 0; i < into.codes.length; i++) into.codes[i]! += delta.codes[i]!;
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += delta.buckets[i]!;
  into.sumMs += delta.sumMs;
  into.connections += delta.connections;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isCounts = (v: unknown, length: number): v is number[] =>
  Array.isArray(v) && v.length === length && v.every(isCount);

/** A RequestCounts from the other side, checked; undefined when it is not one. */
export function requestCountsOf(v: unknown): RequestCounts | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as Record<string, unknown>;
  if (!isCounts(c.codes, CODES.length) || !isCounts(c.buckets, LATENCY_BOUNDS_MS.length + 1)) return undefined;
  if (typeof c.sumMs !== 'number' || !Number.isFinite(c.sumMs) || c.sumMs < 0 || !isCount(c.connections))
    return undefined;
  return { codes: [...c.codes], buckets: [...c.buckets], sumMs: c.sumMs, connections: c.connections };
}

/**
 * The latency under which a share `q` of the answers came, read from the
 * buckets as Prometheus' histogram_quantile() does (linear within a bucket;
 * the last bound when it lies above it); null without answers.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((n, c) => n + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    const count = buckets[i]!;
    if (below + count >= rank && count > 0) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      return lower + (LATENCY_BOUNDS_MS[i]! - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
