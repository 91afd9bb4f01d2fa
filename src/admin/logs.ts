/**
 * GET /api/logs: with --log-file, the last lines the master keeps
 * (protocol/logs.ts), as `{ "enabled": true, "lines": [...] }`, oldest first:
 * those after ?after=SEQ, of ?worker=PID only, the newest ?limit=N of them;
 * without --log-file `{ "enabled": false, "lines": [] }`. Asked with Accept:
 * text/event-stream, the same lines and then each as it comes, as Server-Sent
 * Events whose id is the seq, so that an EventSource resumes after
 * Last-Event-ID by itself; a client that falls FOLLOW_BACKLOG_BYTES behind is
 * cut off, and resumes likewise.
 */
import type http from 'node:http';
import {
  FOLLOW_BACKLOG_BYTES,
  type LogLine,
  type LogQuery,
  type LogSource,
  NO_LOGS,
  wanted,
} from '../protocol/logs.js';

type Answer = (status: number, value: unknown) => void;

export function serveLogs(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  source: LogSource | undefined,
  answer: Answer,
): void {
  const stream = (req.headers.accept ?? '').includes('text/event-stream');
  const query = queryOf(req);
  if (typeof query === 'string') answer(400, { error: query });
  else if (!stream) answer(200, { enabled: source !== undefined, lines: source?.lines(query) ?? [] });
  else if (!source) answer(404, { error: NO_LOGS });
  else follow(res, source, query);
}

/** The lines `query` asks for, then each new one, as Server-Sent Events until the client leaves or falls behind. */
function follow(res: http.ServerResponse, source: LogSource, query: LogQuery): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  const send = (l: LogLine): void => {
    if (res.destroyed) return;
    if (res.writableLength > FOLLOW_BACKLOG_BYTES) res.destroy();
    else res.write(`id: ${l.seq}\nevent: log\ndata: ${JSON.stringify(l)}\n\n`);
  };
  for (const l of source.lines(query)) send(l);
  res.on(
    'close',
    source.subscribe((l) => wanted(l, query) && send(l)),
  );
}

/** ?after, ?worker and ?limit (Last-Event-ID stands for ?after), or the one-line error naming the bad one. */
function queryOf(req: http.IncomingMessage): LogQuery | string {
  const params = new URL(req.url ?? '/', 'http://admin').searchParams;
  const resumed = req.headers['last-event-id'];
  const given = {
    after: typeof resumed === 'string' ? resumed : params.get('after'),
    worker: params.get('worker'),
    limit: params.get('limit'),
  };
  const query: LogQuery = {};
  for (const [key, text] of Object.entries(given) as [keyof LogQuery, string | null][]) {
    if (text === null) continue;
    const min = key === 'after' ? 0 : 1;
    if (!/^\d{1,15}$/.test(text) || Number(text) < min)
      return `${key}=${text.slice(0, 40)}: ${key} is a whole number${min ? ' from 1' : ''} (${key === 'worker' ? "a worker's pid" : key === 'after' ? 'the last seq seen' : 'how many lines, the newest'})`;
    query[key] = Number(text);
  }
  return query;
}
