/**
 * What the admin page shows, decided from what the API answered: pure functions of the status, a reload record or a
 * phase, no DOM, so that they are unit-tested in Node (test/unit/page-view.test.mjs) and bundled into the page's
 * script (scripts/page.mjs).
 */
import { formatMs } from '../../format.js';
import {
  canaryText,
  type LastExit,
  type Phase,
  type ReleaseIdentity,
  type ReloadRecord,
  type Status,
  type WorkerStatus,
} from '../../protocol/control.js';

export { formatMs, mib } from '../../format.js';

/** `1 connection`, `3 connections`. */
export const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** A moment, as the reader's clock says it: the time alone today, the date too on another day. */
export function when(iso: string, today = new Date()): string {
  const at = new Date(iso);
  return at.toDateString() === today.toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
}

/** When a reload started: older masters recorded only its end. */
const startOf = (r: ReloadRecord): string => r.startedAt ?? r.at;

/** The reload history, newest first by when each started (a long drain does not push a later reload down). */
export function newestFirst(reloads: readonly ReloadRecord[]): ReloadRecord[] {
  return reloads.slice().sort((a, b) => startOf(b).localeCompare(startOf(a)));
}

/** When the serving generation began to serve: the switch of the reload that put it in service; undefined at start. */
export function servingSince(s: Pick<Status, 'reloads' | 'generation'>): string | undefined {
  const put = s.reloads.find((r) => r.ok && r.generation === s.generation);
  if (!put) return undefined;
  if (put.startedAt === undefined || put.inServiceMs === undefined) return put.at;
  return new Date(Date.parse(put.startedAt) + put.inServiceMs).toISOString();
}

/** A release as the page names it: `v2 (1.4.0 · 3f2c1a9b0d4e)`, with what is known of its code. */
export function releaseText(name: string, id: ReleaseIdentity | undefined): string {
  const known = [id?.version, id?.revision?.slice(0, 12)].filter(Boolean).join(' · ');
  return known ? `${name} (${known})` : name;
}

/** A reload's row: its start, the switch, the drain after the switch, and what else is to say. */
export function reloadCells(
  r: ReloadRecord,
  identities: Record<string, ReleaseIdentity> = {},
): { started: string; switched: string; drained: string; details: string } {
  const cut = r.cut ? `${count(r.cut, 'connection', 'connections')} cut at the drain timeout` : '';
  return {
    started: startOf(r),
    switched: r.ok && r.inServiceMs !== undefined ? formatMs(r.inServiceMs) : '–',
    drained: r.drainedMs !== undefined && r.inServiceMs !== undefined ? formatMs(r.drainedMs - r.inServiceMs) : '–',
    details: [
      r.release ? `release ${releaseText(r.release, identities[r.release])}` : '',
      r.ok ? cut : (r.reason ?? ''),
    ]
      .filter(Boolean)
      .join(' · '),
  };
}

/** The connection state in the header: the master answering, stopping, or gone. */
export type Live = { state: 'up' | 'stopping' | 'down' | 'idle'; text: string };

export function liveOf(s: Pick<Status, 'stopping'>): Live {
  const stopping = s.stopping;
  if (!stopping) return { state: 'up', text: 'live' };
  if (stopping.phase === 'delay')
    return { state: 'stopping', text: `stopping: not ready, serving on for ${formatMs(stopping.msLeft)}` };
  return { state: 'stopping', text: 'stopping: draining' };
}

/**
 * Whether Reload, Stop and the release picker are disabled: while this page's own reload has not switched yet, and
 * for a master that stops (whoever told it to), or that this page stopped until another one answers.
 */
export function actionsDisabled(
  s: Pick<Status, 'stopping' | 'masterPid'>,
  reloading: number,
  stoppedPid: number | null,
) {
  return reloading > 0 || s.stopping !== undefined || (stoppedPid !== null && s.masterPid === stoppedPid);
}

/** A worker's state as its pill says it: a ready worker silent too long is unresponsive. */
export const stateOf = (w: Pick<WorkerStatus, 'state' | 'unresponsive'>): string =>
  w.unresponsive ? 'unresponsive' : w.state;

/** How a worker's slot last crashed: `code 1 · 3m 12s ago`, `SIGKILL · 4s ago`; `–` while none has. */
export function exitText(e: LastExit | undefined, now = Date.now()): string {
  if (!e) return '–';
  return `${e.signal ?? `code ${e.code}`} · ${formatMs(now - Date.parse(e.at))} ago`;
}

/**
 * The tab's title: the app and its generation; a master that does not answer says so first, so that a tab in the
 * background shows it too.
 */
export function titleOf(s: Pick<Status, 'name' | 'generation'> | undefined, answering: boolean): string {
  const what = s ? `baton · ${s.name} · generation ${s.generation}` : 'baton';
  return answering ? what : `⚠ not answering · ${what}`;
}

/** An answer of the API that means this page is not signed in: no session, or this address locked for failures. */
export const signedOut = (status: number): boolean => status === 401 || status === 429;

/** A figure as of a heartbeat: a total so far (CPU time, requests), and when the heartbeat came. */
export interface Reading {
  value: number;
  at: number;
}

/**
 * How fast a total grew between two heartbeats, per ms (CPU ms per ms is a share of one core); undefined without two
 * of them, or for the same heartbeat again, or a total that went down (another process behind the pid).
 */
export function perMs(before: Reading | undefined, now: { value: number | undefined; at: number }): number | undefined {
  if (!before || now.value === undefined || now.at <= before.at || now.value < before.value) return undefined;
  return (now.value - before.value) / (now.at - before.at);
}

/** A sparkline's polyline points, the oldest at the left, scaled from 0 to the highest value; '' for fewer than 2. */
export function sparkPoints(values: readonly number[], width: number, height: number): string {
  if (values.length < 2) return '';
  const top = Math.max(...values) || 1;
  const step = width / (values.length - 1);
  const y = (v: number) => (height - (v / top) * (height - 1) - 0.5).toFixed(1);
  return values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(' ');
}

/** A share as a percentage: `0.4 %`, `12 %`. */
export const percent = (share: number): string =>
  `${share * 100 < 10 ? (share * 100).toFixed(1) : Math.round(share * 100)} %`;

/** The workers card's figures: how many ready, and the rest. */
export function workerCounts(workers: readonly Pick<WorkerStatus, 'state'>[]): { ready: string; more: string } {
  const by = (state: WorkerStatus['state']) => workers.filter((w) => w.state === state).length;
  return {
    ready: String(by('ready')),
    more: `ready · ${by('starting')} starting · ${by('draining')} draining`,
  };
}

/** A reload's phase, in words. */
export function phaseText(p: Phase): string {
  switch (p.phase) {
    case 'queued':
      return `Waiting: ${p.reason}`;
    case 'spawned':
      return `Started generation ${p.generation}${p.release ? ` (release ${p.release})` : ''}: ${
        p.pids.length === 1 ? 'pid ' : 'pids '
      }${p.pids.join(', ')}`;
    case 'ready':
      return `Generation ${p.generation} ready after ${formatMs(p.ms)}`;
    case 'draining':
      return `Draining generation ${p.generation} (${count(p.connections, 'open connection', 'open connections')})`;
    case 'done':
      return `Done: generation ${p.generation} serves`;
    case 'canary':
      return `Canary: generation ${p.generation}, ${canaryText(p)}`;
    case 'comparing':
      return `Canary: ${p.text}`;
    case 'verdict':
      return `Canary ${p.ok ? 'passed' : 'failed'}: ${p.text}`;
    case 'rollback':
      return `Generation ${p.generation} failed: rolled back`;
    case 'master':
      return `Started master pid ${p.pid} (baton ${p.version} on node ${p.node})`;
  }
}

/** Server-Sent Events from a text stream: calls `onEvent` with each block's event name and parsed data. */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (name: string, data: unknown) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (name && data) onEvent(name[1], JSON.parse(data[1]));
      end = buffer.indexOf('\n\n');
    }
  }
}
