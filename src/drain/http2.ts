/**
 * HTTP/2 drain: Http2Session#close() sends GOAWAY naming the last stream the
 * server took, lets those streams finish, then closes; the client opens any
 * further request on a new connection, which the next generation accepts.
 */
import type http2 from 'node:http2';
import type { Tracked } from './track.js';

export function beginHttp2(t: Tracked): void {
  for (const session of t.sessions) closeSession(session);
  t.server.on('session', closeSession);
}

function closeSession(session: http2.Http2Session): void {
  if (!session.closed && !session.destroyed) session.close();
}

export function openHttp2(t: Tracked): number {
  return t.sessions.size;
}
