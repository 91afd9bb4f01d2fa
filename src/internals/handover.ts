/**
 * Moving an idle connection to another process, below Node's public API: a
 * socket's libuv handle (socket._handle) stops reading and travels over the
 * IPC channel as a raw handle, so what the client sends next stays in the
 * kernel for the receiver; the socket it leaves behind is destroyed without
 * it, which takes it off its server's lists as any close does; the receiver
 * wraps the handle in a socket counted by its server (server._connections)
 * as an accepted one is. What cluster's primary and child_process use,
 * present on Node 20–26.
 */
import net from 'node:net';
import type { NativeHandle } from './handles.js';

export interface StreamHandle extends NativeHandle {
  readStart(): number;
  readStop(): number;
}

type Internal = net.Socket & {
  _handle?: Partial<StreamHandle> | null;
  encrypted?: boolean;
  server?: net.Server;
  _server?: net.Server | null;
};
type Counted = net.Server & { _connections?: number; allowHalfOpen?: boolean };

/** Start-up check: what is missing, if anything. */
export function checkHandover(): string | undefined {
  return typeof (new net.Server() as Counted)._connections === 'number'
    ? undefined
    : 'net.Server has no _connections count: idle connections are not handed to the new generation, and end at the drain timeout';
}

/**
 * Stops reading `socket` and returns its handle, to be sent; undefined when
 * it cannot move: TLS (its state lives in this process), half closed, or with
 * bytes buffered either way.
 */
export function detach(socket: net.Socket): StreamHandle | undefined {
  const s = socket as Internal;
  const handle = s._handle;
  if (s.encrypted || !isStream(handle) || s.destroyed || !s.readable || !s.writable) return undefined;
  if (s.readableLength > 0 || s.writableLength > 0) return undefined;
  handle.readStop();
  // Its keep-alive timer would close the handle under the message carrying it.
  s.setTimeout(0);
  return handle;
}

function isStream(handle: Partial<StreamHandle> | null | undefined): handle is StreamHandle {
  return (
    typeof handle?.readStop === 'function' &&
    typeof handle.readStart === 'function' &&
    typeof handle.fd === 'number' &&
    handle.fd >= 0
  );
}

/** Once the receiver holds its copy: this process's socket closes without touching the connection. */
export function release(socket: net.Socket, handle: StreamHandle): void {
  (socket as Internal)._handle = null;
  socket.once('close', () => handle.close());
  socket.destroy();
}

/** The hand-over failed: `socket` reads again, here. */
export function reattach(handle: StreamHandle): void {
  handle.readStart();
}

/** A connection handed over becomes one of `server`'s, as if it had just accepted it. */
export function adopt(server: net.Server, handle: NativeHandle): void {
  const socket = new net.Socket({
    handle,
    allowHalfOpen: (server as Counted).allowHalfOpen,
    readable: true,
    writable: true,
  } as net.SocketConstructorOpts);
  const s = socket as Internal;
  s.server = server;
  s._server = server;
  (server as Counted)._connections! += 1;
  server.emit('connection', socket);
}
