/**
 * HTTP/2 drain, the two-step GOAWAY of RFC 9113 §6.8: first a GOAWAY naming
 * the largest stream id (no stream the client already sent is refused), then,
 * once a PING has made the round trip (so every stream the client sent before it
 * saw the GOAWAY has arrived), Http2Session#close(), which sends the final
 * GOAWAY, lets open streams finish and closes. The client opens later requests
 * on a new connection, which the next generation accepts.
 */
import type http2 from 'node:http2';
import type { Tracked } from './track.js';

const MAX_STREAM_ID = 2 ** 31 - 1;
/** RFC 9113 §7 (http2.constants.NGHTTP2_NO_ERROR), spelled here so that http2 is loaded only by apps that use it. */
const NO_ERROR = 0;
/** Bound on the PING round trip, for a client that never answers. */
const PING_TIMEOUT_MS = 1000;
/** How long a connection that has carried no request yet may take to send its first. */
const FIRST_STREAM_MS = 1000;

export function beginHttp2(t: Tracked): void {
  for (const session of t.sessions) closeAfterFirstStream(session);
  t.server.on('session', closeAfterFirstStream);
}

/**
 * A connection accepted as the listener closed has usually not sent its first
 * request yet. Its client, with no GOAWAY in view, sends it anyway, and a
 * GOAWAY that reached it first would have its own stack refuse the request
 * (REFUSED_STREAM, to be retried elsewhere). So such a connection has its first
 * requests served, as HTTP/1 answers the first request on a connection with
 * `Connection: close`; one that has carried requests before hears GOAWAY at once.
 */
function closeAfterFirstStream(session: http2.Http2Session): void {
  if ((session.state.lastProcStreamID ?? 0) > 0) {
    closeSession(session);
    return;
  }
  const go = (): void => {
    clearTimeout(timer);
    session.off('stream', go);
    closeSession(session);
  };
  const timer = setTimeout(go, FIRST_STREAM_MS);
  session.once('stream', go);
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
  session.goaway(NO_ERROR, MAX_STREAM_ID);
  if (!session.ping(close)) close();
}

export function openHttp2(t: Tracked): number {
  return t.sessions.size;
}
