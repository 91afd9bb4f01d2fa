/**
 * The drain of one generation, in order, all bounded by one deadline:
 *   1. stop accepting, and stop reading datagrams (the sockets live on in the
 *      next generation, which reads what they queue);
 *   2. hand idle HTTP/1 connections to the new generation (an upgrade), let
 *      HTTP/1 and HTTP/2 traffic finish (Connection: close, GOAWAY), tell
 *      WebSocket and Server-Sent Events clients to reconnect, and run the
 *      drain hooks, which end what only the app knows how to end early (gRPC
 *      streams); the app's own server.close() waits for the drain's end;
 *   3. then run the shutdown hooks, handing them what is left: upgraded and
 *      raw connections;
 *   4. wait for those until the deadline, then cut what remains.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { stopReceiving } from '../internals/dgram.js';
import { until } from '../time.js';
import { httpSockets, responseOf } from '../internals/http.js';
import { stopAccepting } from './accept.js';
import { holdClose } from './close.js';
import { endEventStreams } from './event-stream.js';
import { beginHttp1, openHttp1 } from './http1.js';
import { beginHttp2, openHttp2 } from './http2.js';
import { type HandOver, handOverIdle } from './handoff.js';
import { socketsOf, trackedOf } from './track.js';
import { type CloseFrame, closeWebSocket } from './websocket.js';

export interface DrainOptions {
  /** When what is still open is destroyed (ms since the epoch). */
  deadline: number;
  /** Bound dgram sockets: they stop reading, and stay open for the app's replies until the process exits. */
  datagramSockets?: readonly dgram.Socket[];
  /** How long an HTTP/1 keep-alive connection may sit idle in a stop before it is closed. */
  idleGraceMs?: number;
  /**
   * At an upgrade: where idle HTTP/1 connections move; those that cannot are
   * never closed idle, only at the deadline. Without it (a stop) they are
   * closed after the idle grace.
   */
  handOver?: HandOver;
  /** Called once this process has stopped accepting. */
  stopped?: () => void;
  /** What WebSocket clients are told as the drain starts; none: they are left to the hooks. */
  webSocketClose?: CloseFrame;
  /** End Server-Sent Events responses as the drain starts, so that their clients reconnect. */
  endEventStreams?: boolean;
  /** Started with the drain; the shutdown hooks wait for them. */
  runDrainHooks?: () => Promise<void>;
  runHooks: (connections: net.Socket[]) => Promise<void>;
}

export interface DrainResult {
  /** Connections still open at the deadline, destroyed. */
  destroyed: number;
  /** Idle connections handed to the new generation. */
  handedOver: number;
  durationMs: number;
}

export function openConnections(servers: readonly net.Server[]): number {
  return servers.reduce((n, s) => n + socketsOf(trackedOf(s)).length, 0);
}

/**
 * What an exit now would lose: HTTP/1 responses under way, and every
 * connection baton keeps itself (upgraded, raw, HTTP/2).
 */
export function inFlight(servers: readonly net.Server[]): number {
  return servers.map(trackedOf).reduce((n, t) => {
    const answering = t.protocol === 'http1' ? httpSockets(t.server).filter((s) => responseOf(s)).length : 0;
    return n + answering + [...t.own].length;
  }, 0);
}

export async function drain(servers: readonly net.Server[], options: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const { deadline } = options;
  const all = servers.map(trackedOf);
  for (const t of all) {
    stopAccepting(t.server);
    holdClose(t.server);
  }
  for (const socket of options.datagramSockets ?? []) stopReceiving(socket);
  options.stopped?.();
  const { handOver } = options;
  const closeIdle: (() => void)[] = [];
  let handedOver = 0;
  for (const t of all) {
    if (t.protocol === 'http1') closeIdle.push(beginHttp1(t));
    if (handOver) void handOverIdle(t, handOver, () => handedOver++);
    if (t.protocol === 'http1' && options.endEventStreams) endEventStreams(t);
    if (t.protocol === 'http2') beginHttp2(t);
    t.webSocketClose = options.webSocketClose;
    if (t.webSocketClose) for (const socket of t.own) closeWebSocket(socket, t.webSocketClose);
  }
  const drainHooks = options.runDrainHooks?.();

  const idleTimer = handOver
    ? undefined
    : setInterval(() => closeIdle.forEach((close) => close()), options.idleGraceMs ?? 1000);
  await until(() => all.every((t) => openHttp1(t) === 0 && openHttp2(t) === 0), deadline, {
    wake: (look) => {
      // Node's own 'close' listeners, added first, have taken each one off their lists by the time this runs.
      for (const t of all) for (const c of [...socketsOf(t), ...t.sessions]) c.once('close', look);
    },
  });
  clearInterval(idleTimer);
  await drainHooks;

  await options.runHooks(all.flatMap(socketsOf));
  await until(async () => (await Promise.all(servers.map(connectionCount))).every((n) => n === 0), deadline);

  return { destroyed: cutAll(servers), handedOver, durationMs: Date.now() - started };
}

/**
 * Destroys every connection still open: at the deadline, or when the parent
 * moves the deadline up. Returns how many. An HTTP/2 connection is dropped
 * whole, after the GOAWAY it already had, rather than each of its streams reset
 * with NO_ERROR: gRPC clients read a dropped connection as UNAVAILABLE, which
 * they retry, and a reset stream without a status as INTERNAL, which they do not.
 */
export function cutAll(servers: readonly net.Server[]): number {
  let destroyed = 0;
  for (const t of servers.map(trackedOf)) {
    const sockets = socketsOf(t);
    for (const socket of sockets) socket.destroy();
    destroyed += sockets.length;
  }
  return destroyed;
}

/** Every connection the server has open, the ones baton cannot name included. */
function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}
