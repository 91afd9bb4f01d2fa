/**
 * HTTP/1.1 keep-alive drain: no idle connection is destroyed at the handover
 * (a client may have its next request on the wire, and the destroy becomes a
 * reset). Every later response carries `Connection: close` and ends its
 * connection; at an upgrade idle connections move to the new generation
 * (handoff.ts), and at a stop those that stay idle past a grace are closed,
 * like an ordinary keep-alive timeout. While a canary runs, the same header
 * ends a share of the responses (closeShare), so that keep-alive clients
 * reconnect, and reach the canary.
 */
import type http from 'node:http';
import type net from 'node:net';
import { httpSockets, responseOf } from '../internals/http.js';
import { holdIdleClose } from '../internals/patches.js';
import { type Tracked, trackedOf } from './track.js';

/** Starts the drain; returns what closes the connections idle now. */
export function beginHttp1(t: Tracked): () => void {
  const server = t.server as http.Server;
  const closeIdle = holdIdleClose(server);
  closeAfterResponses(server, 1);
  for (const socket of httpSockets(server)) {
    const res = responseOf(socket);
    if (res && !res.headersSent) res.shouldKeepAlive = false;
  }
  return closeIdle;
}

/**
 * From now on, about `share` (0 to 1) of `server`'s responses carry `Connection: close` and end their connection;
 * returns what stops it. Nothing is added to a response's path until it is called.
 */
export function closeAfterResponses(server: http.Server, share: number): () => void {
  const close =
    share >= 1
      ? (_req: http.IncomingMessage, res: http.ServerResponse) => {
          res.shouldKeepAlive = false;
        }
      : (_req: http.IncomingMessage, res: http.ServerResponse) => {
          if (Math.random() < share) res.shouldKeepAlive = false;
        };
  server.prependListener('request', close);
  return () => server.off('request', close);
}

/** A process's share of responses that end their connection: each call sets it anew on its HTTP/1 servers (0: none). */
export function closeShare(servers: () => readonly net.Server[]): (share: number) => void {
  let stops: (() => void)[] = [];
  return (share) => {
    for (const stop of stops) stop();
    const http1 =
      share === 0
        ? []
        : servers()
            .map(trackedOf)
            .filter((t) => t.protocol === 'http1');
    stops = http1.map((t) => closeAfterResponses(t.server as http.Server, share));
  };
}

/** Connections still speaking HTTP/1 (an upgraded socket has left Node's list). */
export function openHttp1(t: Tracked): number {
  return httpSockets(t.server).length;
}
