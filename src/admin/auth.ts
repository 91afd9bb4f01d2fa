/**
 * Who may use the admin API: the bearer token, compared in constant time, and
 * a limit on failed attempts per client address, so that guessing the token
 * over the network is slow. The table of addresses is capped: its memory is
 * bounded whatever the number of addresses that fail.
 */
import crypto from 'node:crypto';

/** Failed attempts an address may make within FAILURE_WINDOW_MS; the next ones are answered 429. */
export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 60_000;
/** Addresses remembered at once; past it the one that failed longest ago is forgotten. */
const MAX_ADDRESSES = 4096;

/** Digests have one length whatever the token's, so timingSafeEqual compares them without telling the length. */
const digest = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

export class Guard {
  private readonly expected: Buffer;
  /** Per address, the times of its failures within the window, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    token: string,
    private readonly now: () => number = Date.now,
  ) {
    this.expected = digest(token);
  }

  /** The header's bearer token is the token. */
  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    return m !== null && crypto.timingSafeEqual(digest(m[1]!), this.expected);
  }

  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfter(address: string): number {
    const times = this.recent(address);
    if (times.length < MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((times[0]! + FAILURE_WINDOW_MS - this.now()) / 1000));
  }

  failed(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    // Re-inserted, so the map's order is by latest failure and the first entry is the one to forget.
    this.failures.delete(address);
    this.failures.set(address, times.slice(-MAX_FAILURES));
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string): number[] {
    const since = this.now() - FAILURE_WINDOW_MS;
    const times = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}
