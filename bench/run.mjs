// `npm run bench` (about 30 min) and `npm run bench -- --quick` (1–2 min):
// the same tiny app (bench/app.mjs) under bare node, baton (supervisor and
// standalone), a naive restart, PM2 cluster mode and node:cluster, each
// under the same load generator with keep-alive and with a new connection per
// request, steady and with a restart every 2 s; then a soak of many baton
// reloads; HTTP/2 and WebSockets under their own clients (bench/protocols.mjs);
// clients that pause on keep-alive connections of their own
// (bench/paused.mjs); a leaking app under --max-memory for 10 minutes
// (bench/leak-soak.mjs, `--only leak`); the workers moved onto another Node.js every
// few seconds (bench/node-switch.mjs, `--only node-switch`); a release answering 500 rolled back by
// the crash-window gate and by a canary (bench/canary.mjs, `--only canary`). First, the preload's own start-up cost: the app started with and
// without `--import batonjs/register`, in turn. Prints the table, writes
// results/<date>.json, the SVG chart and RESULTS.md. Loopback only; every
// process it starts is stopped, PM2's daemon included, even on failure.
//
// Flags: --quick, --duration S (per row), --only a,b (groups, see GROUPS;
// `--only soak`: no rows, the soak alone, merged with --merge), --handlers 0,50,
// --soak N (reloads; 0 skips), --out DIR (default bench/), --connections N
// (50), --ab-rounds N (bare against baton run -w 1, loaded at once; 0 skips, and so
// does --only unless this is given), --preload-pairs N (app starts without and
// with the preload, in turn; 0 skips, and so does --only unless it names
// `preload`), --no-install (never apt-get wrk); --from JSON only rewrites the
// report from an earlier run's results; --merge JSON puts this run into an
// earlier run's results (its soak, rows and A/B replaced or added, the rest
// kept, RESULTS.md saying which run measured what), so that a few rows or the
// soak are measured again without the half hour of rows, whose throughput
// would not compare on a machine that is busy meanwhile. The preload's row
// alone: --only preload --soak 0 --out DIR. --node PATH runs the targets (and
// the A/B) on that node binary, the rows labelled with its version;
// --modes keepalive and --scenarios restart keep only those rows. The heavy
// app (bench/apps/heavy, NestJS) has its groups (heavy-*), and
// `--only compile-cache` times its start with and without Node's module
// compile cache (--cache-pairs N, in turn), on --node (Node 22.1 or later).
// `--only counting`: the workers' request counting on against off (baton run
// -w 1, the same build, loaded at once; in every full run too).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseLoadGen, classify, runLoad } from './load.mjs';
import { analyseProbe, percentile, probePerSecond, startProbe, sumCounts } from './probe.mjs';
import { runPaused } from './paused.mjs';
import { runLeakSoak } from './leak-soak.mjs';
import { runNodeSwitch } from './node-switch.mjs';
import { runCanary } from './canary.mjs';
import { runProtocols } from './protocols.mjs';
import { writeReport } from './report.mjs';
import { freePort, sleep } from '../dist/testing/harness.js';
import {
  appScript,
  live,
  measureAppStart,
  measureCompileCache,
  measurePreloadCost,
  processFigures,
  startBatonRun,
  startNode,
  startNodeCluster,
  startPm2,
  startStandalone,
  targetCpuMs,
} from './targets.mjs';
import { generate as generateHeavyApp } from './apps/heavy/generate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Row groups: one target started once, then measured in each of its rows
 * ([scenario, load mode]); `rows(quick)` says which. --quick keeps the
 * required rows (and node:cluster's restart with keep-alive only).
 */
const BOTH = ['keepalive', 'close'];
/** What `--only` takes, alone, for the soak without any group. */
const SOAK = 'soak';
const each = (scenario, modes = BOTH) => modes.map((m) => [scenario, m]);
/** --only's name for the preload's start-up row, which is no load group. */
const PRELOAD = 'preload';
/** --only's name for the heavy app's start with and without Node's compile cache. */
const COMPILE_CACHE = 'compile-cache';
/** --only's name for HTTP/2 and WebSockets under their own clients (bench/protocols.mjs). */
const PROTOCOLS = 'protocols';
/** --only's name for clients that pause on keep-alive connections of their own (bench/paused.mjs). */
const PAUSED = 'paused';
/** --only's name for the leaking app under --max-memory (bench/leak-soak.mjs). */
const LEAK = 'leak';
/** --only's name for `baton reload --node` again and again under load (bench/node-switch.mjs). */
const NODE_SWITCH = 'node-switch';
/** --only's name for a release answering 500, rolled back by the crash-window gate and by a canary (bench/canary.mjs). */
const CANARY = 'canary';
/** --only's name for the workers' request counting, on against off (baton run -w 1, loaded at once). */
const COUNTING = 'counting';
/** The apps a group runs: the tiny one, or NestJS with 40 generated modules (built by generate.mjs first). */
const APPS = {
  tiny: { script: appScript },
  heavy: { script: path.join(here, 'apps/heavy/main.mjs'), build: generateHeavyApp },
};
/** The heavy app's groups: the 0 ms handler only, restarts only (its steady throughput is Nest's, not baton's). */
const heavy = (id, name, start) => ({ id, name, app: 'heavy', handlers: [0], start, rows: () => each('restart') });
const GROUPS = [
  { id: 'bare', name: 'bare node', start: (o) => startNode(o), rows: () => each('steady') },
  {
    id: 'baton-run-1',
    name: 'baton run -w 1',
    start: (o) => startBatonRun({ ...o, workers: 1 }),
    rows: () => [...each('steady'), ...each('restart')],
  },
  {
    id: 'baton-run-2',
    name: 'baton run -w 2',
    start: (o) => startBatonRun({ ...o, workers: 2 }),
    rows: () => [...each('steady'), ...each('restart')],
  },
  {
    id: 'baton-upgrade',
    name: 'baton run -w 2, baton upgrade',
    start: (o) => startBatonRun({ ...o, workers: 2, restartWith: 'upgrade' }),
    rows: () => each('restart'),
  },
  {
    id: 'baton-standalone',
    name: 'baton standalone (SIGUSR2)',
    start: (o) => startStandalone(o),
    rows: (quick) => [...(quick ? [] : each('steady')), ...each('restart')],
  },
  { id: 'naive', name: 'naive restart (SIGTERM + start)', start: (o) => startNode(o), rows: () => each('restart') },
  {
    id: 'pm2-cluster',
    name: 'PM2 cluster ×2',
    start: (o) => startPm2({ ...o, instances: 2 }),
    rows: () => [...each('steady'), ...each('restart')],
  },
  {
    id: 'pm2-fork',
    name: 'PM2 fork mode',
    start: (o) => startPm2({ ...o, instances: 1, mode: 'fork' }),
    rows: (quick) => (quick ? [] : each('restart')),
  },
  {
    id: 'node-cluster',
    name: 'node:cluster ×2',
    start: (o) => startNodeCluster({ ...o, workers: 2 }),
    rows: (quick) => [...each('steady'), ...each('restart', quick ? ['keepalive'] : BOTH)],
  },
  heavy('heavy-run-1', 'heavy app (NestJS), baton run -w 1', (o) => startBatonRun({ ...o, workers: 1 })),
  heavy('heavy-run-2', 'heavy app (NestJS), baton run -w 2', (o) => startBatonRun({ ...o, workers: 2 })),
  heavy('heavy-standalone', 'heavy app (NestJS), baton standalone (SIGUSR2)', (o) => startStandalone(o)),
];

function parseFlags(argv) {
  const f = {
    quick: false,
    only: undefined,
    handlers: undefined,
    duration: undefined,
    soak: undefined,
    out: here,
    connections: 50,
    install: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') f.quick = true;
    else if (a === '--only') f.only = val().split(',').filter(Boolean);
    else if (a === '--handlers') f.handlers = val().split(',').map(Number);
    else if (a === '--duration') f.duration = Number(val());
    else if (a === '--soak') f.soak = Number(val());
    else if (a === '--out') f.out = path.resolve(val());
    else if (a === '--connections') f.connections = Number(val());
    else if (a === '--ab-rounds') f.abRounds = Number(val());
    else if (a === '--preload-pairs') f.preloadPairs = Number(val());
    else if (a === '--no-install') f.install = false;
    else if (a === '--from') f.from = path.resolve(val());
    else if (a === '--merge') f.merge = val();
    else if (a === '--node') f.node = path.resolve(val());
    else if (a === '--modes') f.modes = val().split(',').filter(Boolean);
    else if (a === '--scenarios') f.scenarios = val().split(',').filter(Boolean);
    else if (a === '--cache-pairs') f.cachePairs = Number(val());
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node bench/run.mjs [--quick] [--duration S] [--only GROUP,..] [--handlers 0,50] [--modes keepalive,close] [--scenarios steady,restart] [--soak N] [--out DIR] [--connections N] [--ab-rounds N] [--preload-pairs N] [--cache-pairs N] [--node PATH] [--merge results/DATE.json] [--no-install]',
      );
      console.log(
        "       node bench/run.mjs --from results/DATE.json [--out DIR]   (rewrites the table, chart and RESULTS.md from a run's JSON; measures nothing)",
      );
      console.log(
        "       node bench/run.mjs --only soak --merge results/DATE.json [--soak N] [--out DIR]   (the soak alone, put into that run's results)",
      );
      console.log(
        `groups: ${GROUPS.map((g) => g.id).join(', ')}; ${PRELOAD}, the preload's start-up cost; ${COMPILE_CACHE}, the heavy app's start with and without Node's compile cache; ${COUNTING}, request counting on against off; ${NODE_SWITCH}, the workers moved onto other Node.js lines; ${CANARY}, a 500 release under the gate and a canary; or ${SOAK} alone`,
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${a} (see --help)`);
  }
  const known = [
    ...GROUPS.map((g) => g.id),
    PRELOAD,
    COMPILE_CACHE,
    PROTOCOLS,
    PAUSED,
    COUNTING,
    LEAK,
    NODE_SWITCH,
    CANARY,
    SOAK,
  ];
  for (const id of f.only ?? [])
    if (!known.includes(id)) throw new Error(`--only: unknown group ${id} (${known.join(', ')})`);
  for (const m of f.modes ?? [])
    if (!BOTH.includes(m)) throw new Error(`--modes: unknown load mode ${m} (${BOTH.join(', ')})`);
  for (const sc of f.scenarios ?? [])
    if (!['steady', 'restart'].includes(sc)) throw new Error(`--scenarios: unknown scenario ${sc} (steady, restart)`);
  const soakOnly = f.only?.length === 1 && f.only[0] === SOAK;
  if (f.only?.includes(SOAK) && !soakOnly)
    throw new Error(`--only ${SOAK} runs the soak alone; the soak runs after any groups anyway (--soak N)`);
  if (soakOnly && f.merge === undefined)
    throw new Error(`--only ${SOAK} needs --merge: a soak alone is merged into an earlier run's results`);
  if (f.node !== undefined && !fs.existsSync(f.node))
    throw new Error(`--node: ${f.node} does not exist (give the path of a node binary)`);
  f.duration ??= f.quick ? 4 : 20;
  f.soak ??= f.quick ? 10 : 1000;
  f.abRounds ??= f.only ? 0 : f.quick ? 2 : 5;
  f.countingRounds = f.only && !f.only.includes(COUNTING) ? 0 : f.quick ? 3 : 5;
  f.preloadPairs ??= f.only && !f.only.includes(PRELOAD) ? 0 : f.quick ? 7 : 21;
  f.cachePairs ??= !f.only?.includes(COMPILE_CACHE) ? 0 : f.quick ? 5 : 15;
  f.handlers ??= [0, 50];
  if (!(f.duration >= 2)) throw new Error('--duration must be at least 2 (s)');
  if (soakOnly && !(f.soak > 0)) throw new Error(`--only ${SOAK} needs --soak N above 0`);
  return f;
}

/** The rows to run: group × handler × scenario × mode; --quick keeps the 0 ms handler plus one 50 ms row. */
function plan(f) {
  const rows = [];
  for (const handlerMs of f.handlers) {
    for (const g of GROUPS) {
      if (f.only && !f.only.includes(g.id)) continue;
      if (g.handlers && !g.handlers.includes(handlerMs)) continue;
      for (const [scenario, mode] of g.rows(f.quick)) {
        if ((f.modes && !f.modes.includes(mode)) || (f.scenarios && !f.scenarios.includes(scenario))) continue;
        if (f.quick && handlerMs !== 0 && !(g.id === 'baton-run-2' && scenario === 'restart' && mode === 'keepalive'))
          continue;
        rows.push({ group: g, handlerMs, scenario, mode });
      }
    }
  }
  return rows;
}

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * One measurement: probe + load for `durationS`; with restarts, one every
 * 2 s from t = 1 s while a restart still has 1 s of load after it starts.
 */
async function measure({ target, port, row, durationS, connections, tmpDir, appStartMs }) {
  const probe = startProbe({ port, mode: row.mode, concurrency: 4, gapMs: 5, maxMs: (durationS + 30) * 1000 });
  await sleep(50);
  const load = runLoad({ port, durationS, connections, mode: row.mode, tmpDir });
  const windows = [];
  const restarter = (async () => {
    if (row.scenario !== 'restart') return;
    const end = load.startedAt + durationS * 1000;
    for (let k = 0; k < Math.floor(durationS / 2); k++) {
      const at = load.startedAt + 1000 + 2000 * k;
      if (at + 1000 > end) break;
      await sleep(at - Date.now());
      if (Date.now() + 500 > end) break;
      const start = Date.now();
      const r = await target.restart();
      windows.push({ start, end: Date.now(), ...r });
    }
  })();
  let result;
  try {
    result = await load.done;
  } finally {
    await restarter;
    await sleep(100);
    await probe.stop();
  }
  const { failed, refused } = classify(result.errors);
  const probeStats = analyseProbe(probe.records, windows);
  const okWindows = windows.filter((w) => w.ok);
  const reloadMs = median(okWindows.map((w) => w.ms));
  const startSec = Math.floor(result.startedAt / 1000);
  const probeSeconds = probePerSecond(probe.records);
  const seconds = Object.keys(result.perSecond).map(Number).concat(Object.keys(probeSeconds).map(Number));
  const lastSec = seconds.length ? Math.max(...seconds) : startSec;
  const timeline = [];
  for (let s = startSec; s <= lastSec; s++) {
    const [responses = 0, non2xx = 0] = result.perSecond[s] ?? [];
    const full = s > startSec && (s + 1) * 1000 <= result.startedAt + result.durationMs;
    timeline.push({
      t: s - startSec,
      full,
      responses,
      non2xx,
      probeFailed: probeSeconds[s]?.failed ?? 0,
      probeRefused: probeSeconds[s]?.refused ?? 0,
    });
  }
  return {
    id: `${row.group.id}/${row.handlerMs}ms/${row.scenario}/${row.mode}`,
    group: row.group.id,
    name: row.group.name,
    handlerMs: row.handlerMs,
    scenario: row.scenario,
    mode: row.mode,
    durationS,
    connections,
    tool: result.tool,
    command: result.command,
    requests: result.requests,
    rps: result.requests / (result.durationMs / 1000),
    errors: result.errors,
    failed,
    refused,
    restarts: windows.length,
    restartsFailed: windows.filter((w) => !w.ok).map((w) => w.detail),
    failedPerRestart: windows.length ? failed / windows.length : null,
    refusedPerRestart: windows.length ? refused / windows.length : null,
    latencyMs: result.latencyMs,
    probe: probeStats,
    reload: windows.length
      ? {
          ms: okWindows.map((w) => w.ms),
          wallMs: okWindows.map((w) => w.wallMs),
          medianMs: reloadMs,
          overheadMs: reloadMs === null ? null : reloadMs - appStartMs,
          ...afterReady(okWindows),
        }
      : null,
    timeline: {
      startedAt: result.startedAt,
      perSecond: timeline,
      windows: windows.map((w) => ({
        start: (w.start - startSec * 1000) / 1000,
        end: (w.end - startSec * 1000) / 1000,
        ok: w.ok,
      })),
    },
  };
}

/**
 * A restart's time beyond the new generation's own start in that restart
 * (spawn to ready, as baton measured it): under load the start slows with
 * the restart, and the app start measured idle no longer tells them apart.
 * Split in two where baton said when the old generation had drained: the
 * hand-over and drain, and then its processes' exit.
 */
function afterReady(restarts) {
  const timed = restarts.filter((r) => r.readyMs !== undefined);
  if (!timed.length) return {};
  const drained = timed.filter((r) => r.drainedMs !== undefined);
  return {
    readyMs: timed.map((r) => r.readyMs),
    afterReadyMs: median(timed.map((r) => r.ms - r.readyMs)),
    ...(drained.length
      ? {
          drainedAfterReadyMs: median(drained.map((r) => r.drainedMs - r.readyMs)),
          exitMs: median(drained.map((r) => r.ms - r.drainedMs)),
        }
      : {}),
  };
}

/**
 * Bare node against baton run -w 1 (0 ms handler), both started side by side
 * and loaded at once, each by its own load generator, `rounds` times per
 * mode, after one uncounted round (V8's warm-up). On this shared 2-core
 * machine a round's req/s moved by up to 25 % from one round to the next, as
 * other machines on the host came and went: loaded at once, the two share
 * the cores alike and whatever disturbs a round disturbs both, so the ratio
 * of a round is that of their costs per request. Each round also counts the
 * CPU time the server's processes spent per request (a baton master's and
 * worker's together).
 */
async function overheadAB({ rounds, durationS, connections, tmpDir, log, node }) {
  const started = [];
  try {
    for (const [name, start] of /** @type {const} */ ([
      ['bare', startNode],
      ['baton', (o) => startBatonRun({ ...o, workers: 1 })],
    ])) {
      const port = await freePort();
      started.push({ name, port, target: await start({ port, delayMs: 0, node }) });
    }
    const loadBoth = (mode, seconds) => loadAtOnce(started, { mode, seconds, connections, tmpDir });
    const modes = {};
    for (const mode of ['keepalive', 'close']) {
      const rps = { bare: [], baton: [] };
      const cpuUs = { bare: [], baton: [] };
      await loadBoth(mode, 2);
      for (let i = 0; i < rounds; i++) {
        await sleep(200);
        for (const r of await loadBoth(mode, durationS)) {
          rps[r.name].push(r.rps);
          cpuUs[r.name].push(r.cpuUs);
        }
      }
      const ratios = rps.bare.map((b, i) => rps.baton[i] / b);
      const cpuRatios = cpuUs.bare.map((b, i) => cpuUs.baton[i] / b);
      modes[mode] = {
        ...rps,
        ratio: median(ratios),
        cpu: {
          usPerRequest: cpuUs,
          bareUs: median(cpuUs.bare),
          batonUs: median(cpuUs.baton),
          ratio: median(cpuRatios),
        },
      };
      log(
        `bare node vs baton run -w 1, ${mode}, ${rounds} rounds of ${durationS} s, loaded at once: bare ${rps.bare.map(Math.round).join(', ')} req/s; baton ${rps.baton.map(Math.round).join(', ')} req/s; median ratio ${modes[mode].ratio.toFixed(3)}; CPU per request, median ratio ${modes[mode].cpu.ratio.toFixed(3)}`,
      );
    }
    return { rounds, durationS, connections, together: true, modes };
  } finally {
    for (const t of started) await t.target.stop();
  }
}

/** Each of `started` loaded by its own load generator, all at once: its req/s and CPU µs per request. */
function loadAtOnce(started, { mode, seconds, connections, tmpDir }) {
  return Promise.all(
    started.map(async (t) => {
      const cpuBefore = targetCpuMs(t.target);
      const r = await runLoad({ port: t.port, durationS: seconds, connections, mode, tmpDir }).done;
      return {
        name: t.name,
        rps: r.requests / (r.durationMs / 1000),
        cpuUs: ((targetCpuMs(t.target) - cpuBefore) * 1000) / r.requests,
      };
    }),
  );
}

/**
 * The workers' request counting's cost: `baton run -w 1` with it on and with
 * --no-request-metrics, the same build, side by side (0 ms handler,
 * keep-alive, where a request costs least and counting weighs most), loaded
 * at once as in overheadAB(), `rounds` rounds after an uncounted one.
 */
async function countingAB({ rounds, durationS, connections, tmpDir, log, node }) {
  const started = [];
  try {
    for (const { name, args } of [
      { name: 'on', args: [] },
      { name: 'off', args: ['--no-request-metrics'] },
    ]) {
      const port = await freePort();
      started.push({ name, port, target: await startBatonRun({ port, delayMs: 0, node, workers: 1, args }) });
    }
    const load = (seconds) => loadAtOnce(started, { mode: 'keepalive', seconds, connections, tmpDir });
    const rps = { on: [], off: [] };
    const cpuUs = { on: [], off: [] };
    await load(2);
    for (let i = 0; i < rounds; i++) {
      await sleep(200);
      for (const r of await load(durationS)) {
        rps[r.name].push(r.rps);
        cpuUs[r.name].push(r.cpuUs);
      }
    }
    const ratio = median(rps.off.map((off, i) => rps.on[i] / off));
    const cpuRatio = median(cpuUs.off.map((off, i) => cpuUs.on[i] / off));
    log(
      `request counting on vs off, baton run -w 1, keep-alive, ${rounds} rounds of ${durationS} s, loaded at once: on ${rps.on.map(Math.round).join(', ')} req/s; off ${rps.off.map(Math.round).join(', ')} req/s; median ratio ${ratio.toFixed(3)}; CPU per request, median ratio ${cpuRatio.toFixed(3)}`,
    );
    return { rounds, durationS, connections, rps, cpuUs, ratio, cpuRatio };
  } finally {
    for (const t of started) await t.target.stop();
  }
}

/**
 * `reloads` baton reloads of `baton run -w 2` under light load; the master's
 * fds, RSS, children and heap used before, every twentieth of the way, and
 * after a tenth: the heap's reference, past the warm-up of V8's compiled code.
 * The master runs with --expose-gc, so that `baton status` collects before it
 * measures the heap: otherwise the figure would count garbage by whenever V8
 * last collected, megabytes either way.
 */
async function soak({ reloads, log }) {
  const port = await freePort();
  const target = await startBatonRun({ port, delayMs: 0, workers: 2, nodeFlags: ['--expose-gc'] });
  // RSS is read before the collection that status makes, as the master runs when nobody asks.
  const figures = async (n) => {
    const proc = processFigures(target.masterPid);
    const { master } = await target.status();
    if (!master?.afterGc)
      throw new Error(
        `baton status measured the master's heap without a full collection first: ${JSON.stringify(master)}`,
      );
    return { reloads: n, ...proc, heapUsedBytes: master.heapUsedBytes, heapTotalBytes: master.heapTotalBytes };
  };
  const maxMs = reloads * 5000 + 60_000;
  const probes = [
    startProbe({ port, mode: 'keepalive', concurrency: 2, gapMs: 10, maxMs, keep: false }),
    startProbe({ port, mode: 'close', concurrency: 2, gapMs: 10, maxMs, keep: false }),
  ];
  const started = Date.now();
  const samples = [await figures(0)];
  const every = Math.max(1, Math.round(reloads / 20));
  const heapReferenceAt = Math.max(1, Math.round(reloads / 10));
  const ms = [];
  const failures = [];
  try {
    for (let i = 1; i <= reloads && Date.now() - started < maxMs; i++) {
      const r = await target.restart();
      if (r.ok) ms.push(r.ms);
      else failures.push(r.detail);
      if (failures.length >= 5) break;
      if (i % every === 0 || i === heapReferenceAt || i === reloads) {
        const s = await figures(i);
        samples.push(s);
        log(
          `soak: ${i}/${reloads} reloads, master fds ${s.fds}, RSS ${Math.round(s.rssKb / 1024)} MB, heap used ${(s.heapUsedBytes / 2 ** 20).toFixed(2)} MB, children ${s.children}`,
        );
      }
    }
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await target.stop();
  }
  const pids = [...target.pids];
  const counts = sumCounts(probes);
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    reloadsAsked: reloads,
    reloadsOk: ms.length,
    reloadFailures: failures,
    wallS: (Date.now() - started) / 1000,
    requests: Object.values(counts).reduce((a, b) => a + b, 0),
    failed: counts.reset + counts.timeout + counts.non2xx + counts.other,
    refused: counts.refused,
    outcomes: counts,
    reloadMs: { median: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null },
    start: samples[0],
    end: samples.at(-1),
    heapReferenceAt,
    samples,
    pids,
  };
}

function emergencyCleanup() {
  for (const t of live) {
    try {
      t.killSync();
    } catch {
      // Best effort on the way out.
    }
  }
  live.clear();
}

/** --node's binary and its version, or undefined for this node. */
function nodeOf(bin) {
  if (bin === undefined) return undefined;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0)
    throw new Error(
      `--node: ${bin} --version failed (${r.error?.message ?? r.stderr.trim()}); give the path of a node binary`,
    );
  return { path: bin, version: r.stdout.trim() };
}

async function main() {
  const f = parseFlags(process.argv.slice(2));
  if (f.from) {
    const written = writeReport(JSON.parse(fs.readFileSync(f.from, 'utf8')), { outDir: f.out });
    console.log(`wrote ${written.json}, ${written.svg}, ${written.md}`);
    return;
  }
  const t0 = Date.now();
  const log = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  const node = nodeOf(f.node);
  const nodeBin = node?.path ?? process.execPath;
  const base = f.merge ? JSON.parse(fs.readFileSync(f.merge, 'utf8')) : undefined;
  if (base?.quick !== undefined && base.quick !== f.quick)
    throw new Error(`--merge: a ${f.quick ? 'quick' : 'full'} run into a ${base.quick ? 'quick' : 'full'} run`);
  const soakOnly = f.only?.length === 1 && f.only[0] === SOAK;
  const todo = plan(f);
  // The soak alone loads with the probe only, and the earlier run's app start stays next to its rows.
  let gen;
  const appStarts = {};
  const appStartOf = async (id) => {
    if (appStarts[id]) return appStarts[id];
    APPS[id].build?.();
    const s = await measureAppStart({ port: await freePort(), app: APPS[id].script, node: nodeBin });
    log(
      `app start (${id}, spawn to first 200), median of ${s.samples.length}: ${s.medianMs} ms (${s.samples.join(', ')})`,
    );
    return (appStarts[id] = s);
  };
  if (soakOnly) {
    log(`the soak alone, ${f.soak} reloads, into the results of ${f.merge} (${base.date})`);
  } else {
    gen = chooseLoadGen({ install: f.install, log });
    log(
      `load generator: ${gen.version}${gen.why ? ` (${gen.why})` : ''}; ${f.quick ? 'quick' : 'full'} run, ${f.duration} s per row, handlers ${f.handlers.join(', ')} ms, soak ${f.soak} reloads${node ? `; targets on ${node.path} (${node.version})` : ''}`,
    );
    if (!base) await appStartOf('tiny'); // the run's own rows' reference; a merged run's rows each carry theirs
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-bench-run-'));

  const preload =
    f.preloadPairs > 0 && !soakOnly
      ? await measurePreloadCost({ port: await freePort(), pairs: f.preloadPairs, node: nodeBin })
      : null;
  const said = (x) =>
    `median ${x.medianDiff} ms (${Math.min(...x.diff)} to ${Math.max(...x.diff)}; ${x.medianBare} ms without, ${x.medianPreload} ms with)`;
  if (preload)
    log(
      `preload cost (app start with --import batonjs/register minus without, ${preload.pairs} pairs in turn): wall ${said(preload.wallMs)}; CPU ${said(preload.cpuMs)}`,
    );
  let compileCache = null;
  if (f.cachePairs > 0) {
    APPS.heavy.build();
    compileCache = {
      node: node?.version ?? process.version,
      ...(await measureCompileCache({
        port: await freePort(),
        pairs: f.cachePairs,
        app: APPS.heavy.script,
        node: nodeBin,
      })),
    };
    log(
      `compile cache (the heavy app's start with a warm NODE_COMPILE_CACHE minus without, ${compileCache.pairs} pairs in turn, ${compileCache.node}): wall ${said(compileCache.wallMs)}; CPU ${said(compileCache.cpuMs)}`,
    );
  }

  const rows = [];
  /** @type {{ key: string, group: (typeof todo)[number]['group'], handlerMs: number, rows: typeof todo, commands?: string[] }[]} */
  const groups = [];
  for (const r of todo) {
    const key = `${r.group.id}/${r.handlerMs}`;
    if (!groups.length || groups.at(-1).key !== key)
      groups.push({ key, group: r.group, handlerMs: r.handlerMs, rows: [] });
    groups.at(-1).rows.push(r);
  }
  try {
    for (const g of groups) {
      const app = g.group.app ?? 'tiny';
      const appStart = await appStartOf(app);
      const port = await freePort();
      const target = await g.group.start({ port, delayMs: g.handlerMs, app: APPS[app].script, node: nodeBin });
      g.commands = target.commands;
      try {
        // The same restart with no load first: its time against the app's
        // own start (also measured idle) is the reload overhead proper.
        let idle = null;
        if (g.rows.some((r) => r.scenario === 'restart')) {
          const runs = [];
          for (let i = 0; i < (f.quick ? 1 : 3); i++) runs.push(await target.restart());
          const ok = runs.filter((r) => r.ok).map((r) => r.ms);
          const med = median(ok);
          idle = {
            ms: ok,
            failed: runs.filter((r) => !r.ok).map((r) => r.detail),
            medianMs: med,
            overheadMs: med === null ? null : med - appStart.medianMs,
            ...afterReady(runs.filter((r) => r.ok)),
          };
          log(
            `${g.group.name}, ${g.handlerMs} ms handler, restart with no load: ${ok.join(', ')} ms${idle.failed.length ? `; FAILED: ${idle.failed.join(' | ')}` : ''}`,
          );
        }
        for (const row of g.rows) {
          await sleep(200);
          const m = await measure({
            target,
            port,
            row,
            durationS: f.duration,
            connections: f.connections,
            tmpDir,
            appStartMs: appStart.medianMs,
          });
          m.commands = target.commands;
          m.app = app;
          m.appStartMs = appStart.medianMs;
          m.loadAverage = os.loadavg()[0];
          if (node)
            Object.assign(m, {
              id: `${m.id}@node-${node.version}`,
              name: `${m.name} (Node ${node.version})`,
              node: node.version,
            });
          if (m.scenario === 'restart') m.reloadIdle = idle;
          rows.push(m);
          log(
            `${m.name}, ${m.handlerMs} ms handler, ${m.scenario}, ${m.mode}: ${m.requests} requests, ${Math.round(m.rps)} req/s, failed ${m.failed}, refused ${m.refused}, load average ${m.loadAverage.toFixed(2)}` +
              `${m.restarts ? `, ${m.restarts} restarts (${m.reload.medianMs} ms median)` : ''}${m.restartsFailed.length ? `, FAILED RESTARTS: ${m.restartsFailed.join(' | ')}` : ''}`,
          );
        }
      } finally {
        await target.stop();
        for (const r of rows) if (r.group === g.group.id && r.handlerMs === g.handlerMs) r.pids = [...target.pids];
      }
    }
    // Both A/Bs load two targets at once, 2 s rounds in a quick run, 5 s otherwise.
    const ab = { durationS: f.quick ? 2 : 5, connections: f.connections, tmpDir, log, node: nodeBin };
    const overhead = f.abRounds > 0 ? await overheadAB({ ...ab, rounds: f.abRounds }) : null;
    const counting = f.countingRounds > 0 ? await countingAB({ ...ab, rounds: f.countingRounds }) : null;
    const soakResult = f.soak > 0 ? await soak({ reloads: f.soak, log }) : null;
    if (soakResult)
      log(
        `soak: ${soakResult.reloadsOk}/${soakResult.reloadsAsked} reloads, ${soakResult.requests} requests, failed ${soakResult.failed}, refused ${soakResult.refused}`,
      );
    const protocols = !f.only || f.only.includes(PROTOCOLS) ? await runProtocols({ quick: f.quick, log }) : undefined;
    const paused = !f.only || f.only.includes(PAUSED) ? await runPaused({ quick: f.quick, log }) : undefined;
    const leakSoak = !f.only || f.only.includes(LEAK) ? await runLeakSoak({ quick: f.quick, log }) : undefined;
    const nodeSwitch =
      !f.only || f.only.includes(NODE_SWITCH) ? await runNodeSwitch({ quick: f.quick, log }) : undefined;
    const canary = !f.only || f.only.includes(CANARY) ? await runCanary({ log }) : undefined;

    const result = {
      date: new Date(t0).toISOString(),
      quick: f.quick,
      argv: process.argv.slice(2),
      wallS: (Date.now() - t0) / 1000,
      machine: machine(gen, node),
      settings: {
        durationS: f.duration,
        connections: f.connections,
        handlers: f.handlers,
        restartEveryS: 2,
        probe: { concurrency: 4, gapMs: 5 },
        soakReloads: f.soak,
        abRounds: f.abRounds,
        preloadPairs: f.preloadPairs,
      },
      appStart: appStarts.tiny ?? null,
      preload,
      rows,
      // A/B on another node is kept by version, beside the run's own.
      overhead: node ? null : overhead,
      overheadByNode: node && overhead ? { [node.version]: overhead } : {},
      heavyApp:
        appStarts.heavy || compileCache
          ? { starts: appStarts.heavy ? { [node?.version ?? process.version]: appStarts.heavy } : {}, compileCache }
          : undefined,
      soak: soakResult,
      protocols,
      paused,
      leakSoak,
      nodeSwitch,
      canary,
      counting,
    };
    const written = writeReport(base ? mergeInto(base, result) : result, { outDir: f.out, log: (s) => console.log(s) });
    log(`wrote ${written.json}, ${written.svg}, ${written.md}`);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/**
 * The earlier run `base` with what `run` measured in place of its own: the
 * soak (a soak-only run), rows by id, the A/B, the preload's and the heavy
 * app's figures; and what RESULTS.md needs to say so: when, how, and on
 * which machine and code each was measured.
 */
function mergeInto(base, run) {
  const merged = { ...base };
  if (run.soak) {
    merged.settings = { ...base.settings, soakReloads: run.settings.soakReloads };
    merged.soak = run.soak;
    merged.soakRun = { date: run.date, argv: run.argv, wallS: run.wallS, machine: run.machine };
  }
  const ids = new Set(run.rows.map((r) => r.id));
  const measured = [
    ...run.rows.map((r) => r.id),
    ...Object.keys(run.overheadByNode).map((v) => `1 worker against bare node on ${v}`),
    ...(run.overhead ? ['1 worker against bare node'] : []),
    ...(run.preload ? ["the preload's start-up cost"] : []),
    ...Object.keys(run.heavyApp?.starts ?? {}).map((v) => `the heavy app's start on ${v}`),
    ...(run.heavyApp?.compileCache ? [`the compile cache on ${run.heavyApp.compileCache.node}`] : []),
    ...(run.protocols ? ['HTTP/2 and WebSockets'] : []),
    ...(run.paused ? ['clients that pause on their own connections'] : []),
    ...(run.leakSoak ? ['a leaking app under --max-memory'] : []),
    ...(run.nodeSwitch ? ["the workers' Node.js moved under load"] : []),
    ...(run.canary ? ['a 500 release under the gate and a canary'] : []),
    ...(run.counting ? ["the workers' request counting"] : []),
  ];
  if (!measured.length) return merged;
  merged.rows = [...base.rows.filter((r) => !ids.has(r.id)), ...run.rows.map((r) => ({ ...r, mergedFrom: run.date }))];
  merged.overheadByNode = { ...base.overheadByNode, ...run.overheadByNode };
  merged.overhead = run.overhead ?? base.overhead;
  merged.preload = run.preload ?? base.preload;
  merged.protocols = run.protocols ?? base.protocols;
  merged.paused = run.paused ?? base.paused;
  merged.leakSoak = run.leakSoak ?? base.leakSoak;
  merged.nodeSwitch = run.nodeSwitch ?? base.nodeSwitch;
  merged.canary = run.canary ?? base.canary;
  merged.counting = run.counting ?? base.counting;
  if (run.heavyApp)
    merged.heavyApp = {
      starts: { ...base.heavyApp?.starts, ...run.heavyApp.starts },
      compileCache: run.heavyApp.compileCache ?? base.heavyApp?.compileCache ?? null,
    };
  // An earlier merged run keeps only what this one did not measure again.
  const again = new Set(measured);
  const kept = (base.runs ?? [])
    .map((r) => ({ ...r, measured: r.measured.filter((m) => !again.has(m)) }))
    .filter((r) => r.measured.length);
  merged.runs = [...kept, { date: run.date, argv: run.argv, wallS: run.wallS, machine: run.machine, measured }];
  return merged;
}

function machine(gen, node) {
  const cpus = os.cpus();
  // git itself, not .git/HEAD read by hand: in a worktree .git is a file, and a ref may be packed.
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8', timeout: 5000 });
  const commit = git.status === 0 ? git.stdout.trim() : undefined;
  const version = (p) => JSON.parse(fs.readFileSync(path.join(here, '..', p), 'utf8')).version;
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: node?.version ?? process.version,
    // 1, 5 and 15 min, as the run ends: how busy the machine was meanwhile.
    loadAverage: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', '),
    kernel: `${os.type()} ${os.release()}`,
    loadGenerator: gen?.version,
    pm2: `pm2 ${version('node_modules/pm2/package.json')}`,
    baton: `baton ${version('package.json')}${commit ? ` (${commit.slice(0, 10)})` : ''}`,
  };
}

process.on('SIGINT', () => {
  emergencyCleanup();
  process.exit(130);
});
process.on('SIGTERM', () => {
  emergencyCleanup();
  process.exit(143);
});
process.on('exit', emergencyCleanup);

main().catch((err) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  emergencyCleanup();
  process.exitCode = 1;
});
