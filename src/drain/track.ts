/**
 * Connection bookkeeping, attached when a server starts listening: draining
 * needs the open connections. An HTTP/1 server costs nothing per connection
 * (Node keeps the list; baton keeps only the upgraded ones), an HTTP/2 server
 * one Set entry per session and one SocketList entry per connection, a raw net
 * server one SocketList entry per connection. Keeping every HTTP/1 connection
 * in a list of baton's own cost 5 % of the requests per second with a new
 * connection per request; HTTP/2 connections are few and long.
 */
import type http from 'node:http';
import type net from 'node:net';
import type http2 from 'node:http2';
import { checkListening } from '../internals/check.js';
import { httpSockets } from '../internals/http.js';
import { SocketList } from './socket-list.js';
import { type CloseFrame, closeWebSocket, watchHandshake } from './websocket.js';

export type Protocol = 'http1' | 'http2' | 'net';

export interface Tracked {
  server: net.Server;
  protocol: Protocol;
  /**
   * The connections baton keeps itself: a net server's; the upgraded
   * (WebSocket, CONNECT) ones of an HTTP/1 server; an HTTP/2 server's TCP
   * connections, which its sessions only show through a proxy that may not be
   * destroyed.
   */
  own: SocketList;
  sessions: Set<http2.Http2Session>;
  /** Set as the drain starts when WebSockets are to be told to reconnect: one opened later is told at once. */
  webSocketClose?: CloseFrame;
}

const tracked = new WeakMap<net.Server, Tracked>();

/**
 * Told apart by their public methods, so that neither http2 nor https (with
 * tls and crypto) is loaded for a server that is neither: only HTTP/2 servers
 * have updateSettings(); of the others, only HTTP/1 ones (http, https) have
 * closeIdleConnections().
 */
export function protocolOf(server: net.Server): Protocol {
  const methods = server as unknown as Record<string, unknown>;
  if (typeof methods.updateSettings === 'function') return 'http2';
  if (typeof methods.closeIdleConnections === 'function') return 'http1';
  return 'net';
}

export function track(server: net.Server): Tracked {
  const known = tracked.get(server);
  if (known) return known;
  const t: Tracked = { server, protocol: protocolOf(server), own: new SocketList(), sessions: new Set() };
  tracked.set(server, t);
  if (t.protocol !== 'http1') server.on('connection', (socket: net.Socket) => t.own.add(socket));
  if (t.protocol === 'http1') for (const event of ['upgrade', 'connect']) followUpgrades(server, event, t);
  server.once('listening', () => checkListening(server, t.protocol === 'http1'));
  if (t.protocol === 'http2') {
    server.on('session', (session: http2.Http2Session) => {
      t.sessions.add(session);
      session.once('close', () => t.sessions.delete(session));
    });
  }
  return t;
}

/**
 * Node treats a request as an upgrade (or CONNECT) only while the app listens
 * for that event, so baton's listener joins the app's and leaves with it.
 */
function followUpgrades(server: net.Server, event: string, t: Tracked): void {
  const keep = (req: http.IncomingMessage, socket: net.Socket): void => {
    t.own.add(socket);
    watchHandshake(req, socket, () => t.webSocketClose && closeWebSocket(socket, t.webSocketClose));
  };
  const sync = (): void => {
    const listeners = server.listeners(event);
    const theirs = listeners.filter((l) => l !== keep).length;
    if (theirs > 0 && !listeners.includes(keep)) server.prependListener(event, keep);
    if (theirs === 0 && listeners.includes(keep)) server.off(event, keep);
  };
  // 'newListener' comes before the listener is added.
  server.on('newListener', (name) => name === event && process.nextTick(sync));
  server.on('removeListener', (name) => name === event && sync());
  sync();
}

/** The open connections baton can name; Node also counts ones it cannot, such as TLS handshakes under way. */
export function socketsOf(t: Tracked): net.Socket[] {
  if (t.protocol === 'http1') return [...httpSockets(t.server), ...t.own];
  return [...t.own];
}

export function trackedOf(server: net.Server): Tracked {
  return tracked.get(server) ?? track(server);
}
