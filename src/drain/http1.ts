/**
 * HTTP/1.1 keep-alive drain: no idle connection is destroyed at the handover
 * (a client may have its next request on the wire, and the destroy becomes a
 * reset). Every later response carries `Connection: close` and ends its
 * connection; connections that stay idle past a grace are closed, like an
 * ordinary keep-alive timeout.
 */
import http from 'node:http';
import type net from 'node:net';
import { httpSockets } from '../listeners/native.js';
import type { Tracked } from './track.js';

type WithResponse = net.Socket & { _httpMessage?: http.ServerResponse | null };

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
  for (const socket of httpSockets(server) as WithResponse[]) {
    const res = socket._httpMessage;
    if (res && !res.headersSent) res.shouldKeepAlive = false;
  }
}

/** Connections still speaking HTTP/1 (an upgraded socket has left Node's list). */
export function openHttp1(t: Tracked): number {
  return httpSockets(t.server).length;
}

export function closeIdleHttp1(t: Tracked): void {
  closeIdle.call(t.server as http.Server);
}
