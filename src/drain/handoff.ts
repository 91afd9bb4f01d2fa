/**
 * At an upgrade, an HTTP/1 connection with nothing of a request read and no
 * response under way (idle after one, or never used) moves to the new
 * generation instead of being closed under a client whose next request may
 * be on the wire: this process stops reading it first, so those bytes wait in
 * the kernel for the receiver. Node's IPC channel carries one socket per round
 * trip, so they go a few at a time, each stopped only as its turn comes: a
 * request that arrives meanwhile is served here, with `Connection: close`,
 * rather than left waiting behind thousands of others. One that cannot move
 * (TLS, bytes read, nobody to take it) stays, is told `Connection: close` on
 * its next response, and is cut only at the deadline.
 */
import type net from 'node:net';
import { detach, reattach, release } from '../internals/handover.js';
import type { NativeHandle } from '../internals/handles.js';
import { idleHttpSockets } from '../internals/http.js';
import type { Tracked } from './track.js';

/** Sends a connection of `server`'s on; resolves true once the receiver holds it. */
export type HandOver = (server: net.Server, handle: NativeHandle) => Promise<boolean>;

/** Connections under way at once: enough to keep the channel busy, few enough that none waits long unread. */
const AT_ONCE = 8;

/** Moves `t`'s idle connections, each tried once; `moved` is called for each one the receiver holds. */
export async function handOverIdle(t: Tracked, handOver: HandOver, moved: () => void): Promise<void> {
  if (t.protocol !== 'http1') return;
  const tried = new Set<net.Socket>();
  for (;;) {
    const next = idleHttpSockets(t.server).filter((s) => !tried.has(s)).slice(0, AT_ONCE);
    if (next.length === 0) return;
    await Promise.all(next.map(async (socket) => {
      tried.add(socket);
      if (await handOverOne(t.server, socket, handOver)) moved();
    }));
  }
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
