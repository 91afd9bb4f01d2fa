/**
 * With --log-file, the last lines of the file kept in memory, for `baton logs`
 * and GET /api/logs: at most LOG_LINES of them and LOG_BYTES of their text,
 * the oldest dropped first; each with a rising seq, by which a reader resumes.
 * A subscriber that throws is dropped. Without --log-file there is none.
 */
import { type LogLine, type LogQuery, type LogSource, wanted } from '../protocol/logs.js';

export const LOG_LINES = 1000;
export const LOG_BYTES = 1024 * 1024;
/** What a line costs beyond its text (the object, its numbers), so that a flood of empty lines is bounded too. */
const LINE_OVERHEAD = 64;

export class LogLines implements LogSource {
  private readonly ring: LogLine[] = [];
  private bytes = 0;
  private nextSeq = 1;
  private readonly listeners = new Set<(line: LogLine) => void>();

  /** Keeps `line`, numbered, and tells the subscribers. */
  add(line: Omit<LogLine, 'seq'>): LogLine {
    const l = { seq: this.nextSeq++, ...line };
    this.ring.push(l);
    this.bytes += cost(l);
    while (this.ring.length > LOG_LINES || this.bytes > LOG_BYTES) this.bytes -= cost(this.ring.shift()!);
    for (const listener of this.listeners) {
      try {
        listener(l);
      } catch {
        this.listeners.delete(listener);
      }
    }
    return l;
  }

  lines(query: LogQuery): LogLine[] {
    const found = this.ring.filter((l) => wanted(l, query));
    return query.limit === undefined ? found : found.slice(Math.max(0, found.length - query.limit));
  }

  subscribe(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function cost(l: LogLine): number {
  return LINE_OVERHEAD + Buffer.byteLength(l.line);
}
