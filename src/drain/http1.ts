/**
 * HTTP/1.1 keep-alive drain: no idle connection is destroyed at the handover
 * (a client may have its next request on the wire, and the destroy becomes a
 * reset). Every later response carries `Connection: close` and ends its
 * connection; at an upgrade idle connections move to the new generation
 * (handoff.ts), and at a stop those that stay idle past a grace are closed,
 * like an ordinary keep-alive timeout.
 */
import type http from 'node:http';
import { httpSockets, responseOf } from '../internals/http.js';
import { holdIdleClose } from '../internals/patches.js';
import type { Tracked } from './track.js';

/** Starts the drain; returns what closes the connections idle now. */
export function beginHttp1(t: Tracked): () => void {
  const server = t.server as http.Server;
  const closeIdle = holdIdleClose(server);
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.shouldKeepAlive = false;
  });
  for (const socket of httpSockets(server)) {
    const res = responseOf(socket);
    if (res && !res.headersSent) res.shouldKeepAlive = false;
  }
  return closeIdle;
}

/** Connections still speaking HTTP/1 (an upgraded socket has left Node's list). */
export function openHttp1(t: Tracked): number {
  return httpSockets(t.server).length;
}
