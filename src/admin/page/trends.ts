/**
 * Each worker's CPU use and requests a second between the two last heartbeats this page saw, which the master's
 * status does not say. Its small charts (memory, event-loop delay, connections, requests) come from the master's
 * history of its heartbeats, the same in every tab. Kept while the worker is listed.
 */
import type { WorkerStatus } from '../../protocol/control.js';
import { perMs, type Reading, sparkPoints } from './view.js';

const SVG = 'http://www.w3.org/2000/svg';

export interface Trend {
  /** The totals its last heartbeat said, and when that heartbeat came. */
  cpu?: Reading;
  requests?: Reading;
  /** % of one core, and requests a second, between its last two heartbeats. */
  cpuPercent?: number;
  perSecond?: number;
}

const trends = new Map<number, Trend>();

/** Adds the status's figures of each worker listed, and forgets those no longer listed. */
export function sample(workers: readonly WorkerStatus[], now: number): void {
  for (const w of workers) {
    const t = trends.get(w.pid) ?? {};
    // As of its heartbeat: a poll that finds the same heartbeat again keeps the figures it had.
    const at = now - (w.heartbeatAgeMs ?? 0);
    const requests = w.requests && Object.values(w.requests).reduce((a, b) => a + b, 0);
    const cpu = perMs(t.cpu, { value: w.cpuMs, at });
    const rate = perMs(t.requests, { value: requests, at });
    if (cpu !== undefined) t.cpuPercent = cpu * 100;
    if (rate !== undefined) t.perSecond = rate * 1000;
    if (w.cpuMs !== undefined && (!t.cpu || at > t.cpu.at)) t.cpu = { value: w.cpuMs, at };
    if (requests !== undefined && (!t.requests || at > t.requests.at)) t.requests = { value: requests, at };
    trends.set(w.pid, t);
  }
  const listed = new Set(workers.map((w) => w.pid));
  for (const pid of trends.keys()) if (!listed.has(pid)) trends.delete(pid);
}

export const trendOf = (pid: number): Trend | undefined => trends.get(pid);

/** A small line chart of `values` (decoration: the figure beside it says the number). */
export function spark(values: readonly number[] = []): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 48 14');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', sparkPoints(values, 48, 14));
  svg.append(line);
  return svg;
}
