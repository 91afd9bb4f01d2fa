// Clients that each hold a keep-alive connection of their own and pause
// between requests, as browsers, pooled service callers and apps behind an L4
// balancer do, through restarts: N clients (2,000; --quick 300), each waiting
// 1–2.5 s between requests, a restart every 3 s, under baton run -w 2, baton
// standalone, PM2 cluster ×2 and node:cluster ×2, on bench/app.mjs. A load
// generator that never pauses never shows what happens to an idle connection.
// Per target: failed requests (per restart); connections moved (a client's
// next request answered by a new process on the connection it already had);
// for baton, from the new generation ready to the old one drained; and the
// floor under that: what Node's IPC alone takes for one old worker's share
// (bench/ipc-floor.mjs).
//
// `npm run bench` runs it after the protocols; alone, into an earlier run's
// results: `node bench/run.mjs --only paused --soak 0 --merge results/DATE.json`.
import http from 'node:http';
import { ipcFloor } from './ipc-floor.mjs';
import { percentile } from './probe.mjs';
import { startBatonRun, startNodeCluster, startPm2, startStandalone } from './targets.mjs';
import { freePort, sleep, waitFor } from '../dist/testing/harness.js';

const PAUSE_MS = { min: 1000, max: 2500 };
const RESTART_EVERY_MS = 3000;

const TARGETS = [
  { id: 'baton-run-2', start: (port) => startBatonRun({ port, delayMs: 0, workers: 2 }) },
  { id: 'baton-standalone', start: (port) => startStandalone({ port, delayMs: 0 }) },
  { id: 'pm2-cluster', start: (port) => startPm2({ port, delayMs: 0, instances: 2 }) },
  { id: 'node-cluster', start: (port) => startNodeCluster({ port, delayMs: 0, workers: 2 }) },
];

/** One GET / through `agent`: { pid, socket, reused } or { error }. */
function get(port, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () =>
        resolve(
          res.statusCode === 200
            ? { pid: Number(body), socket: req.socket, reused: req.reusedSocket }
            : { error: `status_${res.statusCode}` },
        ),
      );
      res.on('error', (/** @type {NodeJS.ErrnoException} */ err) => resolve({ error: err.code ?? 'response_error' }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (/** @type {NodeJS.ErrnoException} */ err) =>
      resolve({ error: `${err.code ?? 'error'}${req.reusedSocket ? '(reused)' : ''}` }),
    );
  });
}

/** `clients` loops, each on an agent of one keep-alive socket, pausing between requests, until stop(). */
function startPausedClients(port, clients) {
  const stats = { ok: 0, failed: 0, failures: {}, moved: 0, opened: 0, latenciesMs: [] };
  let stopped = false;
  const pause = () => sleep(PAUSE_MS.min + Math.random() * (PAUSE_MS.max - PAUSE_MS.min));
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const pidOf = new WeakMap();
    await pause();
    while (!stopped) {
      const sent = performance.now();
      const r = await get(port, agent);
      stats.latenciesMs.push(performance.now() - sent);
      if (r.error) {
        stats.failed++;
        stats.failures[r.error] = (stats.failures[r.error] ?? 0) + 1;
      } else {
        stats.ok++;
        if (!r.reused) stats.opened++;
        else if (pidOf.get(r.socket) !== r.pid) stats.moved++;
        pidOf.set(r.socket, r.pid);
      }
      await pause();
    }
    agent.destroy();
  };
  const loops = Array.from({ length: clients }, client);
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

function latencyOf(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null };
}

async function measureTarget(t, { clients, restarts, log }) {
  const port = await freePort();
  const target = await t.start(port);
  const load = startPausedClients(port, clients);
  try {
    await waitFor(() => load.stats.ok + load.stats.failed >= clients, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `${clients} clients to be answered once`,
    });
    const before = { ...load.stats };
    load.stats.failures = {};
    load.stats.latenciesMs = [];
    const t0 = Date.now();
    const done = [];
    for (let k = 0; k < restarts; k++) {
      await sleep(t0 + RESTART_EVERY_MS * k - Date.now());
      done.push(await target.restart());
    }
    await sleep(t0 + RESTART_EVERY_MS * restarts - Date.now());
    const s = load.stats;
    const row = {
      id: t.id,
      group: t.id,
      name: target.label,
      commands: target.commands,
      clients,
      pauseMs: PAUSE_MS,
      restartEveryMs: RESTART_EVERY_MS,
      restarts: done.length,
      restartsFailed: done.filter((r) => !r.ok).map((r) => r.detail),
      ok: s.ok - before.ok,
      failed: s.failed - before.failed,
      failures: { ...s.failures },
      latencyMs: latencyOf(s.latenciesMs),
      moved: s.moved - before.moved,
      opened: s.opened - before.opened,
      drainedAfterReadyMs: done.map((r) =>
        r.drainedMs !== undefined && r.readyMs !== undefined ? r.drainedMs - r.readyMs : null,
      ),
    };
    log(
      `paused clients, ${row.name}: ${row.ok} ok, ${row.failed} failed (${(row.failed / row.restarts).toFixed(1)} per restart)` +
        `, ${row.moved} connections moved, ${row.opened} opened, ${row.restarts} restarts` +
        `, latency p50 ${row.latencyMs.p50.toFixed(1)} / p99 ${row.latencyMs.p99.toFixed(1)} / max ${row.latencyMs.max.toFixed(0)} ms` +
        `${row.drainedAfterReadyMs.some((ms) => ms !== null) ? `, ready → old drained ${row.drainedAfterReadyMs.join(', ')} ms` : ''}` +
        `${Object.keys(row.failures).length ? `; failures ${JSON.stringify(row.failures)}` : ''}`,
    );
    return row;
  } finally {
    await load.stop();
    await target.stop();
  }
}

export async function runPaused({ quick, clients = quick ? 300 : 2000, restarts = quick ? 3 : 5, log }) {
  const rows = [];
  for (const t of TARGETS) rows.push(await measureTarget(t, { clients, restarts, log }));
  // What each old worker of `baton run -w 2` hands over, at the least Node's IPC takes for it.
  const floor = { sockets: clients / 2, ms: await ipcFloor(clients / 2) };
  log(`Node's IPC alone: ${floor.sockets} idle sockets from one process to another in ${floor.ms} ms`);
  return { measuredAt: new Date().toISOString(), rows, ipcFloor: floor };
}
