/**
 * GET /api/logs: with --log-file, the last lines the master keeps
 * (protocol/logs.ts), as `{ "enabled": true, "lines": [...] }`, oldest first:
 * those after ?after=SEQ, of ?worker=PID only, the newest ?limit=N of them;
 * without --log-file `{ "enabled": false, "lines": [] }`. Asked with Accept:
 * text/event-stream, the same lines and then each as it comes, as Server-Sent
 * Events whose id is the seq (sse.ts).
 */
import type http from 'node:http';
import { type LogQuery, type LogSource, NO_LOGS, wanted } from '../protocol/logs.js';
import { followAsEvents } from './sse.js';

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
  else {
    const subscribe = source.subscribe.bind(source);
    followAsEvents(res, {
      event: 'log',
      id: (l) => l.seq,
      kept: source.lines(query),
      subscribe,
      wanted: (l) => wanted(l, query),
    });
  }
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
