/**
 * Each worker's last BEATS heartbeats as the master saw them: its RSS, event-loop delay, open connections and the
 * requests that ended in that beat. The admin page draws its sparklines from these (each worker's `history` in
 * status), so a page opened late shows the last minute at once, the same in every tab. Fixed memory: one ring of
 * BEATS per worker, dropped as that worker exits.
 */
import type { WorkerHistory } from '../protocol/control.js';
import type { HeartbeatMessage } from '../protocol/messages.js';
import { Ring } from '../ring.js';
import type { Worker } from './worker.js';

/** A minute at one heartbeat a second. */
export const BEATS = 60;

interface Beat {
  rssBytes: number | null;
  loopDelayMs: number;
  connections: number;
  /** Absent with counting off. */
  requests: number | undefined;
}

export class BeatHistory {
  private readonly workers = new Map<number, Ring<Beat>>();

  /** `w`'s heartbeat came: its RSS is read now (the heartbeat does not say it). */
  add(
    w: Pick<Worker, 'pid' | 'rssBytes' | 'exited'>,
    beat: Pick<HeartbeatMessage, 'delayMs' | 'connections' | 'requests'>,
  ): void {
    let ring = this.workers.get(w.pid);
    if (!ring) {
      this.workers.set(w.pid, (ring = new Ring<Beat>(BEATS)));
      void w.exited.then(() => this.workers.delete(w.pid));
    }
    const requests = beat.requests?.codes.reduce((n, c) => n + c, 0);
    ring.add(() => ({ rssBytes: w.rssBytes(), loopDelayMs: beat.delayMs, connections: beat.connections, requests }));
  }

  /** Worker `pid`'s series, oldest first; empty before its first heartbeat (a figure not known is left out). */
  of(pid: number): WorkerHistory {
    const beats = this.workers.get(pid)?.filter(() => true) ?? [];
    const known = (v: number | null | undefined): v is number => v !== null && v !== undefined;
    return {
      rssBytes: beats.map((b) => b.rssBytes).filter(known),
      loopDelayMs: beats.map((b) => b.loopDelayMs),
      connections: beats.map((b) => b.connections),
      requests: beats.map((b) => b.requests).filter(known),
    };
  }
}
