/**
 * The libuv UDP handle below a dgram.Socket. Node has no public API that
 * reads a bound socket's fd, stops a socket reading without closing it, or
 * binds one without reading from it (dgram._createSocketHandle, which cluster
 * uses, is deprecated and gone in Node 26). Each socket keeps its handle in
 * its state, under `Symbol(state symbol)`, on Node 20–26; a raw handle binds
 * as cluster workers do, `socket.bind(handle)`, and travels over IPC.
 */
import type dgram from 'node:dgram';
import { builtin } from './builtins.js';
import { type NativeHandle, errnoError } from './handles.js';

const MISSING = 'a dgram socket keeps no UDP handle under Symbol(state symbol): UDP sockets are not handed over';

interface UdpHandle extends NativeHandle {
  open(fd: number): number;
  bind(ip: string, port: number, flags: number): number;
  bind6(ip: string, port: number, flags: number): number;
  recvStop(): number;
}

interface State {
  handle: UdpHandle | null;
  receiving: boolean;
  bindState: number;
}

/** Node's bind states (lib/dgram.js). */
const UNBOUND = 0;
const BINDING = 1;

function stateOf(socket: dgram.Socket): State | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state: unknown = key && (socket as unknown as Record<symbol, unknown>)[key];
  return typeof state === 'object' &&
    state !== null &&
    'handle' in state &&
    'receiving' in state &&
    'bindState' in state
    ? (state as State)
    : undefined;
}

/** The family the socket was created for: Node keeps it as `type`, which @types/node does not declare. */
export function socketType(socket: dgram.Socket): 'udp4' | 'udp6' {
  return (socket as { type?: unknown }).type === 'udp6' ? 'udp6' : 'udp4';
}

/** The fd of a bound dgram socket, or undefined (not bound, or a Node that keeps it elsewhere). */
export function datagramFdOf(socket: dgram.Socket): number | undefined {
  const fd = stateOf(socket)?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Marks an unbound socket as binding, as Node does while its bind() looks up
 * the address, until the returned function is called (just before the real
 * bind): meanwhile the app's send() queues instead of binding a port of its
 * own, as without baton. The function says whether the socket is still open
 * (the app may close it meanwhile). False for a socket that is binding or
 * bound already (Node's bind() throws for it).
 */
export function holdBinding(socket: dgram.Socket): (() => boolean) | false {
  const state = stateOf(socket);
  if (!state) return () => true;
  if (state.bindState !== UNBOUND) return false;
  state.bindState = BINDING;
  return () => {
    if (state.bindState === BINDING) state.bindState = UNBOUND;
    return state.handle !== null;
  };
}

/**
 * Stops reading without closing: the socket can still send, and what arrives waits in its queue for the other holders
 * of the fd.
 */
export function stopReceiving(socket: dgram.Socket): void {
  const state = stateOf(socket);
  if (!state?.handle || !state.receiving) return;
  state.handle.recvStop();
  state.receiving = false;
}

/** A raw handle's class is not exported: it is read off a socket that is closed at once, unbound. */
let UdpClass: (new () => UdpHandle) | undefined;

function newHandle(): UdpHandle | Error {
  if (!UdpClass) {
    const probe = builtin('dgram').createSocket('udp4');
    UdpClass = stateOf(probe)?.handle?.constructor as (new () => UdpHandle) | undefined;
    probe.close();
  }
  return UdpClass ? new UdpClass() : new Error(MISSING);
}

/** Wraps an inherited UDP fd in a handle, not reading; an fd that is no IPv4 or IPv6 datagram socket is EINVAL. */
export function openUdpFd(fd: number): NativeHandle | NodeJS.ErrnoException {
  const handle = newHandle();
  if (handle instanceof Error) return handle;
  const err = handle.open(fd);
  const out: Record<string, unknown> = {};
  if (err === 0 && handle.getsockname?.(out) === 0 && typeof out.port === 'number') return handle;
  handle.close();
  return errnoError(err || builtin('os').constants.errno.EINVAL, `fd ${fd}`, 'open');
}

/** Binds a UDP address without reading: datagrams queue on the socket until a worker reads it. */
export function bindUdp(host: string, port: number): NativeHandle | NodeJS.ErrnoException {
  const handle = newHandle();
  if (handle instanceof Error) return handle;
  const err = host.includes(':') ? handle.bind6(host, port, 0) : handle.bind(host, port, 0);
  if (err === 0) return handle;
  handle.close();
  return errnoError(err, `${host}:${port}`, 'bind');
}

/** A UDP handle, told from a TCP or Pipe one without loading dgram. */
export function isUdpHandle(handle: NativeHandle): boolean {
  return typeof (handle as Partial<UdpHandle>).recvStop === 'function';
}

/** Check, as the app binds a socket: what is missing of what these functions need, if anything. */
export function checkDgramSocket(socket: dgram.Socket): string | undefined {
  const handle = stateOf(socket)?.handle;
  return handle && typeof handle.recvStop === 'function' && 'fd' in handle ? undefined : MISSING;
}
