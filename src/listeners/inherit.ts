/**
 * Taking over inherited listening sockets: every fd named in LISTEN_FDS is
 * checked to be a socket of the named kind before anything listens on it, and
 * its real address (not just its name) decides what it serves.
 */
import fs from 'node:fs';
import type { InheritedFd } from '../protocol/fds.js';
import { type Address, nameOf, normalizeHost, parseName } from './address.js';
import { isUdpHandle, openUdpFd } from '../internals/dgram.js';
import { type NativeHandle, openFd } from '../internals/handles.js';

export interface Inherited {
  fd: number;
  name: string;
  /** Undefined when neither the name nor the socket tells the address (a labelled unix socket off Linux). */
  address: Address | undefined;
  handle: NativeHandle;
  adopted: boolean;
  /** Its unix path is this process's to remove at stop (`baton upgrade` passed it from the master that bound it). */
  ownsPath?: boolean;
}

export class InheritError extends Error {}

export function inherit(fds: readonly InheritedFd[]): Inherited[] {
  return fds.map(({ fd, name }) => inspect(fd, name));
}

function inspect(fd: number, name: string): Inherited {
  const what = `inherited fd ${fd} ('${name}')`;
  let isSocket = false;
  try {
    isSocket = fs.fstatSync(fd).isSocket();
  } catch {
    throw new InheritError(
      `${what} is not open: the process that passed LISTEN_FDS must start node directly or through a wrapper that execs`,
    );
  }
  if (!isSocket) {
    throw new InheritError(
      `${what} is not a socket: the process that passed LISTEN_FDS must start node directly or through a wrapper that execs`,
    );
  }
  const handle = openSocket(fd);
  if (handle instanceof Error) {
    throw new InheritError(
      `${what} is not a TCP, UDP or unix stream socket (${handle.message}); baton passes only those`,
    );
  }
  const named = parseName(name);
  const actual = actualAddress(handle, fd);
  const mismatch =
    named &&
    actual &&
    (named.kind !== actual.kind || (named.kind !== 'unix' && actual.kind !== 'unix' && named.port !== actual.port));
  if (mismatch) {
    throw new InheritError(`${what} is really ${nameOf(actual)}: LISTEN_FDNAMES does not describe LISTEN_FDS`);
  }
  return { fd, name, address: actual ?? named, handle, adopted: false };
}

/**
 * A TCP or Pipe handle, else (Node says EINVAL for any other type) a UDP one, so dgram loads only for an fd that needs
 * it.
 */
function openSocket(fd: number): NativeHandle | NodeJS.ErrnoException {
  const stream = openFd(fd);
  if (!(stream instanceof Error) || stream.code !== 'EINVAL') return stream;
  const udp = openUdpFd(fd);
  return udp instanceof Error ? stream : udp;
}

function actualAddress(handle: NativeHandle, fd: number): Address | undefined {
  if (handle.getsockname) return handleAddress(handle);
  const path = unixPathOf(fd);
  return path === undefined ? undefined : { kind: 'unix', path };
}

/** The TCP or UDP address a handle is bound at. */
export function handleAddress(handle: NativeHandle): Address | undefined {
  const out: Record<string, unknown> = {};
  if (handle.getsockname?.(out) !== 0 || typeof out.address !== 'string' || typeof out.port !== 'number')
    return undefined;
  return { kind: isUdpHandle(handle) ? 'udp' : 'tcp', host: normalizeHost(out.address), port: out.port };
}

/** A Pipe handle has no getsockname(); on Linux the socket's inode leads to its path. */
function unixPathOf(fd: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (!inode) return undefined;
    for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[6] === inode && cols[7]) return cols[7].startsWith('@') ? `\0${abstractName(cols[7])}` : cols[7];
    }
  } catch {
    // /proc unreadable (a sandbox): fall back to the name.
  }
  return undefined;
}

/**
 * /proc shows an abstract name's NUL bytes as '@'. Node 20 binds abstract names
 * padded with NULs to the full 108-byte sun_path, so that padding is dropped.
 */
function abstractName(shown: string): string {
  const name = shown.slice(1);
  return shown.length === 108 ? name.replace(/@+$/, '') : name;
}
