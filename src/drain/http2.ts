/**
 * HTTP/2 drain, the two-step GOAWAY of RFC 9113 §6.8: first a GOAWAY naming
 * the largest stream id, which tells the client at once to open no more
 * streams here, then, once a PING has made the round trip,
 * Http2Session#close(), which sends the final GOAWAY, lets open streams finish
 * and closes. The client opens later requests on a new connection, which the
 * next generation accepts.
 *
 * nghttp2 ignores a stream that arrives once any GOAWAY is out, whatever stream
 * id that GOAWAY names (Node exposes no shutdown notice): a request that crossed
 * the first GOAWAY on the wire never reaches the app, and the final GOAWAY's last
 * stream id, the last processed, tells the client so; it sends the request
 * again on a new connection, as browsers, Go and grpc-js do (tested in
 * test/unit/drain.test.mjs).
 *
 * Node's HTTP/2 (nghttp2) stops reading a session that has sent a GOAWAY and
 * has no stream open: the PING ack, and the requests the client sent before it
 * saw the GOAWAY, would never be read, and the final GOAWAY would exclude them
 * (the client must send them again: measured, 10 a connection at each reload
 * under load). So the first GOAWAY goes out with a stream open that stays open
 * until the PING is back: the streams open at that moment whose app has not
 * ended them yet, or else the session's next one, their end (END_STREAM, or
 * the trailers) held for that one round trip. A session that opens no stream
 * within IDLE_MS is idle: it gets the final GOAWAY at once, as an idle HTTP/1
 * connection is closed.
 */
import type http2 from 'node:http2';
import { holdStreamEnd, openStreams } from '../internals/http2.js';
import type { Tracked } from './track.js';

const MAX_STREAM_ID = 2 ** 31 - 1;
/** RFC 9113 §7 (http2.constants.NGHTTP2_NO_ERROR), spelled here so that http2 is loaded only by apps that use it. */
const NO_ERROR = 0;
/** Bound on the PING round trip, for a client that never answers. */
const PING_TIMEOUT_MS = 1000;
/** How long a session may go without a new stream before it counts as idle. */
const IDLE_MS = 1000;

export function beginHttp2(t: Tracked): void {
  for (const session of t.sessions) closeSession(session);
  t.server.on('session', closeSession);
}

function closeSession(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  const open = openStreams(session);
  // A stream whose app has called end() may have sent its END_STREAM already: it cannot keep the session readable.
  const holdable = open?.filter((s) => !s.destroyed && !s.writableEnded);
  if (holdable === undefined || holdable.length > 0) {
    twoStepGoaway(session, holdable ?? []);
    return;
  }
  const idle = setTimeout(() => {
    session.off('stream', begin);
    closeNow(session);
  }, IDLE_MS);
  // Before the app's own listener, which may end the stream at once.
  const begin = (stream: http2.ServerHttp2Stream): void => {
    clearTimeout(idle);
    twoStepGoaway(session, [stream]);
  };
  session.prependOnceListener('stream', begin);
}

function twoStepGoaway(session: http2.Http2Session, open: http2.Http2Stream[]): void {
  const releases = open.map(holdStreamEnd);
  let done = false;
  const close = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const release of releases) release();
    closeNow(session);
  };
  const timer = setTimeout(close, PING_TIMEOUT_MS);
  session.goaway(NO_ERROR, MAX_STREAM_ID);
  if (!session.ping(close)) close();
}

function closeNow(session: http2.Http2Session): void {
  if (!session.closed && !session.destroyed) session.close();
}

export function openHttp2(t: Tracked): number {
  return t.sessions.size;
}
