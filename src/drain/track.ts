/**
 * Connection bookkeeping, attached when a server starts listening: draining
 * needs to know which connections are open, and only the server sees them
 * arrive. The cost per connection is what SocketList.add() costs.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type http2 from 'node:http2';
import { SocketList } from './socket-list.js';

export type Protocol = 'http1' | 'http2' | 'net';

export interface Tracked {
  server: net.Server;
  protocol: Protocol;
  /** Every accepted TCP/unix connection. */
  connections: SocketList;
  /** The sockets HTTP/1 runs on: the TLS sockets of an https server, else the connections. */
  httpSockets: SocketList;
  sessions: Set<http2.Http2Session>;
}

const tracked = new WeakMap<net.Server, Tracked>();

export function protocolOf(server: net.Server): Protocol {
  if (server instanceof http.Server || server instanceof https.Server) return 'http1';
  const name = server.constructor?.name;
  if (name === 'Http2Server' || name === 'Http2SecureServer') return 'http2';
  return 'net';
}

export function track(server: net.Server): Tracked {
  const known = tracked.get(server);
  if (known) return known;
  const t: Tracked = {
    server,
    protocol: protocolOf(server),
    connections: new SocketList(),
    httpSockets: new SocketList(),
    sessions: new Set(),
  };
  tracked.set(server, t);
  server.on('connection', (socket: net.Socket) => t.connections.add(socket));
  if (server instanceof https.Server) {
    server.on('secureConnection', (socket: net.Socket) => t.httpSockets.add(socket));
  } else if (t.protocol === 'http1') {
    t.httpSockets = t.connections;
  }
  if (t.protocol === 'http2') {
    server.on('session', (session: http2.Http2Session) => {
      t.sessions.add(session);
      session.once('close', () => t.sessions.delete(session));
    });
  }
  return t;
}

export function trackedOf(server: net.Server): Tracked {
  return tracked.get(server) ?? track(server);
}
