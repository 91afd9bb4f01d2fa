/**
 * At an upgrade, an HTTP/1 connection with nothing of a request read and no
 * response under way (idle after one, or never used) moves to the new
 * generation instead of being closed under a client whose next request may
 * be on the wire: this process stops reading it first, so those bytes wait in
 * the kernel for the receiver. Node's IPC channel carries one socket per round
 * trip, so they go two at a time, each stopped only as its turn comes: a
 * request that arrives meanwhile is served here, with `Connection: close`,
 * rather than left waiting unread behind thousands of others. One that cannot move
 * (TLS, bytes read, nobody to take it) stays, is told `Connection: close` on
 * its next response, and is cut only at the deadline.
 */
import type net from 'node:net';
import { detach, reattach, release } from '../internals/handover.js';
import type { NativeHandle } from '../internals/handles.js';
import { idleHttpSockets, responseOf } from '../internals/http.js';
import type { Tracked } from './track.js';

/** Sends a connection of `server`'s on; resolves true once the receiver holds it. */
export type HandOver = (server: net.Server, handle: NativeHandle) => Promise<boolean>;

/**
 * Connections under way at once: two keep both legs of the trip through a
 * master busy; more would only wait in Node's queue, unread.
 */
const AT_ONCE = 2;

/** Moves `t`'s idle connections; `moved` is called for each one the receiver holds. */
export async function handOverIdle(t: Tracked, handOver: HandOver, moved: () => void): Promise<void> {
  if (t.protocol !== 'http1') return;
  // Idle now, with what each has read: one that reads more before its turn has a request, served here.
  const queue = idleHttpSockets(t.server).map((socket) => ({ socket, read: socket.bytesRead }));
  const runner = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { socket, read } = next;
      if (socket.bytesRead === read && !responseOf(socket) && (await handOverOne(t.server, socket, handOver))) moved();
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, runner));
}

async function handOverOne(server: net.Server, socket: net.Socket, handOver: HandOver): Promise<boolean> {
  const handle = detach(socket);
  if (!handle) return false;
  const taken = await handOver(server, handle);
  // Cut at the deadline meanwhile: its handle is closed already.
  if (socket.destroyed) return false;
  if (!taken) reattach(handle);
  else release(socket, handle);
  return taken;
}
