/**
 * The lines a master run with --log-file keeps in memory (supervisor/log-lines.ts), as `baton logs`, GET /api/logs
 * and the admin page's log panel read them.
 */

/** One line of the log file, with a rising `seq`: a worker's stdout or stderr, or the master's own. */
export interface LogLine {
  seq: number;
  /** When the master read it, in ms since the epoch. */
  time: number;
  /** The worker's; null for the master's own lines. */
  pid: number | null;
  generation: number | null;
  stream: 'stdout' | 'stderr' | 'master';
  /** The text, without its newline; a worker's as it wrote it, the master's as `LEVEL: TEXT k=v …`. */
  line: string;
}

/** Which of the kept lines a reader asks for. */
export interface LogQuery {
  /** Those with a seq above this (0: from the oldest kept). */
  after?: number;
  /** Only this worker's. */
  worker?: number;
  /** At most this many, the newest of them. */
  limit?: number;
}

/** The kept lines, as the control socket and the admin API read them. */
export interface LogSource {
  /** Oldest first. */
  lines(query: LogQuery): LogLine[];
  subscribe(listener: (line: LogLine) => void): () => void;
}

/**
 * A follower (`baton logs -f`, the API's stream) this far behind is cut off: the master does not hold its backlog.
 * Well above the lines kept (LOG_BYTES of text, and their JSON), so that a reader is never cut for what it was sent
 * first.
 */
export const FOLLOW_BACKLOG_BYTES = 4 * 1024 * 1024;

/** The answer to asking a master run without --log-file for its lines. */
export const NO_LOGS = 'this master keeps no log lines (start baton run with --log-file PATH to keep them)';

/** Whether `line` is one `query` asks for, but for its limit. */
export function wanted(line: LogLine, { after = 0, worker }: LogQuery): boolean {
  return line.seq > after && (worker === undefined || line.pid === worker);
}

/** As the log file has it: `TIME stdout[PID] gen=G TEXT`, and the master's own `TIME baton gen=G LEVEL: TEXT`. */
export function logLineText(l: LogLine): string {
  const at = new Date(l.time).toISOString();
  return l.stream === 'master'
    ? `${at} baton gen=${l.generation} ${l.line}`
    : `${at} ${l.stream}[${l.pid}] gen=${l.generation} ${l.line}`;
}
