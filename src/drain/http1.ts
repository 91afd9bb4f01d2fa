/**
 * HTTP/1.1 keep-alive drain: no idle connection is destroyed at the handover
 * (a client may have its next request on the wire, and the destroy becomes a
 * reset). Every later response carries `Connection: close` and ends its
 * connection; connections that stay idle past a grace are closed, like an
 * ordinary keep-alive timeout.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Tracked } from './track.js';

type WithResponse = net.Socket & { _httpMessage?: http.ServerResponse | null; parser?: unknown };

const closeIdle = http.Server.prototype.closeIdleConnections;

export function beginHttp1(t: Tracked): void {
  const server = t.server as http.Server;
  // http.Server#close() destroys idle connections at once through this method.
  // Code that closes a server baton is draining (Fastify closes its other
  // listeners when the first one closes) must not cause the resets this drain
  // avoids: the idle ones are closed after the grace, below.
  server.closeIdleConnections = () => {};
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.shouldKeepAlive = false;
  });
  for (const socket of t.httpSockets as Iterable<WithResponse>) {
    const res = socket._httpMessage;
    if (res && !res.headersSent) res.shouldKeepAlive = false;
  }
}

/** Connections still speaking HTTP/1 (an upgraded socket has given up its parser). */
export function openHttp1(t: Tracked): number {
  let n = 0;
  for (const socket of t.httpSockets as Iterable<WithResponse>) if (socket.parser) n++;
  return n;
}

export function closeIdleHttp1(t: Tracked): void {
  closeIdle.call(t.server as http.Server);
}
