/**
 * A unix socket path whose bind failed with EADDRINUSE: a process that died
 * without removing it (kill -9, a crash, a power cut) leaves the file behind,
 * and nothing would ever bind there again. A socket nobody accepts on is
 * removed and bound anew; one that answers is a live server and is left alone.
 */
import fs from 'node:fs';
import net from 'node:net';
import { type NativeHandle, bindPath } from '../internals/handles.js';
import { log } from '../log.js';

/**
 * Is something listening on the unix socket at `file`? `live` if a connect
 * succeeds, `stale` if the file is a socket nobody listens on (ECONNREFUSED)
 * or is gone (ENOENT), else the error code (EACCES: a socket of another user).
 */
export function probeSocket(file: string, timeoutMs = 2000): Promise<'live' | 'stale' | string> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const done = (result: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(result);
    };
    // Something that accepts but is too busy to complete the handshake is still alive.
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EIO';
      done(code === 'ECONNREFUSED' || code === 'ENOENT' ? 'stale' : code);
    });
  });
}

/**
 * After bindPath(`file`) failed with `failed`: the socket bound once a stale
 * socket file is removed, else `failed` as it was (a live server, something
 * that is not a socket, any other error).
 */
export async function rebindStale(
  file: string,
  failed: NodeJS.ErrnoException,
): Promise<NativeHandle | NodeJS.ErrnoException> {
  if (failed.code !== 'EADDRINUSE') return failed;
  const before = socketStat(file);
  if (!before || (await probeSocket(file)) !== 'stale') return failed;
  // Another process may have bound the path anew while the probe ran: that file is its own.
  const now = socketStat(file);
  if (now?.ino !== before.ino || now.dev !== before.dev) return failed;
  try {
    fs.unlinkSync(file);
  } catch {
    return failed;
  }
  log('info', 'removed a stale socket file', { path: file });
  return bindPath(file);
}

/** lstat of `file` if it is a socket (an abstract name, a missing file or anything else: undefined). */
function socketStat(file: string): fs.Stats | undefined {
  try {
    const st = fs.lstatSync(file);
    return st.isSocket() ? st : undefined;
  } catch {
    return undefined;
  }
}
