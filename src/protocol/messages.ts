/**
 * Control messages between generations, JSON over Node's IPC channel. Every
 * message carries the protocol version; anything malformed or unknown is
 * rejected by parseMessage(), never trusted.
 */
export const PROTOCOL_VERSION = 1;

/** A child tells its spawner it serves: the spawner may now drain. */
export interface ReadyMessage {
  baton: typeof PROTOCOL_VERSION;
  type: 'ready';
  pid: number;
}

/** A child that dies before it is ready says why, so the spawner can log it. */
export interface FailedMessage {
  baton: typeof PROTOCOL_VERSION;
  type: 'failed';
  pid: number;
  error: string;
  stderrTail: string;
}

/** The spawner asks a child to drain and exit (used for rollback and stop). */
export interface DrainMessage {
  baton: typeof PROTOCOL_VERSION;
  type: 'drain';
}

export type Message = ReadyMessage | FailedMessage | DrainMessage;

export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 * 1024;

export function parseMessage(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'not an object' };
  const m = raw as Record<string, unknown>;
  if (m.baton !== PROTOCOL_VERSION) return { ok: false, reason: `protocol version ${String(m.baton)} is not ${PROTOCOL_VERSION}` };
  switch (m.type) {
    case 'ready':
      return isInt(m.pid) ? { ok: true, message: { baton: PROTOCOL_VERSION, type: 'ready', pid: m.pid } } : bad('ready', 'pid');
    case 'failed':
      if (!isInt(m.pid)) return bad('failed', 'pid');
      if (!isStr(m.error) || !isStr(m.stderrTail)) return bad('failed', 'error/stderrTail');
      return { ok: true, message: { baton: PROTOCOL_VERSION, type: 'failed', pid: m.pid, error: m.error, stderrTail: m.stderrTail } };
    case 'drain':
      return { ok: true, message: { baton: PROTOCOL_VERSION, type: 'drain' } };
    default:
      return { ok: false, reason: `unknown type ${JSON.stringify(m.type)}` };
  }
}

function bad(type: string, field: string): ParseResult {
  return { ok: false, reason: `'${type}' message with a missing or invalid ${field}` };
}

/** Messages that are not baton's (an app's own process.send traffic) are not errors. */
export function isBatonMessage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'baton' in raw;
}
