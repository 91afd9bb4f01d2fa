/**
 * Every `baton run` option, declared once: its key (the config file's), flag,
 * short flag, parser, default, BATON_* variable where a standalone process
 * has one, and help line. The command line, the help text, the config file,
 * its JSON Schema and the README's table all come from this table.
 */
import os from 'node:os';
import path from 'node:path';
import { type Address, nameOf, parseAddress } from '../listeners/address.js';
import { HEARTBEAT_MS } from '../protocol/messages.js';
import { quote } from '../protocol/quote.js';
import {
  DEFAULTS,
  ENV,
  type LogFormat,
  SUPERVISOR_DEFAULTS,
  type Settings,
  type SupervisorSettings,
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  parseUnjudged,
  type Unjudged,
  parseLogFormat,
  parseReadyTimeout,
} from '../protocol/settings.js';
import { validateName } from '../control/paths.js';
import { parseBatch } from '../protocol/control.js';
import { nodeVersion } from '../generation/node-binary.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const MAX_WORKERS = 1024;

export interface ListenOption {
  /** The user's label for the socket (`web=8080`), passed on as its LISTEN_FDNAMES name. */
  name?: string;
  /** The address as written, without the label: `8080`, `127.0.0.1:8080`, `[::1]:8080`, `/run/app.sock`. */
  spec: string;
  /** The address parsed; a unix path resolved against the working directory (or the config file's). */
  address: Address;
}

/** Every `baton run` option's value by its key, as a config file names them; durations in ms. */
export interface RunOptions {
  workers: number;
  name: string | undefined;
  control: string | undefined;
  readyTimeout: number;
  drainTimeout: number;
  crashWindow: number;
  waitReady: boolean;
  closeWebSockets: boolean;
  closeEventStreams: boolean;
  requestMetrics: boolean;
  compileCache: boolean;
  maxDraining: number;
  unresponsiveAfter: number;
  replaceUnresponsive: boolean;
  maxMemory: number | undefined;
  maxAge: number;
  maxAgeJitter: number;
  maxRequests: number;
  maxRequestsJitter: number;
  maxErrorIncrease: number;
  minJudgedRequests: number;
  unjudged: Unjudged;
  maxLatencyRatio: number;
  batch: string | undefined;
  shutdownDelay: number;
  listen: ListenOption[];
  nodeArgs: string[];
  node: string | undefined;
  nodeAllow: string[];
  logFormat: LogFormat | undefined;
  logFile: string | undefined;
  pidFile: string | undefined;
  admin: string | undefined;
  adminTokenFile: string | undefined;
  adminMetricsPublic: boolean;
  adminTlsCert: string | undefined;
  adminTlsKey: string | undefined;
  releases: string | undefined;
}

export type OptionKey = keyof RunOptions;

/** What a parser is given besides the text: the name to say, where relative paths start, and the values so far. */
export interface ParseContext {
  what: string;
  base: string;
  sofar: RunOptions;
}

export interface OptionDef<K extends OptionKey = OptionKey> {
  key: K;
  flag: string;
  short?: string;
  /** The value's placeholder in help (`DUR`); none for a switch. */
  arg?: string;
  /** A value for "needs a value" messages. */
  example?: string;
  /** A switch: the value its flag sets (its default is the other one). */
  sets?: boolean;
  /** Each use adds to a list (`--listen`, `--node-args`): on the command line, they replace the config file's. */
  list?: boolean;
  /** The value may start with '-' (`--node-args "--inspect"`). */
  dashValue?: boolean;
  /** A negative number (`-w -1`) is read as the value, to be refused as such. */
  numeric?: boolean;
  parse?: (text: string, c: ParseContext) => RunOptions[K];
  default: RunOptions[K];
  /** How the default reads in help, where the value itself says nothing (`$XDG_RUNTIME_DIR/baton/NAME.sock`). */
  defaultText?: string;
  /** The variable a standalone process reads for it. */
  env?: string;
  help: string;
}

const def = <K extends OptionKey>(d: OptionDef<K>): OptionDef => d as unknown as OptionDef;

/** A parser's one-line error, as a usage error. */
export function usage<T>(parse: (v: string, what: string) => T, v: string, what = ''): T {
  try {
    return parse(v, what);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const duration = (text: string, c: ParseContext): number => usage(parseDuration, text, c.what);

export const RUN_OPTIONS: readonly OptionDef[] = [
  def({
    key: 'workers',
    flag: '--workers',
    short: '-w',
    arg: 'N|auto',
    example: '4',
    numeric: true,
    parse: parseWorkers,
    default: 1,
    help: `number of worker processes, 1 to ${MAX_WORKERS}; auto = one per CPU`,
  }),
  def({
    key: 'name',
    flag: '--name',
    arg: 'NAME',
    example: 'api',
    parse: (t) => usage(validateName, t),
    default: undefined,
    defaultText: "'default'",
    help: "name of this master, to address it with 'baton reload --name NAME'",
  }),
  def({
    key: 'control',
    flag: '--control',
    arg: 'PATH',
    example: '/run/app/baton.sock',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    defaultText: '$XDG_RUNTIME_DIR/baton/NAME.sock or <tmp>/baton-<uid>/NAME.sock',
    help: 'control socket path',
  }),
  def({
    key: 'readyTimeout',
    flag: '--ready-timeout',
    arg: 'DUR',
    example: '30s',
    numeric: true,
    parse: (t, c) => usage(parseReadyTimeout, t, c.what),
    default: DEFAULTS.readyTimeoutMs,
    env: ENV.readyTimeout,
    help: 'how long a new worker may take to become ready before rollback',
  }),
  def({
    key: 'drainTimeout',
    flag: '--drain-timeout',
    arg: 'DUR',
    example: '30s',
    numeric: true,
    parse: duration,
    default: DEFAULTS.drainTimeoutMs,
    env: ENV.drainTimeout,
    help: 'how long old workers finish open requests before what is left is closed',
  }),
  def({
    key: 'crashWindow',
    flag: '--crash-window',
    arg: 'DUR',
    example: '3s',
    numeric: true,
    parse: duration,
    default: DEFAULTS.crashWindowMs,
    env: ENV.crashWindow,
    help: "after a reload's workers are ready, how long they serve beside the old ones, which drain only then; an exit meanwhile rolls the reload back; 0 turns it off",
  }),
  def({
    key: 'waitReady',
    flag: '--wait-ready',
    sets: true,
    default: DEFAULTS.waitReady,
    env: ENV.waitReady,
    help: "a worker is ready only when it calls ready() or process.send('ready')",
  }),
  def({
    key: 'closeWebSockets',
    flag: '--no-close-websockets',
    sets: false,
    default: DEFAULTS.closeWebSockets,
    env: ENV.closeWebSockets,
    help: 'leave WebSockets open when a worker drains, for an app that closes them itself (default: clients are told 1012, service restart, as the drain starts)',
  }),
  def({
    key: 'closeEventStreams',
    flag: '--no-close-event-streams',
    sets: false,
    default: DEFAULTS.closeEventStreams,
    env: ENV.closeEventStreams,
    help: 'leave Server-Sent Events (text/event-stream) responses open when a worker drains (default: ended as the drain starts; EventSource clients reconnect to the new workers)',
  }),
  def({
    key: 'requestMetrics',
    flag: '--no-request-metrics',
    sets: false,
    default: DEFAULTS.requestMetrics,
    env: ENV.requestMetrics,
    help: "workers count no requests (default: each worker counts its servers' answers by status class, the unanswered ones and their latency, for `baton status` and /metrics)",
  }),
  def({
    key: 'compileCache',
    flag: '--no-compile-cache',
    sets: false,
    default: true,
    help: 'no module compile cache for the workers (default: on with Node 22.1 or later, in a directory beside the control socket, unless NODE_COMPILE_CACHE is set)',
  }),
  def({
    key: 'maxDraining',
    flag: '--max-draining',
    arg: 'N',
    example: '3',
    numeric: true,
    parse: parseMaxDraining,
    default: SUPERVISOR_DEFAULTS.maxDraining,
    help: 'old generations that may drain at once; beyond it the oldest is ended',
  }),
  def({
    key: 'unresponsiveAfter',
    flag: '--unresponsive-after',
    arg: 'DUR',
    example: '10s',
    numeric: true,
    parse: parseUnresponsive,
    default: SUPERVISOR_DEFAULTS.unresponsiveMs,
    help: 'report a worker whose event loop has not answered this long; 0 turns it off',
  }),
  def({
    key: 'replaceUnresponsive',
    flag: '--replace-unresponsive',
    sets: true,
    default: SUPERVISOR_DEFAULTS.replaceUnresponsive,
    help: 'and replace it: a new worker first, then the silent one is killed',
  }),
  def({
    key: 'maxMemory',
    flag: '--max-memory',
    arg: 'SIZE',
    example: '512M',
    numeric: true,
    parse: (t, c) => usage(parseSize, t, c.what),
    default: SUPERVISOR_DEFAULTS.maxMemoryBytes,
    defaultText: 'the container memory limit / (2 × workers); none without a limit',
    env: ENV.maxMemory,
    help: 'replace a worker whose memory (RSS) stays above SIZE for 3 heartbeats: a new worker first, then the old one drains; 0 turns it off',
  }),
  def({
    key: 'maxErrorIncrease',
    flag: '--max-error-increase',
    arg: 'PCT',
    example: '20',
    numeric: true,
    parse: (t, c) => parsePercent(t, c.what),
    default: SUPERVISOR_DEFAULTS.maxErrorIncrease,
    help: "roll a reload back when, in its crash window, the new generation's share of requests answered 5xx or not at all is PCT points above the old one's; 0 turns this off",
  }),
  def({
    key: 'minJudgedRequests',
    flag: '--min-judged-requests',
    arg: 'N',
    example: '50',
    numeric: true,
    parse: (t, c) => parseCount(t, c.what),
    default: SUPERVISOR_DEFAULTS.minJudgedRequests,
    help: 'the requests a new generation must be sent in its crash window to be judged on its answers',
  }),
  def({
    key: 'unjudged',
    flag: '--unjudged',
    arg: 'proceed|rollback',
    example: 'rollback',
    parse: (t, c) => usage(parseUnjudged, t, c.what),
    default: SUPERVISOR_DEFAULTS.unjudged,
    help: 'what a reload does whose new generation was sent too few requests to be judged',
  }),
  def({
    key: 'maxLatencyRatio',
    flag: '--max-latency-ratio',
    arg: 'R',
    example: '2',
    numeric: true,
    parse: (t, c) => parseRatio(t, c.what),
    default: SUPERVISOR_DEFAULTS.maxLatencyRatio,
    help: "roll a canary (baton reload --canary N) back when its p99 latency is more than R times the old generation's over the same time; 0 turns this off",
  }),
  def({
    key: 'batch',
    flag: '--batch',
    arg: 'N|P%',
    example: '2',
    numeric: true,
    parse: (t) => {
      const batch = parseBatch(t);
      if ('error' in batch) throw new UsageError(batch.error);
      return t;
    },
    default: SUPERVISOR_DEFAULTS.batch,
    defaultText: 'every worker at once',
    help: 'a reload starts the new generation N workers (or P% of them) at a time, each batch ready and through its crash window before as many old workers drain and the next starts: at most -w + N workers run; a failing batch rolls back, the old code started again in the slots already replaced',
  }),
  def({
    key: 'maxRequests',
    flag: '--max-requests',
    arg: 'N',
    example: '10000',
    numeric: true,
    parse: (t, c) => parseCount(t, c.what),
    default: SUPERVISOR_DEFAULTS.maxRequests,
    help: 'replace a worker once it has served about N requests, the same way (needs request counting); 0 turns it off',
  }),
  def({
    key: 'maxRequestsJitter',
    flag: '--max-requests-jitter',
    arg: 'N',
    example: '1000',
    numeric: true,
    parse: (t, c) => parseCount(t, c.what),
    default: SUPERVISOR_DEFAULTS.maxRequestsJitter,
    help: 'add up to N, drawn for each worker, to --max-requests',
  }),
  def({
    key: 'maxAge',
    flag: '--max-age',
    arg: 'DUR',
    example: '6h',
    numeric: true,
    parse: duration,
    default: SUPERVISOR_DEFAULTS.maxAgeMs,
    help: 'replace a worker once it has served DUR, the same way; 0 turns it off',
  }),
  def({
    key: 'maxAgeJitter',
    flag: '--max-age-jitter',
    arg: 'DUR',
    example: '30m',
    numeric: true,
    parse: duration,
    default: SUPERVISOR_DEFAULTS.maxAgeJitterMs,
    help: 'add up to DUR, drawn for each worker, to --max-age, so that workers started together are not all due at once',
  }),
  def({
    key: 'shutdownDelay',
    flag: '--shutdown-delay',
    arg: 'DUR',
    example: '5s',
    numeric: true,
    parse: duration,
    default: SUPERVISOR_DEFAULTS.shutdownDelayMs,
    help: 'on a stop, report not ready (/readyz 503) and serve on for DUR before draining, so that load balancers stop sending first; a second stop request drains at once',
  }),
  def({
    key: 'listen',
    flag: '--listen',
    arg: '[NAME=]ADDR',
    example: '8080',
    numeric: true,
    list: true,
    parse: (t, c) => [...c.sofar.listen, parseListen(t, c.base, c.sofar.listen)],
    default: [],
    help: 'bind ADDR in the master before the workers start (PORT, HOST:PORT, [IPv6]:PORT, or a unix socket path starting with / or ./); repeatable',
  }),
  def({
    key: 'nodeArgs',
    flag: '--node-args',
    arg: '"ARGS"',
    example: '"--max-old-space-size=512"',
    dashValue: true,
    list: true,
    parse: (t, c) => [...c.sofar.nodeArgs, ...t.split(/\s+/).filter((a) => a !== '')],
    default: [],
    help: 'options for node in each worker, e.g. --node-args "--max-old-space-size=512"',
  }),
  def({
    key: 'node',
    flag: '--node',
    arg: 'PATH',
    example: '/opt/node-24/bin/node',
    parse: (t, c) => parseNode(t, c),
    default: undefined,
    defaultText: 'the node that runs baton',
    help: 'the node binary the workers run on (Node.js 20 or later); `baton reload --node PATH` moves them to another',
  }),
  def({
    key: 'nodeAllow',
    flag: '--node-allow',
    arg: 'PATH',
    example: '/opt/node-24/bin/node',
    list: true,
    parse: (t, c) => [...c.sofar.nodeAllow, parseNode(t, c)],
    default: [],
    help: 'a node binary the admin API may name in a reload ({"node": PATH}); repeatable; none by default',
  }),
  def({
    key: 'logFormat',
    flag: '--log-format',
    arg: 'text|json',
    example: 'json',
    parse: (t, c) => usage(parseLogFormat, t, c.what),
    default: undefined,
    defaultText: `text, or $${ENV.logFormat}`,
    env: ENV.logFormat,
    help: "format of baton's own log lines on stderr",
  }),
  def({
    key: 'logFile',
    flag: '--log-file',
    arg: 'PATH',
    example: '/var/log/app/baton.log',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    defaultText: "none: the workers' stdout and stderr are the master's",
    help: "append the master's lines and the workers' stdout and stderr to PATH, each line with its time, pid and generation, the last ones also kept in memory (baton logs); SIGUSR1 reopens it (logrotate)",
  }),
  def({
    key: 'pidFile',
    flag: '--pid-file',
    arg: 'PATH',
    example: '/run/app/baton.pid',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    defaultText: 'none',
    help: "write the master's pid to PATH (atomically), rewritten by the new master of a `baton upgrade`; removed at exit",
  }),
  def({
    key: 'admin',
    flag: '--admin',
    arg: '[HOST:]PORT',
    example: '127.0.0.1:9090',
    numeric: true,
    parse: (t) => t,
    default: undefined,
    env: ENV.admin,
    defaultText: 'off; host 127.0.0.1',
    help: 'serve the admin HTTP API, probes and metrics there',
  }),
  def({
    key: 'adminTokenFile',
    flag: '--admin-token-file',
    arg: 'FILE',
    example: '/etc/baton/token',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    env: ENV.adminTokenFile,
    help: "the API's bearer token, read from FILE (mode 600; 32 or more random hex characters: openssl rand -hex 32); required off loopback",
  }),
  def({
    key: 'adminMetricsPublic',
    flag: '--admin-metrics-public',
    sets: true,
    default: false,
    help: '/metrics answers without the token',
  }),
  def({
    key: 'adminTlsCert',
    flag: '--admin-tls-cert',
    arg: 'FILE',
    example: '/etc/baton/admin.crt',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    env: ENV.adminTlsCert,
    help: 'serve the admin API over HTTPS with this PEM certificate (read again at each reload)',
  }),
  def({
    key: 'adminTlsKey',
    flag: '--admin-tls-key',
    arg: 'FILE',
    example: '/etc/baton/admin.key',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    env: ENV.adminTlsKey,
    help: 'and this private key; warned of off loopback without them',
  }),
  def({
    key: 'releases',
    flag: '--releases',
    arg: 'DIR',
    example: '/srv/app/releases',
    parse: (t, c) => path.resolve(c.base, t),
    default: undefined,
    help: 'DIR holds one directory per release and a link DIR/current to the one to run; <script> is then a path inside a release (e.g. server.js); baton reload --release NAME starts DIR/NAME and points current at it once it serves',
  }),
];

/** The options that only the command line takes: where the settings come from. */
export const SOURCE_OPTIONS = {
  config: {
    flag: '--config',
    arg: 'FILE',
    example: 'baton.config.json',
    help: "read every option above from FILE (JSON, .mjs or .js; or PM2's ecosystem file); flags given here win over it (default: baton.config.json, .mjs or .js in the working directory)",
  },
  only: { flag: '--only', arg: 'NAME', example: 'api', help: 'with an ecosystem file of several apps: the one to run' },
  env: {
    flag: '--env',
    arg: 'NAME',
    example: 'production',
    help: "with an ecosystem file: add its env_NAME to the app's environment",
  },
} as const;

export function optionByKey(key: string): OptionDef | undefined {
  return RUN_OPTIONS.find((o) => o.key === key);
}

export function runDefaults(): RunOptions {
  const o = Object.fromEntries(RUN_OPTIONS.map((d) => [d.key, Array.isArray(d.default) ? [...d.default] : d.default]));
  return o as unknown as RunOptions;
}

/** The workers' settings: what every worker (and a standalone successor) is started with. */
export function settingsOf(o: RunOptions, logFormat: LogFormat): Settings {
  return {
    ...DEFAULTS,
    readyTimeoutMs: o.readyTimeout,
    drainTimeoutMs: o.drainTimeout,
    crashWindowMs: o.crashWindow,
    waitReady: o.waitReady,
    closeWebSockets: o.closeWebSockets,
    closeEventStreams: o.closeEventStreams,
    requestMetrics: o.requestMetrics,
    logFormat,
  };
}

/** The master's own rules. */
export function supervisorOf(o: RunOptions): SupervisorSettings {
  return {
    maxDraining: o.maxDraining,
    unresponsiveMs: o.unresponsiveAfter,
    replaceUnresponsive: o.replaceUnresponsive,
    shutdownDelayMs: o.shutdownDelay,
    maxMemoryBytes: o.maxMemory,
    maxAgeMs: o.maxAge,
    maxAgeJitterMs: o.maxAgeJitter,
    maxRequests: o.maxRequests,
    maxRequestsJitter: o.maxRequestsJitter,
    maxErrorIncrease: o.requestMetrics ? o.maxErrorIncrease : 0,
    minJudgedRequests: o.minJudgedRequests,
    unjudged: o.unjudged,
    maxLatencyRatio: o.maxLatencyRatio,
    batch: o.batch,
  };
}

/** A value as the help and `baton status` show it: durations as `30s`, lists joined. */
export function showValue(d: OptionDef, value: unknown): string {
  if (value === undefined) return d.defaultText ?? 'none';
  if (d.arg === 'DUR') return formatDuration(value as number);
  if (d.arg === 'SIZE') return formatSize(value as number);
  if (d.key === 'listen')
    return (value as ListenOption[]).map((l) => (l.name ? `${l.name}=${l.spec}` : l.spec)).join(' ');
  if (Array.isArray(value)) return value.join(' ');
  return String(value);
}

function parseWorkers(v: string): number {
  if (v === 'auto') {
    const cpus = os.availableParallelism?.() ?? os.cpus().length;
    return Math.min(Math.max(cpus, 1), MAX_WORKERS);
  }
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(
      `--workers: ${quote(v)} is not a worker count (use a whole number from 1 to ${MAX_WORKERS}, or auto)`,
    );
  }
  return n;
}

function parsePercent(v: string, what: string): number {
  const n = /^\d{1,3}(\.\d+)?%?$/.test(v) ? Number.parseFloat(v) : NaN;
  if (!(n >= 0 && n <= 100)) throw new UsageError(`${what}: ${quote(v)} is not a percentage (use 0 to 100, e.g. 20)`);
  return n;
}

/** A ratio of latencies: 1 or more (a canary as fast as the old one passes), or 0 for none. */
function parseRatio(v: string, what: string): number {
  const n = /^\d{1,4}(\.\d+)?$/.test(v) ? Number.parseFloat(v) : NaN;
  if (!(n === 0 || n >= 1))
    throw new UsageError(`${what}: ${quote(v)} is not a ratio (use 1 or more, e.g. 2, or 0 to turn it off)`);
  return n;
}

/** A node binary, from where the flag (or the file) was given: it must run, and be a Node.js baton supports. */
function parseNode(text: string, c: ParseContext): string {
  const file = path.resolve(c.base, text);
  const checked = nodeVersion(file);
  if ('error' in checked) throw new UsageError(`${c.what}: ${checked.error}`);
  return file;
}

function parseCount(v: string, what: string): number {
  if (!/^\d{1,9}$/.test(v))
    throw new UsageError(`${what}: ${quote(v)} is not a count (use a whole number, 0 for none)`);
  return Number(v);
}

function parseMaxDraining(v: string): number {
  const n = /^\d{1,4}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) {
    throw new UsageError(
      `--max-draining: ${quote(v)} is not a count of generations (use a whole number from 1 to ${MAX_WORKERS})`,
    );
  }
  return n;
}

/** Shorter than a few heartbeats, a busy moment would read as a frozen worker. */
function parseUnresponsive(v: string, c: ParseContext): number {
  const ms = duration(v, c);
  const least = 3 * HEARTBEAT_MS;
  if (ms !== 0 && ms < least) {
    throw new UsageError(
      `${c.what}: ${quote(v)} is shorter than 3 heartbeats (give at least ${least / 1000}s, or 0 to turn it off)`,
    );
  }
  return ms;
}

const LISTEN_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** `--listen [NAME=]ADDR`. Earlier ones are passed to refuse a name or an address given twice. */
export function parseListen(value: string, cwd: string, earlier: readonly ListenOption[] = []): ListenOption {
  const bad = (why: string): UsageError =>
    new UsageError(
      `--listen: ${quote(value)} ${why} (use PORT, HOST:PORT, [IPv6]:PORT or a unix socket path starting with / or ./, optionally as NAME=ADDR)`,
    );
  let name: string | undefined;
  let spec = value;
  const eq = value.indexOf('=');
  if (eq === 0) throw bad('has an empty name');
  if (eq > 0 && !/^\.{0,2}\//.test(value)) {
    name = value.slice(0, eq);
    spec = value.slice(eq + 1);
    if (!LISTEN_NAME.test(name))
      throw bad(`has an invalid name ${quote(name)} (a letter, then up to 63 letters, digits, '.', '_' or '-')`);
  }
  if (spec === '') throw bad('has no address');
  const address = parseAddress(spec, cwd);
  if ('reason' in address) throw bad(address.reason);
  for (const e of earlier) {
    if (name !== undefined && e.name === name) throw bad(`reuses the name ${quote(name)}`);
    if (nameOf(e.address) === nameOf(address)) throw bad(`repeats an address already given (${quote(e.spec)})`);
  }
  return name === undefined ? { spec, address } : { name, spec, address };
}
