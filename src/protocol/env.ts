/**
 * The environment half of the protocol between generations. Listening sockets
 * travel as inherited descriptors from fd 3 on, described by the variables of
 * systemd socket activation, so a baton process and a socket-activated one read
 * the same thing.
 */
import { parseDuration } from './duration.js';
import { quote } from './quote.js';

export const FIRST_FD = 3;

export const ENV = {
  listenFds: 'LISTEN_FDS',
  listenFdNames: 'LISTEN_FDNAMES',
  listenPid: 'LISTEN_PID',
  /**
   * A Node parent cannot know its child's pid before exec, so it cannot set
   * LISTEN_PID. It sets its own pid here instead; the child accepts the fds only
   * if this is its parent, which rules out fds seen through a non-exec wrapper.
   */
  parentPid: 'BATON_PARENT_PID',
  /** `worker` when a baton master started this process (no self-upgrade; sockets come from the master). */
  role: 'BATON_ROLE',
  generation: 'BATON_GENERATION',
  waitReady: 'BATON_WAIT_READY',
  readyTimeout: 'BATON_READY_TIMEOUT',
  drainTimeout: 'BATON_DRAIN_TIMEOUT',
  upgradeSignal: 'BATON_UPGRADE_SIGNAL',
  pidFile: 'BATON_PID_FILE',
  logFormat: 'BATON_LOG_FORMAT',
} as const;

export const LISTEN_VARS = [ENV.listenFds, ENV.listenFdNames, ENV.listenPid] as const;

export interface InheritedFd {
  fd: number;
  /** The normalized address (`tcp:127.0.0.1:8080`) or a user-chosen label. */
  name: string;
}

export type Env = Record<string, string | undefined>;

/**
 * Reads LISTEN_FDS / LISTEN_FDNAMES the way sd_listen_fds() does: the fds are
 * ours only if LISTEN_PID is this process, or if BATON_PARENT_PID is the parent
 * that spawned us. Returns [] when the variables are absent or meant for another
 * process; throws a one-line error when they are malformed.
 */
export function readListenEnv(env: Env, pid: number, ppid: number): InheritedFd[] {
  const count = env[ENV.listenFds];
  if (count === undefined || count === '') return [];
  const listenPid = env[ENV.listenPid];
  const parentPid = env[ENV.parentPid];
  const ours = listenPid !== undefined && listenPid !== ''
    ? listenPid === String(pid)
    : parentPid === String(ppid);
  if (!ours) return [];
  if (!/^\d+$/.test(count) || Number(count) > 1024) {
    throw new Error(`${ENV.listenFds}=${quote(count)} is not a count of descriptors (expected a whole number, e.g. 2)`);
  }
  const n = Number(count);
  const rawNames = env[ENV.listenFdNames];
  const names = rawNames ? rawNames.split(':').map(decodeName) : [];
  if (rawNames && names.length !== n) {
    throw new Error(`${ENV.listenFdNames}=${quote(rawNames)} names ${names.length} sockets but ${ENV.listenFds}=${n} (one name per descriptor, separated by ':')`);
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
    [ENV.listenFds]: String(names.length),
    [ENV.listenFdNames]: names.map(encodeName).join(':'),
    [ENV.parentPid]: String(parentPid),
  };
}

export interface RuntimeSettings {
  generation: number;
  waitReady: boolean;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
  upgradeSignal: NodeJS.Signals;
  pidFile: string | undefined;
}

const SIGNALS = new Set(['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGWINCH', 'SIGURG']);

export function readSettings(env: Env): RuntimeSettings {
  const gen = env[ENV.generation] ?? '1';
  if (!/^\d+$/.test(gen) || Number(gen) < 1) {
    throw new Error(`${ENV.generation}=${quote(gen)} is not a generation number (expected 1 or more)`);
  }
  const signal = (env[ENV.upgradeSignal] ?? 'SIGUSR2').toUpperCase();
  const fullSignal = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  if (!SIGNALS.has(fullSignal)) {
    throw new Error(`${ENV.upgradeSignal}=${quote(env[ENV.upgradeSignal])} is not usable (use one of ${[...SIGNALS].join(', ')})`);
  }
  return {
    generation: Number(gen),
    waitReady: env[ENV.waitReady] === '1' || env[ENV.waitReady] === 'true',
    readyTimeoutMs: parseDuration(env[ENV.readyTimeout] ?? '30s', ENV.readyTimeout),
    drainTimeoutMs: parseDuration(env[ENV.drainTimeout] ?? '30s', ENV.drainTimeout),
    upgradeSignal: fullSignal as NodeJS.Signals,
    pidFile: env[ENV.pidFile] || undefined,
  };
}
