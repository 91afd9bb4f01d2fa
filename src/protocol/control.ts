/**
 * What the control socket carries between `baton reload|stop|status|releases` and the
 * master: one JSON request line, answered by JSON lines (phases, then a
 * result). Both ends validate what they read here: the master a request, the
 * client every reply.
 */
import { quote } from './quote.js';
import type { LogLine, LogQuery } from './logs.js';
import { CODES, type Code, type RequestCounts } from './requests.js';
import { formatDuration, parseDuration } from './settings.js';

export type Command = 'reload' | 'stop' | 'status' | 'releases' | 'events' | 'logs' | 'upgrade';

const COMMANDS: readonly Command[] = ['reload', 'stop', 'status', 'releases', 'events', 'logs', 'upgrade'];

export interface Request extends ReloadAsk, Pick<LogQuery, 'worker' | 'limit'> {
  cmd: Command;
  /**
   * events and logs only: those after this id or seq (0: every one kept), and then, with `follow`, each as it comes;
   * logs also takes a worker's pid and a limit (LogQuery).
   */
  after?: number;
  follow?: boolean;
}

/** A request line as a client writes it: a reload's canary as `"canary": N, "canaryFor": "30s"` (parseCanary). */
export type RequestLine = Omit<Request, 'canary' | 'batch'> & { canary?: string; canaryFor?: string; batch?: string };

/** One line of the master's timeline: what it logged, with a rising id (control/events.ts). */
export interface TimelineEvent {
  id: number;
  at: string;
  level: 'info' | 'warn' | 'error';
  pid: number;
  generation: number;
  text: string;
  fields: Record<string, string | number | boolean | undefined>;
}

/** The master's timeline, as the control socket and the admin API read it. */
export interface Timeline {
  after(id: number): TimelineEvent[];
  subscribe(listener: (e: TimelineEvent) => void): () => void;
}

/** What a reload may name: both absent, the code and the node the serving generation started with. */
export interface ReloadAsk {
  /** The release to start (a master run with --releases); absent, the one `current` points to. */
  release?: string;
  /** The node binary the new generation runs on, an absolute path; absent, the serving generation's. */
  node?: string;
  /** Asked over the network (the admin API): a node must be one --node-allow names. */
  remote?: boolean;
  /** Who asked, for the timeline: `cli` (the control socket), `api`, `page`, `SIGHUP`…; never read from a request. */
  by?: string;
  /** Start this many workers of the new generation first, judged beside the old ones before the rest start. */
  canary?: Canary;
  /** Start the new generation this many workers at a time, as many old ones draining after each (--batch). */
  batch?: Batch;
}

/** `--batch N` or `--batch P%`: workers at a time, or a share of them (at least 1). */
export type Batch = { workers: number } | { percent: number };

/** `--batch N|P%` (run option, reload flag, `"batch"` of the control socket and admin API): the batch, or why not. */
export function parseBatch(text: unknown): Batch | { error: string } {
  const m = typeof text === 'string' ? /^(\d{1,4})(%?)$/.exec(text) : null;
  const n = Number(m?.[1]);
  if (m && n >= 1 && (m[2] === '' || n <= 100)) return m[2] === '' ? { workers: n } : { percent: n };
  return { error: `--batch: ${quote(String(text).slice(0, 40))} is not a batch (use a worker count like 2, or 25%)` };
}

/** How many workers a batch starts at once, of `workers`. */
export const batchSize = (b: Batch, workers: number): number =>
  Math.min(workers, 'workers' in b ? b.workers : Math.max(1, Math.floor((workers * b.percent) / 100)));

/** A reload's canary: its first `workers` serve beside the whole old generation for `forMs`, then are judged. */
export interface Canary {
  workers: number;
  forMs: number;
}

/** How long a canary serves when `--canary N` comes without `--canary-for`. */
export const CANARY_FOR_DEFAULT_MS = 30_000;

/**
 * A canary as the command line (`--canary N --canary-for DUR`), the control socket and the admin API
 * (`{"canary": N, "canaryFor": "30s"}`) give it, all read here: undefined for none, or the one-line error. Whether N
 * leaves old workers serving is the master's to say (it knows how many it runs).
 */
export function parseCanary(canary: unknown, canaryFor: unknown): Canary | undefined | { error: string } {
  if (canary === undefined && canaryFor === undefined) return undefined;
  if (canary === undefined) return { error: '--canary-for needs --canary N, the workers the canary starts' };
  const n = typeof canary === 'string' && /^\d{1,4}$/.test(canary) ? Number(canary) : canary;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    return { error: `--canary: ${quote(String(canary).slice(0, 40))} is not a worker count (use 1 or more)` };
  if (canaryFor === undefined) return { workers: n, forMs: CANARY_FOR_DEFAULT_MS };
  if (typeof canaryFor !== 'string') return { error: '--canary-for: give a duration as a string, like "30s"' };
  try {
    const forMs = parseDuration(canaryFor, '--canary-for');
    if (forMs === 0) return { error: `--canary-for: ${quote(canaryFor)} leaves the canary no time (give e.g. 30s)` };
    return { workers: n, forMs };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** `1 worker, 30s`: a canary as its phases say it. */
export function canaryText({ workers, forMs }: Canary): string {
  return `${workers} ${workers === 1 ? 'worker' : 'workers'}, ${formatDuration(forMs)}`;
}

/** The answer to naming a release, or listing them, on a master run without --releases. */
export const NO_RELEASES =
  'baton run was started without --releases (start it with --releases DIR, a directory of releases, to name them)';

/**
 * A reload refused before anything started: a release that is not one, or
 * none to name. Thrown by Controllable.reload() itself, not through its
 * promise, so that a server can answer before it has sent anything else.
 */
export class ReloadRefused extends Error {
  /** `busy`: the request is sound, but conflicts with a reload already queued. */
  constructor(
    message: string,
    readonly busy = false,
  ) {
    super(message);
    this.name = 'ReloadRefused';
  }
}

/** Which code a release is: its package.json's version, and a REVISION file's first line or its git commit. */
export interface ReleaseIdentity {
  version?: string;
  revision?: string;
}

/** `baton releases`, `GET /api/releases`: the admin page's release picker reads exactly this. */
export interface ReleaseList {
  /** --releases DIR, as an absolute path. */
  dir: string;
  /** The release `DIR/current` points to; null when it is missing or points to none. */
  current: string | null;
  /** The release the serving generation runs; null before the first one started. */
  serving: string | null;
  /** Sorted by name. */
  releases: ({ name: string; current: boolean; serving: boolean } & ReleaseIdentity)[];
}

/** One step of a reload, streamed to the client as it happens. */
export type Phase =
  | { phase: 'spawned'; generation: number; pids: number[]; release?: string; node?: string }
  | { phase: 'ready'; generation: number; ms: number }
  | { phase: 'draining'; generation: number; connections: number }
  /** `drainedMs`: from the command to the old generation's last connection closed (its exit ends `ms`). */
  | { phase: 'done'; generation: number; ms: number; drainedMs?: number }
  | { phase: 'queued'; reason: string }
  /** A canary starts: `workers` of generation `generation` serve beside the old ones for `forMs`. */
  | { phase: 'canary'; generation: number; workers: number; forMs: number }
  /** How the canary and the old generation have answered so far, every few seconds while it runs. */
  | { phase: 'comparing'; generation: number; text: string }
  /** The canary's verdict: the rest start (ok), or it is rolled back. */
  | { phase: 'verdict'; generation: number; ok: boolean; text: string }
  | { phase: 'rollback'; generation: number; reason: string; stderrTail: string }
  /** `baton upgrade`: a new master started, from the baton on disk, on `node`. */
  | { phase: 'master'; pid: number; version: string; node: string };

/** `baton upgrade`'s answer: the new master serves (its pid and version), or it failed and this one serves on. */
export interface UpgradeResult {
  ok: boolean;
  /** The new master's, started or not. */
  pid?: number;
  version?: string;
  /** From the command to the new master in service, or to its failure. */
  ms: number;
  reason?: string;
  stderrTail?: string;
}

export interface ReloadResult {
  ok: boolean;
  generation: number;
  /** Command to old generation gone (ok), or to rollback complete. */
  ms: number;
  /**
   * Command to the old generation's last connection closed, before its processes exited (a supervised reload that got
   * that far).
   */
  drainedMs?: number;
  reason?: string;
  stderrTail?: string;
  /** Connections the old generation still had open at the drain timeout, cut (a reload that got that far). */
  cut?: number;
}

/** `3 connections cut at the drain timeout`: the worker's warning and `baton reload`'s line say it alike. */
export function cutLine(n: number): string {
  return `${n} ${n === 1 ? 'connection' : 'connections'} cut at the drain timeout`;
}

export type WorkerState = 'starting' | 'ready' | 'draining';

/** A crashed worker: its pid, how it ended (an exit code, or the signal that ended it), and when. */
export interface LastExit {
  pid: number;
  code: number | null;
  signal: string | null;
  at: string;
}

export interface WorkerStatus {
  pid: number;
  generation: number;
  state: WorkerState;
  uptimeMs: number;
  rssBytes: number | null;
  /** Open connections, as of its last heartbeat. */
  connections: number | null;
  /** Since its last heartbeat; null before the first. */
  heartbeatAgeMs: number | null;
  /** How late its last heartbeat ran: the event loop's delay. */
  delayMs: number | null;
  /** A ready worker silent past --unresponsive-after. */
  unresponsive: boolean;
  /** Its CPU time so far (user and system), as of its last heartbeat; absent before the first. */
  cpuMs?: number;
  /** Its slot's crashed workers started again in this generation (a worker of the serving generation only). */
  restarts?: number;
  /** How its slot's last crashed worker ended, in this generation (a worker of the serving generation only). */
  lastExit?: LastExit;
  /** The Node.js version its generation runs on (absent from a master older than this client). */
  node?: string;
  /** Its requests since its start, by what they came to; absent before it reported any (or with counting off). */
  requests?: Record<Code, number>;
  /** Its last heartbeats' figures, for the admin page's sparklines (absent from a master older than this client). */
  history?: WorkerHistory;
}

/**
 * A worker's figures at each of its last heartbeats (one a second, a minute of them at most), oldest first. A figure
 * not known at a beat is left out: no RSS without /proc, no requests with counting off.
 */
export interface WorkerHistory {
  rssBytes: number[];
  /** How late each beat ran: the event loop's delay. */
  loopDelayMs: number[];
  /** Open connections at each beat. */
  connections: number[];
  /** Requests that ended in each beat (since the one before), answered or not. */
  requests: number[];
}

/** A generation's requests over the last few seconds: how many, how they ended, how long the answers took. */
export interface RecentRequests {
  /** The span, in seconds. */
  seconds: number;
  perSecond: number;
  /** Of all requests (answered or not): the share answered 5xx, and the share never answered. */
  share5xx: number;
  shareUnanswered: number;
  /** Latency of the answers, read from the buckets; null without answers. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** A generation's requests, as its workers' heartbeats said. */
export interface GenerationRequests {
  generation: number;
  /** Since it started: as RequestCounts, its codes by name. */
  total: Omit<RequestCounts, 'codes'> & { codes: Record<Code, number> };
  recent: RecentRequests;
}

export interface ReloadRecord {
  generation: number;
  ok: boolean;
  /** From the request to the old generation gone (or to the rollback done). */
  ms: number;
  /** When it ended. */
  at: string;
  /** When it began (absent from a master older than this client). */
  startedAt?: string;
  /** From the start to the new generation in service: the switch. */
  inServiceMs?: number;
  /** From the start to the old generation's last connection closed. */
  drainedMs?: number;
  /** The release it started (with --releases). */
  release?: string;
  reason?: string;
  cut?: number;
}

/** Why a serving worker is replaced: --replace-unresponsive, --max-memory, --max-age. */
export const REPLACE_REASONS = ['unresponsive', 'memory', 'requests', 'age'] as const;
export type ReplaceReason = (typeof REPLACE_REASONS)[number];

/** A worker replaced while it served, by a new one. */
export interface ReplacementRecord {
  at: string;
  pid: number;
  by: number;
  reason: ReplaceReason;
  detail: string;
}

/** How many reloads (and replacements) a status lists, the latest last. */
export const HISTORY = 10;

/**
 * The reload counters behind /metrics (baton_reloads_total and the duration
 * histogram): a standalone process passes them to its successor, so that they
 * count on across upgrades as a master's do.
 */
export interface ReloadCounters {
  ok: number;
  failed: number;
  /** Reloads per duration bucket, each counting those at most its bound. */
  buckets: number[];
  /** Their durations' sum, in whole ms, so the sum does not drift as floats would. */
  durationMs: number;
}

/** When a reload began (ms since the epoch), how long until its generation was in service, and its release. */
export interface Begun {
  at: number;
  inServiceMs?: number;
  release?: string;
}

/** Adds `result` to `history`, which keeps the latest HISTORY. */
export function remember(
  history: ReloadRecord[],
  result: ReloadResult,
  begun: Begun = { at: Date.now() - result.ms },
): void {
  const { generation, ok, ms, reason, cut, drainedMs } = result;
  const { inServiceMs, release } = begun;
  history.push({
    generation,
    ok,
    ms,
    at: new Date().toISOString(),
    startedAt: new Date(begun.at).toISOString(),
    ...(inServiceMs === undefined ? {} : { inServiceMs }),
    ...(drainedMs === undefined ? {} : { drainedMs }),
    ...(release === undefined ? {} : { release }),
    reason,
    cut,
  });
  if (history.length > HISTORY) history.shift();
}

/** The master process's own memory, as process.memoryUsage() tells it. */
export interface MasterMemory {
  rssBytes: number;
  heapTotalBytes: number;
  /** Garbage included unless `afterGc`: only then comparable from one status to the next. */
  heapUsedBytes: number;
  /** Buffers and other memory held outside the heap by JS objects. */
  externalBytes: number;
  /** Measured right after a full collection, which only a master run with `node --expose-gc` makes. */
  afterGc: boolean;
}

/**
 * A master that was told to stop: 'delay' while it reports not ready and still
 * serves (--shutdown-delay), 'draining' once its workers drain. `msLeft`: until
 * the delay ends, or until the drain's deadline.
 */
export interface Stopping {
  phase: 'delay' | 'draining';
  msLeft: number;
}

/** A `baton run` option that is not its default, and where it came from: a flag, or a config file. */
export interface Source {
  key: string;
  value: string;
  from: string;
}

export interface Status {
  name: string;
  masterPid: number;
  /** baton's version in the master (absent from a master older than this client). */
  version?: string;
  uptimeMs: number;
  /** Absent from a master older than this client. */
  master?: MasterMemory;
  generation: number;
  /** With --releases: the release the serving generation runs, and which code it is. */
  release?: string;
  releaseIdentity?: ReleaseIdentity;
  workers: WorkerStatus[];
  listeners: string[];
  reloads: ReloadRecord[];
  /** The latest replacements (absent from a master older than this client). */
  replacements?: ReplacementRecord[];
  /** Absent while the master runs (and from a master older than this client). */
  stopping?: Stopping;
  /** The options not at their default, with where each came from (absent from a master older than this client). */
  settings?: Source[];
  /** Per generation, its workers' requests (none with --no-request-metrics; absent from an older master). */
  requests?: GenerationRequests[];
}

/** Lines the master writes back. */
export type Reply =
  /**
   * A reload request read, the first line before it starts: a client that left while the master was frozen is found
   * gone by it.
   */
  | { type: 'accepted' }
  | { type: 'phase'; data: Phase }
  | { type: 'reload'; data: ReloadResult }
  | { type: 'upgrade'; data: UpgradeResult }
  | { type: 'status'; data: Status }
  | { type: 'releases'; data: ReleaseList }
  | { type: 'event'; data: TimelineEvent }
  /** The end of `events` without follow: every event kept has been sent. */
  | { type: 'events-end' }
  | { type: 'log'; data: LogLine }
  /** The end of `logs` without follow, or at once when the master keeps none (`enabled` false, without --log-file). */
  | { type: 'logs-end'; enabled: boolean }
  | { type: 'stopping' }
  | { type: 'error'; message: string };

/** The master side, as the control server sees it. */
export interface Controllable {
  /** Throws ReloadRefused when what `ask` names cannot be started, before anything starts. */
  reload(onPhase: (phase: Phase) => void, ask?: ReloadAsk): Promise<ReloadResult>;
  stop(): void;
  status(): Status;
  /** Undefined on a master run without --releases. */
  releases(): ReleaseList | undefined;
}

type Check = (v: unknown) => boolean;
type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const str: Check = (v) => typeof v === 'string';
const bool: Check = (v) => typeof v === 'boolean';
const opt =
  (c: Check): Check =>
  (v) =>
    v === undefined || c(v);
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const list =
  (c: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(c);
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isObject(v) && Object.entries(fields).every(([k, c]) => c(v[k]));

const PHASES: Record<Phase['phase'], Check> = {
  spawned: shape({ generation: num, pids: list(num), release: opt(str), node: opt(str) }),
  ready: shape({ generation: num, ms: num }),
  draining: shape({ generation: num, connections: num }),
  done: shape({ generation: num, ms: num }),
  queued: shape({ reason: str }),
  canary: shape({ generation: num, workers: num, forMs: num }),
  comparing: shape({ generation: num, text: str }),
  verdict: shape({ generation: num, ok: bool, text: str }),
  rollback: shape({ generation: num, reason: str, stderrTail: str }),
  master: shape({ pid: num, version: str, node: str }),
};
const isPhase: Check = (v) =>
  isObject(v) && typeof v.phase === 'string' && Object.hasOwn(PHASES, v.phase) && PHASES[v.phase as Phase['phase']](v);
const isReloadResult = shape({
  ok: bool,
  generation: num,
  ms: num,
  reason: opt(str),
  stderrTail: opt(str),
  cut: opt(num),
});
const isCodes = shape(Object.fromEntries(CODES.map((c) => [c, num])));
const isGenerationRequests = shape({
  generation: num,
  total: shape({ codes: isCodes, buckets: list(num), sumMs: num, connections: num }),
  recent: shape({
    seconds: num,
    perSecond: num,
    share5xx: num,
    shareUnanswered: num,
    p50Ms: nullable(num),
    p99Ms: nullable(num),
  }),
});
const isIdentity = { version: opt(str), revision: opt(str) };
const isStatus = shape({
  name: str,
  masterPid: num,
  version: opt(str),
  uptimeMs: num,
  master: opt(shape({ rssBytes: num, heapTotalBytes: num, heapUsedBytes: num, externalBytes: num, afterGc: bool })),
  generation: num,
  release: opt(str),
  releaseIdentity: opt(shape(isIdentity)),
  workers: list(
    shape({
      pid: num,
      generation: num,
      state: oneOf('starting', 'ready', 'draining'),
      uptimeMs: num,
      rssBytes: nullable(num),
      connections: nullable(num),
      heartbeatAgeMs: nullable(num),
      delayMs: nullable(num),
      unresponsive: bool,
      cpuMs: opt(num),
      restarts: opt(num),
      lastExit: opt(shape({ pid: num, code: nullable(num), signal: nullable(str), at: str })),
      node: opt(str),
      requests: opt(isCodes),
      history: opt(shape({ rssBytes: list(num), loopDelayMs: list(num), connections: list(num), requests: list(num) })),
    }),
  ),
  listeners: list(str),
  reloads: list(
    shape({
      generation: num,
      ok: bool,
      ms: num,
      at: str,
      startedAt: opt(str),
      inServiceMs: opt(num),
      drainedMs: opt(num),
      release: opt(str),
      reason: opt(str),
      cut: opt(num),
    }),
  ),
  replacements: opt(list(shape({ at: str, pid: num, by: num, reason: oneOf(...REPLACE_REASONS), detail: str }))),
  stopping: opt(shape({ phase: oneOf('delay', 'draining'), msLeft: num })),
  settings: opt(list(shape({ key: str, value: str, from: str }))),
  requests: opt(list(isGenerationRequests)),
});

const REPLIES: Record<Reply['type'], Check> = {
  accepted: () => true,
  phase: shape({ data: isPhase }),
  reload: shape({ data: isReloadResult }),
  upgrade: shape({
    data: shape({ ok: bool, pid: opt(num), version: opt(str), ms: num, reason: opt(str), stderrTail: opt(str) }),
  }),
  status: shape({ data: isStatus }),
  releases: shape({
    data: shape({
      dir: str,
      current: nullable(str),
      serving: nullable(str),
      releases: list(shape({ name: str, current: bool, serving: bool, ...isIdentity })),
    }),
  }),
  event: shape({
    data: shape({
      id: num,
      at: str,
      level: oneOf('info', 'warn', 'error'),
      pid: num,
      generation: num,
      text: str,
      fields: (v: unknown) => isObject(v),
    }),
  }),
  'events-end': () => true,
  log: shape({
    data: shape({
      seq: num,
      time: num,
      pid: nullable(num),
      generation: nullable(num),
      stream: oneOf('stdout', 'stderr', 'master'),
      line: str,
    }),
  }),
  'logs-end': shape({ enabled: bool }),
  stopping: () => true,
  error: shape({ message: str }),
};

/**
 * A reply line as the client reads it: the reply, `unknown` for a type a newer
 * master may send (skipped, not an error), or `invalid` with why.
 */
export function parseReply(line: string): { reply: Reply } | { unknown: string } | { invalid: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { invalid: 'not JSON' };
  }
  if (!isObject(v) || typeof v.type !== 'string') return { invalid: 'no type' };
  if (!Object.hasOwn(REPLIES, v.type)) return { unknown: v.type };
  return REPLIES[v.type as Reply['type']](v)
    ? { reply: v as Reply }
    : { invalid: `a '${v.type}' reply of the wrong shape` };
}

const whole = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min;

/**
 * `{"cmd":"events","after":N,"follow":true}`, and logs' `{"cmd":"logs","after":N,"follow":true,"worker":PID,
 * "limit":N}`: each optional.
 */
function streamRequest(cmd: 'events' | 'logs', { after, follow, worker, limit }: Fields): Request | { error: string } {
  if (!(after === undefined || whole(after, 0)))
    return {
      error: `malformed request: ${cmd} takes "after", the last ${cmd === 'logs' ? 'seq' : 'id'} seen (a whole number)`,
    };
  if (!(follow === undefined || typeof follow === 'boolean'))
    return { error: `malformed request: ${cmd} takes "follow", true or false` };
  if (cmd === 'events' && (worker !== undefined || limit !== undefined))
    return { error: 'malformed request: only logs takes "worker" and "limit"' };
  if (!(worker === undefined || whole(worker, 1))) return { error: 'malformed request: "worker" is a pid' };
  if (!(limit === undefined || whole(limit, 1))) return { error: 'malformed request: "limit" is a number from 1' };
  return {
    cmd,
    ...(after === undefined ? {} : { after: after as number }),
    ...(follow ? { follow } : {}),
    ...(worker === undefined ? {} : { worker: worker as number }),
    ...(limit === undefined ? {} : { limit: limit as number }),
  };
}

/** A request line as the master reads it: the request, or the one-line answer for a client that sent something else. */
export function parseRequest(line: string): Request | { error: string } {
  let req: Fields;
  try {
    const v: unknown = JSON.parse(line);
    if (!isObject(v)) throw new Error('not an object');
    req = v;
  } catch {
    return { error: 'malformed request: expected one JSON line like {"cmd":"status"}' };
  }
  const { cmd, release, node, canary: n, canaryFor, batch: b } = req;
  if (typeof cmd !== 'string' || !(COMMANDS as readonly string[]).includes(cmd)) {
    const shown =
      typeof cmd === 'string' ? quote(cmd.slice(0, 40)) : String(JSON.stringify(cmd) ?? 'none').slice(0, 40);
    return { error: `unknown command ${shown} (expected reload, stop, status, releases, events, logs or upgrade)` };
  }
  if (cmd === 'events' || cmd === 'logs') return streamRequest(cmd, req);
  if ([release, node, n, canaryFor, b].every((v) => v === undefined)) return { cmd: cmd as Command };
  const given = nodeOf(cmd, node);
  if (cmd === 'upgrade' && [release, n, canaryFor, b].every((v) => v === undefined))
    return 'error' in given ? given : { cmd, ...given };
  if (cmd !== 'reload' || !(release === undefined || typeof release === 'string'))
    return { error: 'malformed request: only reload takes a release, a string like {"cmd":"reload","release":"v2"}' };
  if ('error' in given) return given;
  const canary = parseCanary(n, canaryFor);
  if (canary !== undefined && 'error' in canary) return canary;
  const batch = b === undefined ? undefined : parseBatch(b);
  if (batch !== undefined && 'error' in batch) return batch;
  return {
    ...(batch === undefined ? {} : { batch }),
    cmd,
    ...(release === undefined ? {} : { release }),
    ...given,
    ...(canary === undefined ? {} : { canary }),
  };
}

/** A reload's or an upgrade's node, optional: an absolute path (`{"cmd":"upgrade","node":"/usr/bin/node"}`). */
function nodeOf(cmd: string, node: unknown): { node?: string } | { error: string } {
  if (node === undefined) return {};
  if (typeof node === 'string' && node.startsWith('/')) return { node };
  return { error: `malformed request: a node is an absolute path, like {"cmd":"${cmd}","node":"/usr/bin/node"}` };
}
