/**
 * The master's timeline: every line it logs (a reload's phases, with who asked
 * for it; a worker's crash and its stderr; restarts, replacements, silences;
 * a stop; its start) kept as an event with a rising id, the last EVENTS of
 * them, for `baton events` and GET /api/events, whose clients resume after the
 * last id they saw. Fixed memory; a subscriber that throws is dropped.
 */
import type { LogEntry } from '../log.js';
import type { Timeline, TimelineEvent } from '../protocol/control.js';

export const EVENTS = 1000;

export class EventLog implements Timeline {
  private readonly ring: TimelineEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(e: TimelineEvent) => void>();

  add(entry: LogEntry): void {
    const e = { id: this.nextId++, ...entry };
    this.ring.push(e);
    if (this.ring.length > EVENTS) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        this.listeners.delete(l);
      }
    }
  }

  /** The events kept with an id above `id` (all of them for 0), oldest first. */
  after(id: number): TimelineEvent[] {
    const first = this.ring.findIndex((e) => e.id > id);
    return first < 0 ? [] : this.ring.slice(first);
  }

  /** Every event from now on, until the returned function is called. */
  subscribe(listener: (e: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
