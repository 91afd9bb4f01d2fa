/**
 * baton's own events: one line each on stderr, with time, pid and generation,
 * as text or JSON lines (the logFormat setting). Writes are synchronous so a
 * line is never lost to an exit that follows it.
 */
import fs from 'node:fs';
import type { TimelineEvent } from './protocol/control.js';
import type { LogFormat } from './protocol/settings.js';

export type LogFields = Record<string, string | number | boolean | undefined>;

let generation = 1;
let json = false;

/** A line as a listener of this process's log sees it. */
export type LogEntry = Omit<TimelineEvent, 'id'>;

let tap: ((entry: LogEntry) => void) | undefined;

/** Hears every line logged from now on (the master keeps them as its timeline, control/events.ts). */
export function tapLog(listener: (entry: LogEntry) => void): void {
  tap = listener;
}

export function configureLog(options: { generation?: number; format?: LogFormat }): void {
  if (options.generation !== undefined) generation = options.generation;
  if (options.format !== undefined) json = options.format === 'json';
}

export function log(level: 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
  const time = new Date().toISOString();
  const entry = { at: time, level, pid: process.pid, generation, text: msg, fields };
  const line = json
    ? JSON.stringify({ time, level, pid: process.pid, gen: generation, msg, ...fields })
    : textLine(entry);
  try {
    fs.writeSync(2, `${line}\n`);
  } catch {
    // stderr closed (EPIPE/EAGAIN): there is nowhere left to say it.
  }
  tap?.(entry);
}

/** A line as text: `TIME baton[PID] gen=G LEVEL: TEXT k=v …`. */
export function textLine(e: LogEntry): string {
  return `${e.at} baton[${e.pid}] gen=${e.generation} ${entryText(e)}`;
}

/** What a line says, without its time, pid and generation: `LEVEL: TEXT k=v …`. */
export function entryText(e: LogEntry): string {
  // An empty field (`sockets=` before any listen) reads as a value gone missing: left out.
  const extra = Object.entries(e.fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => ` ${k}=${typeof v === 'string' && /[\s"]/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join('');
  return `${e.level}: ${e.text}${extra}`;
}

/** The last lines of a failed process's stderr, one log line each, so they stay readable and greppable. */
export function logTail(who: string, tail: string, max = 20): void {
  for (const line of tail.trimEnd().split('\n').filter(Boolean).slice(-max)) log('error', `${who} stderr | ${line}`);
}

/** An error as one log line: its name and the first line of its message. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0];
}

/** An error's message alone, for a log field or a reply. */
export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
