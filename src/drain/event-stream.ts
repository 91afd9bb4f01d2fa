/**
 * Server-Sent Events at the drain. An event stream is a response that never
 * ends: left alone, each one held the drain to its deadline and was then cut
 * (its client saw a reset, and every reload waited the whole drain timeout).
 * So as the drain starts each one is ended as any response ends, and its
 * connection closed behind it; an EventSource client reconnects by the
 * protocol's own retry, to the next generation, which now accepts. One that a
 * kept-alive connection opens during the drain is ended once it has begun.
 */
import type http from 'node:http';
import type net from 'node:net';
import { httpSockets, responseHead, responseOf } from '../internals/http.js';
import type { Tracked } from './track.js';

const EVENT_STREAM = /^content-type:[ \t]*text\/event-stream/im;

/** Ends the event streams an HTTP/1 server is writing now, and those it begins from now on. */
export function endEventStreams(t: Tracked): void {
  for (const socket of httpSockets(t.server)) {
    const res = responseOf(socket);
    if (res && isEventStream(res)) end(res, socket);
  }
  t.server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      const r = (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
      // After the app's first write: the client has the stream's start, then its end.
      if (isEventStream(this)) setImmediate(() => end(this, req.socket));
      return r;
    } as typeof res.writeHead;
  });
}

function end(res: http.ServerResponse, socket: net.Socket): void {
  if (res.writableEnded) return;
  // The app's next write (its timer, until it hears the close) must not throw in a draining process.
  res.on('error', () => {});
  res.once('finish', () => socket.end());
  res.end();
}

function isEventStream(res: http.ServerResponse): boolean {
  return res.headersSent && EVENT_STREAM.test(responseHead(res));
}
