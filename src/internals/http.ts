/**
 * What baton reads of Node's HTTP/1 server that Node does not publish: the
 * list of open connections it keeps for closeIdleConnections(), which of
 * them are between requests, and the response a connection is writing.
 * Without them the drain still works, more bluntly: keep-alive connections
 * end at the drain timeout.
 */
import type http from 'node:http';
import type net from 'node:net';
import { warnOnce } from './warn.js';

const CONNECTIONS = 'http.server.connections';

let kConnections: symbol | undefined;

type Connection = { socket?: net.Socket | null };
type ConnectionsList = { all(): Connection[]; idle?(): Connection[] };

/**
 * The sockets of an http or https server's open HTTP/1 connections (upgraded
 * ones leave it), from the list Node keeps once the server listens. Reading
 * Node's list at drain time spares every connection a bookkeeping step.
 */
export function httpSockets(server: net.Server): net.Socket[] {
  return (
    connections(server)
      ?.all()
      .flatMap((c) => (c.socket ? [c.socket] : [])) ?? []
  );
}

/**
 * The sockets of connections with nothing of a request read and no response
 * under way: never used (nothing read at all), or between requests (Node's
 * list marks a connection idle from a request's last byte to the next one's
 * first; a response still being written is ruled out apart).
 */
export function idleHttpSockets(server: net.Server): net.Socket[] {
  const list = connections(server);
  if (typeof list?.idle !== 'function') return [];
  const between = new Set(list.idle().map((c) => c.socket));
  return list
    .all()
    .flatMap((c) =>
      c.socket && (c.socket.bytesRead === 0 || between.has(c.socket)) && !responseOf(c.socket) ? [c.socket] : [],
    );
}

/** Checked when a server starts listening, the first moment Node's list exists. */
export function checkHttpConnections(server: net.Server): void {
  const list = connections(server);
  if (!list) {
    warnOnce(
      CONNECTIONS,
      `this Node.js has no '${CONNECTIONS}' list: HTTP/1 keep-alive connections will not be told to close and end at the drain timeout`,
    );
  } else if (typeof list.idle !== 'function') {
    warnOnce(
      `${CONNECTIONS}.idle`,
      `this Node.js's '${CONNECTIONS}' list has no idle(): idle HTTP/1 connections are not handed to the new generation, and end at the drain timeout`,
    );
  }
}

function connections(server: net.Server): ConnectionsList | undefined {
  kConnections ??= Object.getOwnPropertySymbols(server).find((s) => s.description === CONNECTIONS);
  const list = kConnections && (server as unknown as Record<symbol, ConnectionsList | undefined>)[kConnections];
  return typeof list?.all === 'function' ? list : undefined;
}

/**
 * The head a response has sent (Node's res._header): writeHead() with a plain
 * object sends its headers without keeping them, so getHeader() cannot tell.
 */
export function responseHead(res: http.ServerResponse): string {
  const head = (res as http.ServerResponse & { _header?: unknown })._header;
  return typeof head === 'string' ? head : '';
}

/** The response a connection is writing now (Node's socket._httpMessage), if any. */
export function responseOf(socket: net.Socket): http.ServerResponse | undefined {
  const res = (socket as net.Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  return res ?? undefined;
}
