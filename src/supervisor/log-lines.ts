/**
 * With --log-file, the last lines of the file kept in memory, for `baton logs`
 * and GET /api/logs: at most LOG_LINES of them and LOG_BYTES of their text,
 * the oldest dropped first; each with a rising seq, by which a reader resumes.
 * Without --log-file there is none.
 */
import { type LogLine, type LogQuery, type LogSource, wanted } from '../protocol/logs.js';
import { Ring } from '../ring.js';

export const LOG_LINES = 1000;
export const LOG_BYTES = 1024 * 1024;
/** What a line costs beyond its text (the object, its numbers), so that a flood of empty lines is bounded too. */
const LINE_OVERHEAD = 64;

export class LogLines implements LogSource {
  private readonly ring = new Ring<LogLine>(LOG_LINES, (l) => LINE_OVERHEAD + Buffer.byteLength(l.line), LOG_BYTES);

  /** Keeps `line`, numbered, and tells the subscribers. */
  add(line: Omit<LogLine, 'seq'>): LogLine {
    return this.ring.add((seq) => ({ seq, ...line }));
  }

  lines(query: LogQuery): LogLine[] {
    const found = this.ring.filter((l) => wanted(l, query));
    return query.limit === undefined ? found : found.slice(Math.max(0, found.length - query.limit));
  }

  subscribe(listener: (line: LogLine) => void): () => void {
    return this.ring.subscribe(listener);
  }
}
