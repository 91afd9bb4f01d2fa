/**
 * Socket handles below net.Server. Node has no public API that returns a
 * listening socket's fd or opens a socket without listening on it: these are
 * what cluster's primary uses, present on Node 20–26.
 */
import net from 'node:net';
import { builtin } from './builtins.js';

/** A libuv TCP or Pipe handle that is bound (or opened from an fd) but not watched by the loop. */
export interface NativeHandle {
  readonly fd: number;
  close(callback?: () => void): void;
  getsockname?(out: Record<string, unknown>): number;
  fchmod?(mode: number): number;
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => NativeHandle | number;

const createServerHandle = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;

/** The fd of a listening server, or undefined (not listening, or a platform without fds). */
export function fdOf(server: net.Server): number | undefined {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * A server listening on a Pipe handle it was given has no path of its own,
 * so server.address() would be null (Fastify reads it at start-up): Node
 * keeps the path of a server that bound it in `_pipeName`.
 */
export function namePipe(server: net.Server, path: string): void {
  (server as unknown as { _pipeName?: string })._pipeName = path;
}

/** Wraps an inherited fd in a handle of the right type (TCP or Pipe) without listening on it. */
export function openFd(fd: number): NativeHandle | NodeJS.ErrnoException {
  return call(null, 0, 0, fd);
}

/** Binds a unix socket path without listening, so no server ever owns (and unlinks) the path. */
export function bindPath(path: string): NativeHandle | NodeJS.ErrnoException {
  return call(path, -1, -1);
}

/** Binds a TCP address without listening: connections queue once a worker listens on the fd. */
export function bindTcp(host: string, port: number): NativeHandle | NodeJS.ErrnoException {
  const handle = call(host, port, net.isIPv6(host) ? 6 : 4);
  if (handle instanceof Error) return handle;
  // libuv defers a bind's EADDRINUSE to listen(); an unbound socket reports port 0.
  const out: Record<string, unknown> = {};
  if (handle.getsockname?.(out) !== 0 || out.port !== port) {
    handle.close();
    return errnoError(builtin('os').constants.errno.EADDRINUSE, `${host}:${port}`, 'bind');
  }
  return handle;
}

/** Start-up check: what is missing of what these functions need, if anything. */
export function checkHandles(): string | undefined {
  return createServerHandle ? undefined : 'net._createServerHandle is gone: sockets cannot be inherited or passed on';
}

function call(address: string | null, port: number, type: number, fd?: number): NativeHandle | NodeJS.ErrnoException {
  if (!createServerHandle) return new Error(checkHandles());
  const r = createServerHandle(address, port, type, fd);
  if (typeof r !== 'number') return r;
  return errnoError(
    -Math.abs(r),
    `${address ?? `fd ${fd}`}${port > 0 ? `:${port}` : ''}`,
    fd === undefined ? 'bind' : 'open',
  );
}

export function errnoError(errno: number, where: string, syscall: string): NodeJS.ErrnoException {
  const e = -Math.abs(errno);
  const code = builtin('util').getSystemErrorName(e);
  const err = new Error(`${code} ${where}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = e;
  err.syscall = syscall;
  return err;
}

/** libuv pipe modes for listen({ readableAll, writableAll }). */
export const PIPE_READABLE = 1;
export const PIPE_WRITABLE = 2;
