/**
 * The check of every Node internal baton relies on: each one that is missing
 * is said once, in one line, instead of failing silently later. Most are
 * checked at start-up; what exists only once a server listens (the HTTP/1
 * connection list), or belongs to http, which an app serving HTTP has loaded
 * by then, is checked as each server starts listening, and dgram's as each
 * socket binds.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { checkBuiltins } from './builtins.js';
import { checkDgramSocket } from './dgram.js';
import { checkHandles } from './handles.js';
import { checkHandover } from './handover.js';
import { checkHttpConnections } from './http.js';
import { checkIdleClose, checkPatches } from './patches.js';
import { warnOnce } from './warn.js';

export function checkInternals(): void {
  for (const [key, check] of [
    ['builtins', checkBuiltins],
    ['handles', checkHandles],
    ['handover', checkHandover],
    ['patches', checkPatches],
  ] as const)
    say(key, check());
}

export function checkListening(server: net.Server, http1: boolean): void {
  say('idle-close', checkIdleClose());
  if (http1) checkHttpConnections(server);
}

/** dgram's internals, once the app binds a socket (an app that never does has none to hand over). */
export function checkDatagram(socket: dgram.Socket): void {
  say('dgram', checkDgramSocket(socket));
}

function say(key: string, missing: string | undefined): void {
  if (missing) warnOnce(key, `this Node.js is not one baton knows: ${missing}`);
}
