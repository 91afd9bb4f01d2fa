/**
 * What baton reads of Node's HTTP/1 server that Node does not publish: the
 * list of open connections it keeps for closeIdleConnections(), and the
 * response a connection is writing. Without them the drain still works, more
 * bluntly: keep-alive connections end at the drain timeout.
 */
import type http from 'node:http';
import type net from 'node:net';
import { warnOnce } from './warn.js';

const CONNECTIONS = 'http.server.connections';

let kConnections: symbol | undefined;

type ConnectionsList = { all(): { socket?: net.Socket | null }[] };

/**
 * The sockets of an http or https server's open HTTP/1 connections (upgraded
 * ones leave it), from the list Node keeps once the server listens. Reading
 * Node's list at drain time spares every connection a bookkeeping step.
 */
export function httpSockets(server: net.Server): net.Socket[] {
  return connections(server)?.all().flatMap((c) => (c.socket ? [c.socket] : [])) ?? [];
}

/** Checked when a server starts listening, the first moment Node's list exists. */
export function checkHttpConnections(server: net.Server): void {
  if (!connections(server)) {
    warnOnce(CONNECTIONS, `this Node.js has no '${CONNECTIONS}' list: HTTP/1 keep-alive connections will not be told to close and end at the drain timeout`);
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
