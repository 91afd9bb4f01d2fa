/**
 * Connection bookkeeping, attached when a server starts listening: draining
 * needs to know which connections are open, and only the server sees them
 * arrive. The cost is one Set insert and one 'close' listener per connection.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type http2 from 'node:http2';

export type Protocol = 'http1' | 'http2' | 'net';

export interface Tracked {
  server: net.Server;
  protocol: Protocol;
  /** Every accepted TCP/unix connection. */
  connections: Set<net.Socket>;
  /** The sockets HTTP/1 runs on: the TLS sockets of an https server, else the connections. */
  httpSockets: Set<net.Socket>;
  sessions: Set<http2.Http2Session>;
}

const tracked = new WeakMap<net.Server, Tracked>();

export function protocolOf(server: net.Server): Protocol {
  if (server instanceof http.Server || server instanceof https.Server) return 'http1';
  const name = server.constructor?.name;
  if (name === 'Http2Server' || name === 'Http2SecureServer') return 'http2';
  return 'net';
}

function addUntilClose(set: Set<net.Socket>, socket: net.Socket): void {
  set.add(socket);
  socket.once('close', () => set.delete(socket));
}

export function track(server: net.Server): Tracked {
  const known = tracked.get(server);
  if (known) return known;
  const t: Tracked = {
    server,
    protocol: protocolOf(server),
    connections: new Set(),
    httpSockets: new Set(),
    sessions: new Set(),
  };
  tracked.set(server, t);
  server.on('connection', (socket: net.Socket) => addUntilClose(t.connections, socket));
  if (server instanceof https.Server) {
    server.on('secureConnection', (socket: net.Socket) => addUntilClose(t.httpSockets, socket));
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
