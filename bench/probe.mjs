// A light second client that runs beside the load generator and timestamps
// every one of its requests: a few connections, each sending one request
// after another with a short pause between them. It gives what wrk cannot:
// latency inside the restart windows against outside them, failures per
// second for the chart, and how long connections were refused per restart.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const TIMEOUT_MS = 5000;
/** Milliseconds since the epoch, to the microsecond. */
const now = () => performance.timeOrigin + performance.now();

/** Outcome kinds: ok, refused (ECONNREFUSED), reset (the server closed a request in flight), timeout, non2xx, other. */
function kindOf(err) {
  if (err.code === 'ECONNREFUSED') return 'refused';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || /socket hang up/.test(err.message)) return 'reset';
  return 'other';
}

/** Requests by outcome, none yet. */
const noCounts = () => ({ ok: 0, refused: 0, reset: 0, timeout: 0, non2xx: 0, other: 0 });

/** The outcomes of several probes, added up. */
export function sumCounts(probes) {
  const counts = noCounts();
  for (const p of probes) for (const [k, v] of Object.entries(p.counts)) counts[k] += v;
  return counts;
}

/**
 * keep: true keeps every request { t0, t1, kind } (ms since epoch); false
 * keeps only the counts (for the soak). Bounded by maxMs.
 */
export function startProbe({
  host = '127.0.0.1',
  port,
  mode,
  concurrency = 4,
  gapMs = 5,
  maxMs = 600_000,
  keep = true,
}) {
  const agent = mode === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
  const records = [];
  const counts = noCounts();
  const started = Date.now();
  let stopped = false;

  const one = () =>
    new Promise((resolve) => {
      const t0 = now();
      let settled = false;
      const settle = (kind) => {
        if (settled) return;
        settled = true;
        counts[kind]++;
        if (keep) records.push({ t0, t1: now(), kind });
        resolve();
      };
      const req = http.request({ host, port, path: '/', agent, timeout: TIMEOUT_MS }, (res) => {
        res.resume();
        res.on('end', () => settle(res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : 'non2xx'));
        res.on('error', (err) => settle(kindOf(err)));
      });
      req.on('timeout', () => {
        settle('timeout');
        req.destroy();
      });
      req.on('error', (err) => settle(kindOf(err)));
      req.end();
    });

  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped && Date.now() - started < maxMs) {
      await one();
      await new Promise((r) => setTimeout(r, gapMs));
    }
  });
  const done = Promise.all(loops).then(() => {
    if (agent) agent.destroy();
  });
  return {
    records,
    counts,
    async stop() {
      stopped = true;
      await done;
      return { records, counts };
    },
  };
}

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Splits the probe's requests by whether they started inside a restart
 * window [start, end + slackMs]: p50/p99 of successful requests inside and
 * outside, failures by kind, and per restart how long connections were
 * refused (first refused request's start to last refused request's end).
 */
export function analyseProbe(records, windows, { slackMs = 100 } = {}) {
  const inWindow = (t) => windows.some((w) => t >= w.start && t <= w.end + slackMs);
  const inside = [];
  const outside = [];
  const failures = {};
  for (const r of records) {
    if (r.kind === 'ok') (inWindow(r.t0) ? inside : outside).push(r.t1 - r.t0);
    else failures[r.kind] = (failures[r.kind] ?? 0) + 1;
  }
  inside.sort((a, b) => a - b);
  outside.sort((a, b) => a - b);
  const refusedMs = windows.map((w) => {
    const refused = records.filter((r) => r.kind === 'refused' && r.t0 >= w.start - slackMs && r.t0 <= w.end + 1000);
    if (!refused.length) return 0;
    return Math.max(...refused.map((r) => r.t1)) - Math.min(...refused.map((r) => r.t0));
  });
  return {
    requests: records.length,
    failed: Object.entries(failures)
      .filter(([k]) => k !== 'refused')
      .reduce((n, [, v]) => n + v, 0),
    refused: failures.refused ?? 0,
    failures,
    steady: { n: outside.length, p50: percentile(outside, 50), p99: percentile(outside, 99) },
    restart: { n: inside.length, p50: percentile(inside, 50), p99: percentile(inside, 99) },
    refusedMsPerRestart: refusedMs,
  };
}

/** Failures per unix second (the same bins as wrk's os.time()), by kind. */
export function probePerSecond(records) {
  const out = {};
  for (const r of records) {
    if (r.kind === 'ok') continue;
    const s = Math.floor(r.t0 / 1000);
    const e = (out[s] ??= { failed: 0, refused: 0 });
    if (r.kind === 'refused') e.refused++;
    else e.failed++;
  }
  return out;
}
