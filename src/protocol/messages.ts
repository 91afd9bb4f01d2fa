/**
 * Control messages between generations and between the master and its
 * workers: JSON over Node's IPC channel. Every message carries the protocol
 * version; anything malformed or unknown is rejected by parseMessage(), never
 * trusted.
 */
import { HISTORY, type ReloadCounters, type ReloadRecord } from './control.js';
import { type RequestCounts, requestCountsOf } from './requests.js';

export const PROTOCOL_VERSION = 1;

interface Base {
  baton: typeof PROTOCOL_VERSION;
}

/** child → parent: it serves; the parent may now drain the previous generation. */
export interface ReadyMessage extends Base {
  type: 'ready';
  pid: number;
  /** The names of the sockets it listens on, so the master can close the ones nobody uses. */
  listening: string[];
}

/**
 * child → parent: where it listens now, sent after ready each time that
 * changes (an app may open a listener after an `await` or a delay), and once
 * with `settled` when it gives up the inherited sockets it has not taken
 * (once in service): the master closes only what no settled worker of the
 * serving generation listens on.
 */
export interface ListeningMessage extends Base {
  type: 'listening';
  pid: number;
  listening: string[];
  settled: boolean;
}

/**
 * child → parent: it dies without having been told to drain, and says why ('' when it knows no more than its exit
 * code).
 */
export interface FailedMessage extends Base {
  type: 'failed';
  pid: number;
  error: string;
  stderrTail: string;
}

/** worker → master: the app listens on an address no inherited socket serves. */
export interface ListenRequestMessage extends Base {
  type: 'listen';
  id: number;
  /** A normalized address name (`tcp:127.0.0.1:8080`, `tcp:*:8080`, `unix:/run/a.sock`). */
  address: string;
}

/** master → worker: the socket for a ListenRequest comes as the message's handle, or an errno code. */
export interface ListenResultMessage extends Base {
  type: 'listen-result';
  id: number;
  /** The bound address's name, when the socket came. */
  name?: string;
  /** The errno code (EADDRINUSE, EACCES…) when the master could not bind. */
  code?: string;
}

export type DrainReason = 'upgrade' | 'stop';

/**
 * parent → child: stop accepting, drain, run hooks and exit by `deadline`.
 * Sent again with an earlier deadline to a child already draining (a master
 * ending its oldest draining generation): what is still open is cut at once.
 */
export interface DrainMessage extends Base {
  type: 'drain';
  reason: DrainReason;
  /**
   * When what is still open is cut (ms since the epoch): one deadline for the drain, the hooks and the parent's kill.
   */
  deadline: number;
}

/**
 * master → worker, while a canary runs: end about this share (0 to 1) of its responses with `Connection: close`, so
 * that clients that only reuse their connections (a load balancer's pool) open new ones, which the canary's workers
 * accept their share of; 0, at the verdict: keep-alive as usual.
 */
export interface CloseShareMessage extends Base {
  type: 'close-share';
  share: number;
}

/**
 * predecessor → successor, once it has handed over: the upgrades so far, that one last, and their counters, for the
 * admin API.
 */
export interface HistoryMessage extends Base {
  type: 'history';
  reloads: ReloadRecord[];
  counters: ReloadCounters;
}

/** worker → master: draining has begun with this many connections open. */
export interface DrainingMessage extends Base {
  type: 'draining';
  pid: number;
  connections: number;
}

/** child → parent, as it exits after a drain: this many connections were still open at the deadline, and were cut. */
export interface DrainedMessage extends Base {
  type: 'drained';
  pid: number;
  cut: number;
}

/**
 * An idle HTTP/1 connection moving to the new generation, its socket as the
 * message's handle: old worker → master → a ready worker of the serving
 * generation that listens on `address`, or standalone process → successor.
 * Sent only once the sender has stopped reading it, so what the client sends
 * next waits in the kernel for the receiver.
 */
export interface ConnectionMessage extends Base {
  type: 'connection';
  /** The sender's number for it, which the answer names. */
  id: number;
  /** The name of the listening socket it came in on (`tcp:127.0.0.1:8080`). */
  address: string;
}

/**
 * The answer to a ConnectionMessage, to whoever sent it (new worker or
 * successor → its parent; master → old worker): whether a server there took
 * connection `id`. The sender keeps its own copy, unread, until told: taken,
 * it lets it go; not taken, it reads it again and serves it on.
 */
export interface ConnectionTakenMessage extends Base {
  type: 'connection-taken';
  id: number;
  taken: boolean;
}

/** How often a worker tells its master that its event loop runs. */
export const HEARTBEAT_MS = 1000;

/** worker → master, every HEARTBEAT_MS: its event loop runs, this late, with this many connections open. */
export interface HeartbeatMessage extends Base {
  type: 'heartbeat';
  pid: number;
  /** How late this beat's timer ran: the event loop's delay. */
  delayMs: number;
  connections: number;
  /** Its CPU time so far (user and system), in ms. */
  cpuMs?: number;
  /** What its servers' requests came to since the previous beat; absent when counting is off. */
  requests?: RequestCounts;
}

export type Message =
  | ReadyMessage
  | ListeningMessage
  | FailedMessage
  | ListenRequestMessage
  | ListenResultMessage
  | DrainMessage
  | CloseShareMessage
  | DrainingMessage
  | DrainedMessage
  | HistoryMessage
  | HeartbeatMessage
  | ConnectionMessage
  | ConnectionTakenMessage;

export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string };

const isPid = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isCount = isId;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 * 1024;
const isShort = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 4096;
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 1024 && v.every(isShort);
const opt = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v);

export function parseMessage(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not an object' };
  const m = raw as Record<string, unknown>;
  if (m.baton !== PROTOCOL_VERSION)
    return { ok: false, reason: `protocol version ${String(m.baton)} is not ${PROTOCOL_VERSION}` };
  return parseState(m) ?? parseExchange(m) ?? { ok: false, reason: `unknown type ${JSON.stringify(m.type)}` };
}

/** What a child says of itself: ready, where it listens, failed, its heartbeat, draining, drained. */
function parseState(m: Record<string, unknown>): ParseResult | undefined {
  const base = { baton: PROTOCOL_VERSION } as const;
  switch (m.type) {
    case 'ready':
      if (!isPid(m.pid)) return bad('ready', 'pid');
      if (!isNames(m.listening)) return bad('ready', 'listening');
      return ok({ ...base, type: 'ready', pid: m.pid, listening: m.listening });
    case 'listening':
      if (!isPid(m.pid)) return bad('listening', 'pid');
      if (!isNames(m.listening) || typeof m.settled !== 'boolean') return bad('listening', 'listening/settled');
      return ok({ ...base, type: 'listening', pid: m.pid, listening: m.listening, settled: m.settled });
    case 'failed':
      if (!isPid(m.pid)) return bad('failed', 'pid');
      if (!isStr(m.error) || !isStr(m.stderrTail)) return bad('failed', 'error/stderrTail');
      return ok({ ...base, type: 'failed', pid: m.pid, error: m.error, stderrTail: m.stderrTail });
    case 'draining':
      if (!isPid(m.pid)) return bad('draining', 'pid');
      return isCount(m.connections)
        ? ok({ ...base, type: 'draining', pid: m.pid, connections: m.connections })
        : bad('draining', 'connections');
    case 'heartbeat':
      return parseHeartbeat(m);
    case 'drained':
      if (!isPid(m.pid)) return bad('drained', 'pid');
      return isCount(m.cut) ? ok({ ...base, type: 'drained', pid: m.pid, cut: m.cut }) : bad('drained', 'cut');
    default:
      return undefined;
  }
}

function parseHeartbeat(m: Record<string, unknown>): ParseResult {
  if (!isPid(m.pid)) return bad('heartbeat', 'pid');
  if (!isTime(m.delayMs) || !isCount(m.connections)) return bad('heartbeat', 'delayMs/connections');
  if (!opt(m.cpuMs, isTime)) return bad('heartbeat', 'cpuMs');
  const requests = m.requests === undefined ? undefined : requestCountsOf(m.requests);
  if (m.requests !== undefined && requests === undefined) return bad('heartbeat', 'requests');
  return ok({
    baton: PROTOCOL_VERSION,
    type: 'heartbeat',
    pid: m.pid,
    delayMs: m.delayMs,
    connections: m.connections,
    ...(m.cpuMs === undefined ? {} : { cpuMs: m.cpuMs as number }),
    ...(requests === undefined ? {} : { requests }),
  });
}

/**
 * What the two ends ask of each other: a socket to listen on, a drain, the upgrade record, a connection handed over.
 */
function parseExchange(m: Record<string, unknown>): ParseResult | undefined {
  const base = { baton: PROTOCOL_VERSION } as const;
  switch (m.type) {
    case 'listen':
      if (!isId(m.id)) return bad('listen', 'id');
      return isShort(m.address)
        ? ok({ ...base, type: 'listen', id: m.id, address: m.address })
        : bad('listen', 'address');
    case 'listen-result':
      if (!isId(m.id)) return bad('listen-result', 'id');
      if (!opt(m.name, isShort) || !opt(m.code, isShort) || (m.name === undefined) === (m.code === undefined)) {
        return bad('listen-result', 'name/code (exactly one)');
      }
      return ok({
        ...base,
        type: 'listen-result',
        id: m.id,
        name: m.name as string | undefined,
        code: m.code as string | undefined,
      });
    case 'drain':
      if (m.reason !== 'upgrade' && m.reason !== 'stop') return bad('drain', 'reason');
      return isTime(m.deadline)
        ? ok({ ...base, type: 'drain', reason: m.reason, deadline: m.deadline })
        : bad('drain', 'deadline');
    case 'close-share':
      return typeof m.share === 'number' && m.share >= 0 && m.share <= 1
        ? ok({ ...base, type: 'close-share', share: m.share })
        : bad('close-share', 'share');
    case 'history':
      if (!Array.isArray(m.reloads) || m.reloads.length > HISTORY || !m.reloads.every(isRecord))
        return bad('history', 'reloads');
      if (!isCounters(m.counters)) return bad('history', 'counters');
      return ok({ ...base, type: 'history', reloads: m.reloads.map(recordOf), counters: countersOf(m.counters) });
    case 'connection':
      if (!isId(m.id)) return bad('connection', 'id');
      return isShort(m.address)
        ? ok({ ...base, type: 'connection', id: m.id, address: m.address })
        : bad('connection', 'address');
    case 'connection-taken':
      if (!isId(m.id)) return bad('connection-taken', 'id');
      return typeof m.taken === 'boolean'
        ? ok({ ...base, type: 'connection-taken', id: m.id, taken: m.taken })
        : bad('connection-taken', 'taken');
    default:
      return undefined;
  }
}

function isRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    isPid(r.generation) &&
    typeof r.ok === 'boolean' &&
    isTime(r.ms) &&
    isShort(r.at) &&
    opt(r.reason, isStr) &&
    opt(r.cut, isCount)
  );
}

/** Only the fields a record has. */
function recordOf(v: unknown): ReloadRecord {
  const { generation, ok, ms, at, reason, cut } = v as ReloadRecord;
  return { generation, ok, ms, at, ...(reason === undefined ? {} : { reason }), ...(cut === undefined ? {} : { cut }) };
}

function isCounters(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    isCount(c.ok) &&
    isCount(c.failed) &&
    isCount(c.durationMs) &&
    Array.isArray(c.buckets) &&
    c.buckets.length <= 64 &&
    c.buckets.every(isCount)
  );
}

function countersOf(v: unknown): ReloadCounters {
  const { ok, failed, buckets, durationMs } = v as ReloadCounters;
  return { ok, failed, buckets, durationMs };
}

function ok(message: Message): ParseResult {
  return { ok: true, message };
}

function bad(type: string, field: string): ParseResult {
  return { ok: false, reason: `'${type}' message with a missing or invalid ${field}` };
}

/** Messages that are not baton's (an app's own process.send traffic) are not errors. */
export function isBatonMessage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'baton' in raw;
}

type Body<M> = M extends Message ? Omit<M, 'baton'> : never;

/** Stamps the protocol version on an outgoing message. */
export function message(body: Body<Message>): Message {
  return { baton: PROTOCOL_VERSION, ...body } as Message;
}
