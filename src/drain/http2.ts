/**
 * HTTP/2 drain, the two-step GOAWAY of RFC 9113 §6.8: first a GOAWAY naming
 * the largest stream id (no stream the client already sent is refused), then,
 * once a PING has made the round trip (so every stream the client sent before it
 * saw the GOAWAY has arrived), Http2Session#close(), which sends the final
 * GOAWAY, lets open streams finish and closes. The client opens later requests
 * on a new connection, which the next generation accepts.
 */
import http2 from 'node:http2';
import type { Tracked } from './track.js';

const MAX_STREAM_ID = 2 ** 31 - 1;
/** Bound on the PING round trip, for a client that never answers. */
const PING_TIMEOUT_MS = 1000;

export function beginHttp2(t: Tracked): void {
  for (const session of t.sessions) closeSession(session);
  t.server.on('session', closeSession);
}

function closeSession(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  let closed = false;
  const close = (): void => {
    if (closed || session.closed || session.destroyed) return;
    closed = true;
    clearTimeout(timer);
    session.close();
  };
  const timer = setTimeout(close, PING_TIMEOUT_MS);
  session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
  if (!session.ping(close)) close();
}

export function openHttp2(t: Tracked): number {
  return t.sessions.size;
}
