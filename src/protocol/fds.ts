/**
 * The environment half of the protocol between generations. Listening sockets
 * travel as inherited descriptors from fd 3 on, described by the variables of
 * systemd socket activation, so a baton process and a socket-activated one read
 * the same thing.
 */
import { ENV, type Env } from './settings.js';
import { quote } from './quote.js';

export const FIRST_FD = 3;

const LISTEN_FDS = 'LISTEN_FDS';
const LISTEN_FDNAMES = 'LISTEN_FDNAMES';
const LISTEN_PID = 'LISTEN_PID';

/**
 * Like sd_listen_fds(unset=1), a process that took its fds removes these, so children the app starts do not take them
 * too.
 */
export const HANDOVER_VARS = [LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID, ENV.parentPid, ENV.role] as const;

/**
 * The name a standalone process gives its admin listener's socket among those
 * it passes on: its successor serves the admin API on it, never the app.
 */
export const ADMIN_FD_NAME = 'baton-admin';

export interface InheritedFd {
  fd: number;
  /** The normalized address (`tcp:127.0.0.1:8080`) or a user-chosen label. */
  name: string;
}

/**
 * Reads LISTEN_FDS / LISTEN_FDNAMES the way sd_listen_fds() does: the fds are
 * ours only if LISTEN_PID is this process, or if BATON_PARENT_PID is the parent
 * that spawned us. Returns [] when the variables are absent or meant for another
 * process; throws a one-line error when they are malformed.
 */
export function readListenEnv(env: Env, pid: number, ppid: number): InheritedFd[] {
  const count = env[LISTEN_FDS];
  if (count === undefined || count === '') return [];
  const listenPid = env[LISTEN_PID];
  const parentPid = env[ENV.parentPid];
  const ours = listenPid !== undefined && listenPid !== '' ? listenPid === String(pid) : parentPid === String(ppid);
  if (!ours) return [];
  if (!/^\d+$/.test(count) || Number(count) > 1024) {
    throw new Error(`${LISTEN_FDS}=${quote(count)} is not a count of descriptors (expected a whole number, e.g. 2)`);
  }
  const n = Number(count);
  const rawNames = env[LISTEN_FDNAMES];
  const names = rawNames ? rawNames.split(':').map(decodeName) : [];
  if (rawNames && names.length !== n) {
    throw new Error(
      `${LISTEN_FDNAMES}=${quote(rawNames)} names ${names.length} sockets but ${LISTEN_FDS}=${n} (one name per descriptor, separated by ':')`,
    );
  }
  return Array.from({ length: n }, (_, i) => ({ fd: FIRST_FD + i, name: names[i] || 'unknown' }));
}

/**
 * LISTEN_FDNAMES separates names with ':', yet addresses contain colons
 * (`tcp:[::1]:80`), so each name's colons travel as `%3A` (and '%' as `%25`).
 * systemd's own labels never contain either, so they read back unchanged.
 */
function encodeName(name: string): string {
  return name.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function decodeName(name: string): string {
  return name.replace(/%3A/gi, ':').replace(/%25/g, '%');
}

/** The variables that hand `names` (in fd order from 3) to a child spawned by `parentPid`. */
export function writeListenEnv(names: readonly string[], parentPid: number): Record<string, string> {
  return {
    [LISTEN_FDS]: String(names.length),
    [LISTEN_FDNAMES]: names.map(encodeName).join(':'),
    [ENV.parentPid]: String(parentPid),
  };
}
