/**
 * The master's timeline: every line it logs (a reload's phases, with who asked
 * for it; a worker's crash and its stderr; restarts, replacements, silences;
 * a stop; its start) kept as an event with a rising id, the last EVENTS of
 * them, for `baton events` and GET /api/events, whose clients resume after the
 * last id they saw.
 */
import type { LogEntry } from '../log.js';
import type { Timeline, TimelineEvent } from '../protocol/control.js';
import { Ring } from '../ring.js';

export const EVENTS = 1000;

export class EventLog implements Timeline {
  private readonly ring = new Ring<TimelineEvent>(EVENTS);

  add(entry: LogEntry): void {
    this.ring.add((id) => ({ id, ...entry }));
  }

  /** The events kept with an id above `id` (all of them for 0), oldest first. */
  after(id: number): TimelineEvent[] {
    return this.ring.filter((e) => e.id > id);
  }

  subscribe(listener: (e: TimelineEvent) => void): () => void {
    return this.ring.subscribe(listener);
  }
}
