/**
 * Every place baton replaces a function it does not own, so that an
 * unmodified app's calls reach baton: server.listen(), a dgram socket's
 * bind(), PM2's process.send('ready'), stderr (copied while starting, for a
 * rollback's reason), and an HTTP server's closeIdleConnections() while it
 * drains.
 */
import type dgram from 'node:dgram';
import diagnostics from 'node:diagnostics_channel';
import type http from 'node:http';
import net from 'node:net';
import { builtin, loaded } from './builtins.js';

export type ListenFn = (this: net.Server, ...args: unknown[]) => net.Server;
export type BindFn = (this: dgram.Socket, ...args: unknown[]) => dgram.Socket;

/** Start-up check: what is missing of what the patches replace, if anything. */
export function checkPatches(): string | undefined {
  return typeof net.Server.prototype.listen === 'function'
    ? undefined
    : 'net.Server.prototype.listen is gone: listen() cannot be routed to inherited sockets';
}

/** The same for holdIdleClose, once the app has loaded http (an app that never does has no HTTP/1 server to drain). */
export function checkIdleClose(): string | undefined {
  const http = loaded('http');
  return !http || typeof http.Server.prototype.closeIdleConnections === 'function'
    ? undefined
    : 'http.Server.prototype.closeIdleConnections is gone: idle keep-alive connections end at the drain timeout';
}

/**
 * Every server.listen() goes through `route`, which may call Node's own listen; returns Node's own, for baton's own
 * servers.
 */
export function patchListen(route: (server: net.Server, args: unknown[], original: ListenFn) => net.Server): ListenFn {
  const original = net.Server.prototype.listen as ListenFn;
  net.Server.prototype.listen = function listen(this: net.Server, ...args: unknown[]): net.Server {
    return route(this, args, original);
  } as typeof net.Server.prototype.listen;
  return original;
}

/**
 * Every dgram socket's bind() goes through `route`. Loading dgram up front
 * would slow every start for the few apps that use it, so the patch is made
 * when the app creates its first socket: Node announces each one on the
 * `udp.socket` diagnostics channel as it is constructed, before it can bind.
 */
export function patchBind(route: (socket: dgram.Socket, args: unknown[], original: BindFn) => dgram.Socket): void {
  let patched = false;
  diagnostics.subscribe('udp.socket', () => {
    if (patched) return;
    patched = true;
    const proto = builtin('dgram').Socket.prototype;
    const original = proto.bind as BindFn;
    proto.bind = function bind(this: dgram.Socket, ...args: unknown[]): dgram.Socket {
      return route(this, args, original);
    } as typeof proto.bind;
  });
}

/** PM2's readiness convention, process.send('ready'), for apps migrating with --wait-ready. */
export function patchProcessSend(onReady: () => void): void {
  const send = process.send;
  if (typeof send !== 'function') return;
  process.send = function (this: NodeJS.Process, msg: unknown, ...rest: unknown[]): boolean {
    if (msg === 'ready') {
      onReady();
      return true;
    }
    return (send as (...a: unknown[]) => boolean).call(this, msg, ...rest);
  } as typeof process.send;
}

/** Copies what is written to stderr to `onText` (stderr itself stays as it is); returns the undo. */
export function teeStderr(onText: (text: string) => void): () => void {
  const stream = process.stderr;
  const original = stream.write;
  stream.write = function (this: typeof stream, chunk: unknown, ...rest: unknown[]): boolean {
    onText(typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : '');
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stream.write;
  return () => {
    stream.write = original;
  };
}

/**
 * http.Server#close() destroys idle connections at once through
 * closeIdleConnections(). Code that closes a server baton is draining (Fastify
 * closes its other listeners when the first one closes) must not cause the
 * resets the drain avoids: that call is held back, and the returned function
 * closes the idle connections for real, when the drain decides.
 */
export function holdIdleClose(server: http.Server): () => void {
  const closeIdle = server.closeIdleConnections;
  server.closeIdleConnections = () => {};
  return () => closeIdle.call(server);
}
