/**
 * At an upgrade, an HTTP/1 connection with nothing of a request read and no
 * response under way (idle after one, or never used) moves to the new
 * generation instead of being closed under a client whose next request may
 * be on the wire: this process stops reading it first, so those bytes wait in
 * the kernel for the receiver. One that cannot move (TLS, bytes read, nobody
 * to take it) stays, is told `Connection: close` on its next response, and is
 * cut only at the deadline.
 */
import type net from 'node:net';
import { detach, reattach, release } from '../internals/handover.js';
import type { NativeHandle } from '../internals/handles.js';
import { idleHttpSockets } from '../internals/http.js';
import type { Tracked } from './track.js';

/** Sends a connection of `server`'s on; resolves true once the receiver holds it. */
export type HandOver = (server: net.Server, handle: NativeHandle) => Promise<boolean>;

/** Starts moving `t`'s idle connections; `moved` is called for each one the receiver holds. */
export function handOverIdle(t: Tracked, handOver: HandOver, moved: () => void): void {
  if (t.protocol !== 'http1') return;
  for (const socket of idleHttpSockets(t.server)) {
    const handle = detach(socket);
    if (!handle) continue;
    void handOver(t.server, handle).then((taken) => {
      if (!taken) return reattach(handle);
      release(socket, handle);
      moved();
    });
  }
}
