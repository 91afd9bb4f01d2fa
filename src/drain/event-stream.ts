/**
 * Server-Sent Events at the drain. An event stream is a response that never
 * ends: left alone, each one held the drain to its deadline and was then cut
 * (its client saw a reset, and every reload waited the whole drain timeout).
 * So as the drain starts each one is ended as any response ends, and its
 * connection closed behind it; an EventSource client reconnects by the
 * protocol's own retry, to the next generation, which now accepts.
 */
import type http from 'node:http';
import { httpSockets, responseHead, responseOf } from '../internals/http.js';
import type { Tracked } from './track.js';

const EVENT_STREAM = /^content-type:[ \t]*text\/event-stream/im;

/** Ends the event streams an HTTP/1 server is writing now. */
export function endEventStreams(t: Tracked): void {
  for (const socket of httpSockets(t.server)) {
    const res = responseOf(socket);
    if (!res || !isEventStream(res) || res.writableEnded) continue;
    // The app's next write (its timer, until it hears the close) must not throw in a draining process.
    res.on('error', () => {});
    res.once('finish', () => socket.end());
    res.end();
  }
}

function isEventStream(res: http.ServerResponse): boolean {
  return res.headersSent && EVENT_STREAM.test(responseHead(res));
}
