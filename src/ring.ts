/**
 * A follower (`baton events -f`, `baton logs -f`, the admin API's streams) this far behind is cut off: the master does
 * not hold its backlog. Well above what a ring keeps (LOG_BYTES of text, and their JSON), so that a reader is never cut
 * for what it was sent first.
 */
export const FOLLOW_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * What the master keeps of a stream for readers that come and go (its
 * timeline, the last lines of its log file): entries numbered as they come,
 * the last `maxCount` of them and at most `maxCost` by their `cost`, the
 * oldest dropped first, and subscribers told of each new one. A subscriber
 * that throws is dropped. Fixed memory, whatever the stream's rate.
 */
export class Ring<T> {
  private readonly kept: T[] = [];
  private spent = 0;
  private next = 1;
  private readonly listeners = new Set<(entry: T) => void>();

  constructor(
    private readonly maxCount: number,
    private readonly cost: (entry: T) => number = () => 0,
    private readonly maxCost = Number.POSITIVE_INFINITY,
  ) {}

  /** Keeps the entry `make` builds around its number, and tells the subscribers. */
  add(make: (n: number) => T): T {
    const entry = make(this.next++);
    this.kept.push(entry);
    this.spent += this.cost(entry);
    while (this.kept.length > this.maxCount || this.spent > this.maxCost) this.spent -= this.cost(this.kept.shift()!);
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch {
        this.listeners.delete(listener);
      }
    }
    return entry;
  }

  /** Those kept that `keep` wants, oldest first. */
  filter(keep: (entry: T) => boolean): T[] {
    return this.kept.filter(keep);
  }

  /** Every entry from now on, until the returned function is called. */
  subscribe(listener: (entry: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
