/**
 * Each worker's recent figures, as this page polled them: its CPU use between two heartbeats, and small charts of
 * its memory and event-loop delay over the last minute or so. Kept while the worker is listed.
 */
import type { WorkerStatus } from '../../protocol/control.js';
import { cpuPercent, sparkPoints } from './view.js';

/** Samples kept per worker: a minute at one poll a second. */
const KEPT = 60;
const SVG = 'http://www.w3.org/2000/svg';

interface Trend {
  /** The CPU time its last heartbeat said, and when that heartbeat came. */
  cpu?: { cpuMs: number; at: number };
  cpuPercent?: number;
  rss: number[];
  delay: number[];
}

const trends = new Map<number, Trend>();

/** Adds the status's figures of each worker listed, and forgets those no longer listed. */
export function sample(workers: readonly WorkerStatus[], now: number): void {
  for (const w of workers) {
    const t = trends.get(w.pid) ?? { rss: [], delay: [] };
    // As of its heartbeat: a poll that finds the same heartbeat again keeps the figure it had.
    const at = now - (w.heartbeatAgeMs ?? 0);
    t.cpuPercent = cpuPercent(t.cpu, { cpuMs: w.cpuMs, at }) ?? t.cpuPercent;
    if (w.cpuMs !== undefined && (t.cpu === undefined || at > t.cpu.at)) t.cpu = { cpuMs: w.cpuMs, at };
    if (w.rssBytes !== null) t.rss = [...t.rss, w.rssBytes].slice(-KEPT);
    if (w.delayMs !== null) t.delay = [...t.delay, w.delayMs].slice(-KEPT);
    trends.set(w.pid, t);
  }
  const listed = new Set(workers.map((w) => w.pid));
  for (const pid of trends.keys()) if (!listed.has(pid)) trends.delete(pid);
}

export const trendOf = (pid: number): Trend | undefined => trends.get(pid);

/** A small line chart of `values` (decoration: the figure beside it says the number). */
export function spark(values: readonly number[]): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 48 14');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', sparkPoints(values, 48, 14));
  svg.append(line);
  return svg;
}
