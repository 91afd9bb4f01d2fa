/**
 * Every setting of a baton process in one place: its default, how it is
 * parsed (from the command line or the environment, with the same message),
 * and how a parent hands it to its child in the environment. Every reader of a
 * BATON_* variable goes through here.
 */
import { MAX_TIMER_MS } from '../time.js';
import { quote } from './quote.js';

export const ENV = {
  /**
   * A Node parent cannot know its child's pid before exec, so it cannot set
   * LISTEN_PID. It sets its own pid here instead; the child accepts the fds only
   * if this is its parent, which rules out fds seen through a non-exec wrapper.
   */
  parentPid: 'BATON_PARENT_PID',
  /**
   * Set by a baton process to its own pid, for its children to see: one that
   * has it and was not started as a worker or successor is the app's own
   * (child_process.fork() passes the preload and the environment on).
   */
  ownerPid: 'BATON_OWNER_PID',
  /** `worker` when a baton master started this process (no self-upgrade; sockets come from the master). */
  role: 'BATON_ROLE',
  generation: 'BATON_GENERATION',
  waitReady: 'BATON_WAIT_READY',
  readyTimeout: 'BATON_READY_TIMEOUT',
  drainTimeout: 'BATON_DRAIN_TIMEOUT',
  crashWindow: 'BATON_CRASH_WINDOW',
  upgradeSignal: 'BATON_UPGRADE_SIGNAL',
  pidFile: 'BATON_PID_FILE',
  logFormat: 'BATON_LOG_FORMAT',
  closeWebSockets: 'BATON_CLOSE_WEBSOCKETS',
  closeEventStreams: 'BATON_CLOSE_EVENT_STREAMS',
  maxMemory: 'BATON_MAX_MEMORY',
  requestMetrics: 'BATON_METRICS',
  /**
   * A standalone process's admin listener, [HOST:]PORT, its token's file and TLS files (read by admin/options.ts;
   * successors inherit them).
   */
  admin: 'BATON_ADMIN',
  adminTokenFile: 'BATON_ADMIN_TOKEN_FILE',
  adminTlsCert: 'BATON_ADMIN_TLS_CERT',
  adminTlsKey: 'BATON_ADMIN_TLS_KEY',
} as const;

export type LogFormat = 'text' | 'json';

export interface Settings {
  generation: number;
  waitReady: boolean;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
  /**
   * After a new generation is ready, how long it still only serves beside the
   * old one, which drains once it has passed (0: at once); an exit meanwhile
   * rolls it back. The new process keeps its stderr's tail that long, to say why.
   */
  crashWindowMs: number;
  upgradeSignal: NodeJS.Signals;
  pidFile: string | undefined;
  logFormat: LogFormat;
  /**
   * Tell WebSocket clients "service restart" (1012) as the drain starts; off for apps that close their sockets
   * themselves.
   */
  closeWebSockets: boolean;
  /**
   * End Server-Sent Events responses as the drain starts (their clients reconnect); off for apps that end them
   * themselves.
   */
  closeEventStreams: boolean;
  /**
   * A standalone process whose RSS stays above this many bytes for a few heartbeats upgrades onto a new process of
   * itself (0: never). Under a master, the master judges its workers (SupervisorSettings.maxMemoryBytes).
   */
  maxMemoryBytes: number;
  /** Count the requests of the app's servers (by status class, with their latency) and send them with the heartbeat. */
  requestMetrics: boolean;
}

export const DEFAULTS: Readonly<Settings> = {
  generation: 1,
  waitReady: false,
  readyTimeoutMs: 30_000,
  drainTimeoutMs: 30_000,
  crashWindowMs: 3000,
  upgradeSignal: 'SIGUSR2',
  pidFile: undefined,
  logFormat: 'text',
  closeWebSockets: true,
  closeEventStreams: true,
  maxMemoryBytes: 0,
  requestMetrics: true,
};

/** What only a master decides: how it watches a reload through, and its workers. */
export interface SupervisorSettings {
  /** How many old generations may drain at once; beyond it the oldest is ended (its connections cut). */
  maxDraining: number;
  /** A ready worker whose heartbeat is silent this long is reported (0: never). */
  unresponsiveMs: number;
  /** And replaced: a new worker first, then the silent one is stopped. */
  replaceUnresponsive: boolean;
  /**
   * On a stop, how long the master reports not ready (/readyz 503) and serves
   * on before it drains: a load balancer or Kubernetes' endpoints take a
   * moment to stop sending to it, and until then new connections must be served.
   */
  shutdownDelayMs: number;
  /**
   * A worker whose RSS stays above this many bytes for a few heartbeats is
   * replaced (0: never); unset, it follows the container's memory limit
   * (supervisor/limits.ts).
   */
  maxMemoryBytes: number | undefined;
  /** A worker is replaced after serving about this long (0: never), plus up to the jitter, so that they part. */
  maxAgeMs: number;
  maxAgeJitterMs: number;
  /** A worker is replaced after about this many requests (0: never), plus up to the jitter (gunicorn's). */
  maxRequests: number;
  maxRequestsJitter: number;
  /**
   * The health gate: in a reload's crash window, a new generation whose share of requests answered 5xx or not at all
   * is this many points (of 100) above the old one's is rolled back; 0 turns the gate off.
   */
  maxErrorIncrease: number;
  /** Requests a new generation must have been sent in its window to be judged; with fewer, `unjudged` decides. */
  minJudgedRequests: number;
  unjudged: Unjudged;
  /** A canary whose p99 latency is more than this many times the old generation's is rolled back; 0: not compared. */
  maxLatencyRatio: number;
  /** A reload starts the new generation so many at a time (`--batch N|P%`, read by parseBatch); none: all at once. */
  batch: string | undefined;
}

/** What a reload does whose new generation had too few requests to be judged on. */
export type Unjudged = 'proceed' | 'rollback';

export function parseUnjudged(value: string, what: string): Unjudged {
  if (value !== 'proceed' && value !== 'rollback')
    throw new Error(`${what}: ${quote(value)} is not a policy (use proceed or rollback)`);
  return value;
}

export const SUPERVISOR_DEFAULTS: Readonly<SupervisorSettings> = {
  maxDraining: 3,
  unresponsiveMs: 10_000,
  replaceUnresponsive: false,
  shutdownDelayMs: 0,
  maxMemoryBytes: undefined,
  maxAgeMs: 0,
  maxAgeJitterMs: 0,
  maxRequests: 0,
  maxRequestsJitter: 0,
  maxErrorIncrease: 20,
  minJudgedRequests: 20,
  unjudged: 'proceed',
  maxLatencyRatio: 2,
  batch: undefined,
};

/**
 * Parses `500ms`, `2s`, `1m` or bare milliseconds; `what` names the input in
 * the error. A bare number under 1000 (other than 0) is refused: `30` is far
 * more often meant as seconds than as 30 ms.
 */
export function parseDuration(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    throw new Error(`${what}: ${quote(value)} is not a duration (use e.g. 500ms, 2s, 1m, 6h or plain milliseconds)`);
  }
  const bare = Number(m[1]);
  if (m[2] === undefined && bare > 0 && bare < 1000)
    throw new Error(`${what}: ${m[1]} is ${m[1]} ms; write ${m[1]}ms or ${m[1]}s`);
  const unit = DURATION_UNITS[m[2] ?? 'ms'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms > MAX_TIMER_MS) {
    throw new Error(
      `${what}: ${quote(value)} is longer than Node.js timers can wait (at most ${MAX_TIMER_MS} ms, about 24 days)`,
    );
  }
  return ms;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as parseDuration() reads it back: `30s`, `1m`, `6h`, `1500ms`, `0`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };

/** A size as parseSize() reads it back: `512M`, `2G`, or bytes. */
export function formatSize(bytes: number): string {
  for (const unit of ['G', 'M', 'K'])
    if (bytes >= SIZE_UNITS[unit] && bytes % SIZE_UNITS[unit] === 0) return `${bytes / SIZE_UNITS[unit]}${unit}`;
  return String(bytes);
}

/**
 * Parses a size in bytes: `512M`, `1.5G`, `300MiB`, `0` (off), as PM2's
 * max_memory_restart writes them (K, M and G are powers of 1024). A bare
 * number under 1 MiB is refused, as a bare duration is: `512` is surely not
 * meant as bytes.
 */
export function parseSize(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([KMG])(?:i?B)?|(B))?$/i.exec(value.trim());
  if (!m) throw new Error(`${what}: ${quote(value)} is not a size (use e.g. 512M, 1.5G or 0 for none)`);
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toUpperCase()]);
  if (m[2] === undefined && m[3] === undefined && bytes > 0 && bytes < SIZE_UNITS.M)
    throw new Error(`${what}: ${m[1]} is ${m[1]} bytes; write ${m[1]}M`);
  return bytes;
}

/** A ready timeout of 0 would fail every start: refused. */
export function parseReadyTimeout(value: string, what: string): number {
  const ms = parseDuration(value, what);
  if (ms === 0) throw new Error(`${what}: ${quote(value)} leaves no time to start (give more than 0, e.g. 30s)`);
  return ms;
}

export function parseLogFormat(value: string, what: string): LogFormat {
  if (value !== 'text' && value !== 'json')
    throw new Error(`${what}: ${quote(value)} is not a log format (use text or json)`);
  return value;
}

const SIGNALS = new Set(['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGWINCH', 'SIGURG']);

export function parseUpgradeSignal(value: string, what: string): NodeJS.Signals {
  const upper = value.toUpperCase();
  const signal = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!SIGNALS.has(signal))
    throw new Error(`${what}: ${quote(value)} is not usable (use one of ${[...SIGNALS].join(', ')})`);
  return signal as NodeJS.Signals;
}

function parseSwitch(value: string, what: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new Error(`${what}: ${quote(value)} is neither on nor off (use 1 or 0)`);
}

function parseGeneration(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new Error(`${what}: ${quote(value)} is not a generation number (expected 1 or more)`);
  return Number(value);
}

export type Env = Record<string, string | undefined>;

/** The settings in `env`, each variable unset taking its default. Throws a one-line error naming the variable. */
export function readSettings(env: Env): Settings {
  const read = <T>(name: string, parse: (v: string, what: string) => T, fallback: T): T => {
    const v = env[name];
    return v === undefined ? fallback : parse(v, name);
  };
  return {
    generation: read(ENV.generation, parseGeneration, DEFAULTS.generation),
    waitReady: env[ENV.waitReady] === '1' || env[ENV.waitReady] === 'true',
    readyTimeoutMs: read(ENV.readyTimeout, parseReadyTimeout, DEFAULTS.readyTimeoutMs),
    drainTimeoutMs: read(ENV.drainTimeout, parseDuration, DEFAULTS.drainTimeoutMs),
    crashWindowMs: read(ENV.crashWindow, parseDuration, DEFAULTS.crashWindowMs),
    upgradeSignal: read(ENV.upgradeSignal, parseUpgradeSignal, DEFAULTS.upgradeSignal),
    pidFile: env[ENV.pidFile] || undefined,
    logFormat: logFormatOf(env),
    closeWebSockets: read(ENV.closeWebSockets, parseSwitch, DEFAULTS.closeWebSockets),
    closeEventStreams: read(ENV.closeEventStreams, parseSwitch, DEFAULTS.closeEventStreams),
    maxMemoryBytes: read(ENV.maxMemory, parseSize, DEFAULTS.maxMemoryBytes),
    requestMetrics: read(ENV.requestMetrics, parseSwitch, DEFAULTS.requestMetrics),
  };
}

/** Lenient, unlike the other settings: a log line must be written somehow. */
export function logFormatOf(env: Env): LogFormat {
  return env[ENV.logFormat] === 'json' ? 'json' : 'text';
}

/** The inverse of readSettings(): the variables that give a child these settings. */
export function settingsEnv(s: Settings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.generation]: String(s.generation),
    [ENV.waitReady]: s.waitReady ? '1' : '0',
    [ENV.readyTimeout]: `${s.readyTimeoutMs}ms`,
    [ENV.drainTimeout]: `${s.drainTimeoutMs}ms`,
    [ENV.crashWindow]: `${s.crashWindowMs}ms`,
    [ENV.upgradeSignal]: s.upgradeSignal,
    [ENV.logFormat]: s.logFormat,
    [ENV.closeWebSockets]: s.closeWebSockets ? '1' : '0',
    [ENV.closeEventStreams]: s.closeEventStreams ? '1' : '0',
    [ENV.maxMemory]: `${s.maxMemoryBytes}B`,
    [ENV.requestMetrics]: s.requestMetrics ? '1' : '0',
  };
  if (s.pidFile !== undefined) env[ENV.pidFile] = s.pidFile;
  return env;
}

/**
 * Who started this process: `worker` (a master, over IPC), `successor` (a
 * standalone predecessor, over IPC), `app` (the app in a baton process: not a
 * baton process itself), or `first` (anyone else: a shell, systemd). Only a
 * parent that named itself in BATON_PARENT_PID counts.
 */
export type Origin = 'first' | 'successor' | 'worker' | 'app';

export function originOf(env: Env, ppid: number, hasIpc: boolean): Origin {
  if (!hasIpc || env[ENV.parentPid] !== String(ppid)) return env[ENV.ownerPid] ? 'app' : 'first';
  return env[ENV.role] === 'worker' ? 'worker' : 'successor';
}

/** The variables that mark a child as a master's worker. */
export function workerEnv(): Record<string, string> {
  return { [ENV.role]: 'worker' };
}
