// What the benchmark starts, restarts and stops, one kind per row, each on
// an app (bench/app.mjs unless `app` says otherwise: the heavy app,
// bench/apps/heavy/main.mjs) and a node binary (this one unless `node`):
//   node         bare `node bench/app.mjs`; its restart is the naive one
//                (SIGTERM, wait for the exit, start again, until it listens)
//   baton-run    `baton run -w N bench/app.mjs`; restart: `baton reload` (or `baton upgrade`)
//   standalone   `node --import batonjs/register bench/app.mjs`; restart: SIGUSR2
//   pm2-cluster  PM2 cluster mode, N instances, wait_ready; restart: `pm2 reload`
//   pm2-fork     PM2 fork mode, 1 instance (its reload is a restart)
//   node-cluster bench/node-cluster.mjs (node:cluster, round-robin); restart: rolling
// Each start() resolves once the app serves, to
//   { kind, label, commands, pids, restart(): Promise<{ok, ms, wallMs, readyMs, drainedMs, detail}>, stop(), killSync() }
// where readyMs, from baton's targets, is the new generation's start in that
// restart as baton measured it (to ready), which load slows as it slows the
// restart, and drainedMs the moment the old generation had closed its last
// connection (its processes' exit, which ends ms, comes after).
// Only pids these functions started (or that their own children reported) are
// ever signalled, and every target is in `live` until stopped, so that the
// runner can clean up on any exit.
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, cliPath as cli, registerPath as register, waitFor } from '../dist/testing/harness.js';
import { childrenOf } from '../test/helpers/master.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const appScript = path.join(here, 'app.mjs');
const root = path.resolve(here, '..');
/** How an app is named in the commands the report prints. */
const shown = (app) => path.relative(root, app);
const pm2Bin = path.join(root, 'node_modules/pm2/bin/pm2');

/** Targets started and not yet stopped. */
export const live = new Set();

/** A bound for Promise.race that does not keep the process alive. */
const grace = (ms) => new Promise((r) => setTimeout(r, ms).unref());

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** One GET /: resolves the status, rejects on a socket error. */
export function getOnce(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const serves = (port) =>
  waitFor(async () => (await getOnce(port)) === 200, {
    timeoutMs: 15_000,
    intervalMs: 10,
    what: `the app to serve on port ${port}`,
  });

function run(cmd, args, { env = process.env, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        stdout,
        stderr,
        wallMs: Date.now() - t0,
      });
    });
  });
}

/** Kills every tracked pid still alive with SIGKILL and waits until none is. */
async function reap(pids) {
  for (const pid of pids) if (alive(pid)) kill(pid, 'SIGKILL');
  await waitFor(() => [...pids].every((p) => !alive(p)), { timeoutMs: 5000, what: 'the processes to exit' }).catch(
    () => {},
  );
}

function appEnv(port, delayMs, extra = {}) {
  return { ...process.env, PORT: String(port), HOST: '127.0.0.1', DELAY_MS: String(delayMs), ...extra };
}

function track(target) {
  live.add(target);
  const stop = target.stop;
  target.stop = async () => {
    try {
      await stop();
    } finally {
      live.delete(target);
    }
  };
  return target;
}

/**
 * Median ms from spawning `node bench/app.mjs` (or `app`) to its first 200
 * response, after one start that is not counted (it warms the page cache, as
 * the restarts that this is compared with find it warm).
 */
export async function measureAppStart({ port, times = 9, app = appScript, node = process.execPath }) {
  const samples = [];
  for (let i = -1; i < times; i++) {
    const t0 = Date.now();
    const child = spawn(node, [app], { env: appEnv(port, 0), stdio: 'ignore' });
    try {
      await waitFor(async () => (await getOnce(port)) === 200, {
        timeoutMs: 30_000,
        intervalMs: 2,
        what: 'the app to serve',
      });
      if (i >= 0) samples.push(Date.now() - t0);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)], samples };
}

/** CPU time (ms) a live process's threads have had, from /proc: steadier than wall time on a shared machine. */
function cpuMsOf(pid) {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`))
    ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/** The CPU time (ms) of a target's live processes, added up (a baton master's and its workers'). */
export function targetCpuMs(target) {
  return [...target.pids].filter(alive).reduce((ms, pid) => ms + cpuMsOf(pid), 0);
}

/**
 * From spawning `node [nodeArgs] bench/app.mjs` (or `app`, with `env` added)
 * to its listen callback, which it says on stdout (SAY_LISTENING): the wall
 * time, and the CPU time the app had by then; the app is then killed. Polling
 * the port, as measureAppStart does, would load what it times: on this
 * machine it added tens of ms to the app's own CPU time, and more the longer
 * the start.
 */
function startToListening({ port, app, node, nodeArgs = [], env = {} }) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(node, [...nodeArgs, app], {
      env: appEnv(port, 0, { SAY_LISTENING: '1', ...env }),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let figures;
    child.once('error', reject);
    child.stdout.once('data', () => {
      figures = { wallMs: performance.now() - t0, cpuMs: cpuMsOf(child.pid) };
      child.kill('SIGKILL');
    });
    child.once('exit', (code) =>
      figures ? resolve(figures) : reject(new Error(`the app exited (${code}) before it listened`)),
    );
  });
}

const middle = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * What a change to the app's start (`change`: nodeArgs, env) adds to it: the
 * app started without it and with it in turn (A B, then B A), `pairs` times,
 * after one uncounted start of each. Pairs a moment apart cancel the drift of
 * a shared machine, which starts far apart would not; each figure is the
 * median of the per-pair differences, for the wall time and for the CPU time.
 */
async function startCostOf({ port, pairs, app, node, change }) {
  const plain = { port, app, node };
  const changed = { ...plain, ...change };
  await startToListening(plain);
  await startToListening(changed);
  const without = [];
  const withIt = [];
  for (let i = 0; i < pairs; i++) {
    const order =
      i % 2
        ? [
            [withIt, changed],
            [without, plain],
          ]
        : [
            [without, plain],
            [withIt, changed],
          ];
    for (const [samples, how] of order) samples.push(await startToListening(how));
  }
  const figure = (key) => {
    const round = (xs) => xs.map((x) => Number(x.toFixed(1)));
    const b = round(without.map((s) => s[key]));
    const p = round(withIt.map((s) => s[key]));
    const diff = round(p.map((x, i) => x - b[i]));
    // Named as the preload's first were, which earlier results and the report read: bare is without the change, preload with it.
    return { bare: b, preload: p, diff, medianBare: middle(b), medianPreload: middle(p), medianDiff: middle(diff) };
  };
  return { pairs, wallMs: figure('wallMs'), cpuMs: figure('cpuMs') };
}

/** What `--import batonjs/register` adds to the app's start (startCostOf). */
export function measurePreloadCost({ port, pairs, app = appScript, node = process.execPath }) {
  return startCostOf({ port, pairs, app, node, change: { nodeArgs: ['--import', register] } });
}

/**
 * What Node's module compile cache (NODE_COMPILE_CACHE, Node 22.1 and later)
 * takes off the app's start, the cache warm: as a worker of a later
 * generation finds it, written by the earlier one. Node writes the cache when
 * a process exits (never when it is killed) or is told to flush, so one start
 * writes it first, and it is removed after. The figures are with minus without.
 */
export async function measureCompileCache({ port, pairs, app, node }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-bench-compile-cache-'));
  try {
    const fill = `await import(${JSON.stringify(app)}); const m = await import('node:module'); m.flushCompileCache(); process.exit(m.getCompileCacheDir() ? 0 : 3);`;
    const r = spawnSync(node, ['--input-type=module', '-e', fill], {
      env: appEnv(port, 0, { NODE_COMPILE_CACHE: dir }),
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(`${node} did not write a compile cache (exit ${r.status ?? r.signal}): ${r.stderr.slice(-400)}`);
    return {
      dir: 'a private temporary directory',
      ...(await startCostOf({ port, pairs, app, node, change: { env: { NODE_COMPILE_CACHE: dir } } })),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function spawnApp({ port, delayMs, app, node }) {
  const child = spawn(node, [app], { env: appEnv(port, delayMs), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child.stderr.resume();
  const ready = new Promise((resolve, reject) => {
    child.once('message', (m) =>
      m === 'ready' ? resolve() : reject(new Error(`unexpected message ${JSON.stringify(m)}`)),
    );
    child.once('exit', (code, signal) => reject(new Error(`app exited (${signal ?? code}) before listening`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, ready, exited };
}

/** Bare node; restart() is the naive restart: SIGTERM, wait for the exit, start a new one, wait until it listens. */
export async function startNode({ port, delayMs, app: script = appScript, node = process.execPath }) {
  const how = { port, delayMs, app: script, node };
  let app = spawnApp(how);
  const pids = new Set([app.child.pid]);
  await app.ready;
  return track({
    kind: 'node',
    label: `node ${shown(script)}`,
    commands: [
      `node ${shown(script)}   # spawned with an IPC channel, on which it says it is ready`,
      `restart (naive): kill -TERM <pid>; wait for its exit; node ${shown(script)}; wait until it listens`,
    ],
    pids,
    get mainPid() {
      return app.child.pid;
    },
    async restart() {
      const t0 = Date.now();
      app.child.kill('SIGTERM');
      await app.exited;
      app = spawnApp(how);
      pids.add(app.child.pid);
      try {
        await app.ready;
      } catch (err) {
        return { ok: false, ms: Date.now() - t0, wallMs: Date.now() - t0, detail: err.message };
      }
      const ms = Date.now() - t0;
      return { ok: true, ms, wallMs: ms };
    },
    async stop() {
      app.child.kill('SIGTERM');
      await Promise.race([app.exited, grace(5000)]);
      await reap(pids);
    },
    killSync() {
      for (const pid of pids) if (alive(pid)) kill(pid, 'SIGKILL');
    },
  });
}

/**
 * `baton run -w N bench/app.mjs` with its own control socket; restart() is
 * `baton reload`, or with `restartWith: 'upgrade'` `baton upgrade` (a new
 * master, then the old one drains: stop() then signals the master serving). Without the crash window: it changes nothing in the hand-over,
 * but `baton reload` would answer 3 s after the new generation is ready, too
 * late for a restart every 2 s (and PM2's reload has none either). `nodeFlags`
 * are the master's own (the workers get none), and the workers run on the
 * master's `node`; `app`, `env` and `serving` (which resolves once the app
 * answers on `port`) are for apps other than bench/app.mjs.
 */
export async function startBatonRun({
  port,
  delayMs,
  workers,
  nodeFlags = [],
  app = appScript,
  node = process.execPath,
  env = {},
  serving = serves,
  args = [],
  restartWith = 'reload',
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-bench-'));
  const control = path.join(dir, 'control.sock');
  const child = spawn(
    node,
    [...nodeFlags, cli, 'run', '-w', String(workers), '--crash-window', '0', '--control', control, ...args, app],
    {
      env: appEnv(port, delayMs, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pids = new Set([child.pid]);
  /** The master serving now: `baton upgrade` replaces it. */
  let servingMaster = child.pid;
  let tail = '';
  const onData = (d) => {
    const s = String(d);
    for (const m of s.matchAll(/baton\[(\d+)\]|worker=(\d+)|pids=([\d,]+)/g)) {
      for (const pid of (m[1] ?? m[2] ?? m[3]).split(',')) if (pid) pids.add(Number(pid));
    }
    tail = (tail + s).slice(-8000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitedEarly;
  void exited.then((e) => (exitedEarly = e));

  const status = async () => {
    const r = await run(process.execPath, [cli, 'status', '--json', '--control', control], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`baton status exited ${r.code}: ${r.stderr.trim()}`);
    const s = JSON.parse(r.stdout);
    for (const w of s.workers) pids.add(w.pid);
    return s;
  };
  const target = track({
    kind: 'baton-run',
    label: `baton run -w ${workers}`,
    commands: [
      `${Object.entries(env)
        .map(([k, v]) => `${k}=${v} `)
        .join(
          '',
        )}${nodeFlags.length ? `node ${nodeFlags.join(' ')} ` : ''}baton run -w ${workers} --crash-window 0 --control <sock> ${args.map((a) => `${a} `).join('')}${shown(app)}`,
      `restart: baton ${restartWith} --control <sock>`,
    ],
    pids,
    masterPid: child.pid,
    control,
    status,
    /** `args`: more for the command, such as `--node PATH`. */
    async restart(args = []) {
      const r = await run(process.execPath, [cli, restartWith, '--control', control, ...args], { timeoutMs: 60_000 });
      const m = /(?:reload|upgrade) took (\d+) ms/.exec(r.stdout);
      const master = /done: master pid (\d+)/.exec(r.stdout);
      if (master) pids.add((servingMaster = Number(master[1])));
      const ready = /ready after (\d+) ms/.exec(r.stdout);
      const drained = /drained after (\d+) ms/.exec(r.stdout);
      return {
        ok: r.code === 0 && Boolean(m),
        ms: m ? Number(m[1]) : r.wallMs,
        wallMs: r.wallMs,
        readyMs: ready ? Number(ready[1]) : undefined,
        drainedMs: drained ? Number(drained[1]) : undefined,
        detail:
          r.code === 0
            ? undefined
            : `baton ${restartWith} exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(-400)}`,
      };
    },
    async stop() {
      kill(servingMaster, 'SIGTERM');
      const gone = servingMaster === child.pid ? exited : waitFor(() => !alive(servingMaster)).catch(() => {});
      await Promise.race([gone, grace(10_000)]);
      await reap(pids);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    killSync() {
      for (const pid of pids) if (alive(pid)) kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log: () => tail,
  });
  try {
    await waitFor(
      async () => {
        if (exitedEarly)
          throw new Error(`baton run exited (${exitedEarly.signal ?? exitedEarly.code}): ${tail.slice(-500)}`);
        const s = await status();
        return s.workers.filter((w) => w.state === 'ready' && w.generation === s.generation).length === workers;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `${workers} ready baton workers` },
    );
    await serving(port);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/**
 * `node --import batonjs/register bench/app.mjs`; restart() is SIGUSR2, done when the old pid has exited.
 * Without the crash window, as the supervised rows: it only holds the old process for its length.
 */
export async function startStandalone({ port, delayMs, app = appScript, node = process.execPath }) {
  const child = spawn(node, ['--import', register, app], {
    env: appEnv(port, delayMs, { BATON_LOG_FORMAT: 'text', BATON_CRASH_WINDOW: '0' }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pids = new Set([child.pid]);
  let current = child.pid;
  let log = '';
  child.stderr.on('data', (d) => {
    const s = String(d);
    for (const m of s.matchAll(/baton\[(\d+)\]|successor=(\d+)/g)) pids.add(Number(m[1] ?? m[2]));
    log = (log + s).slice(-20_000);
  });
  const target = track({
    kind: 'standalone',
    label: 'node --import batonjs/register',
    commands: [
      `BATON_CRASH_WINDOW=0 node --import batonjs/register ${shown(app)}`,
      'restart: kill -USR2 <pid>; done when <pid> has exited',
    ],
    pids,
    get mainPid() {
      return current;
    },
    async restart() {
      const t0 = Date.now();
      const old = current;
      const mark = log.length;
      kill(old, 'SIGUSR2');
      let readyMs;
      let drainedMs;
      try {
        const successor = await waitFor(
          () => {
            const m = new RegExp(`baton\\[${old}\\].*successor ready successor=(\\d+) readyMs=(\\d+)`).exec(
              log.slice(Math.max(0, mark - 200)),
            );
            if (m) readyMs = Number(m[2]);
            return m && Number(m[1]);
          },
          { timeoutMs: 30_000, intervalMs: 2, what: `a successor of ${old}` },
        );
        pids.add(successor);
        current = successor;
        // Its last line, said once its last connection closed: then only its exit is left.
        const drained = new RegExp(`baton\\[${old}\\].*drained, exiting`);
        await waitFor(
          () => {
            drainedMs ??= drained.test(log.slice(Math.max(0, mark - 200))) ? Date.now() - t0 : undefined;
            return !alive(old);
          },
          { timeoutMs: 30_000, intervalMs: 2, what: `pid ${old} to exit` },
        );
      } catch (err) {
        return {
          ok: false,
          ms: Date.now() - t0,
          wallMs: Date.now() - t0,
          detail: `${err.message}: ${log.slice(mark).slice(-400)}`,
        };
      }
      const ms = Date.now() - t0;
      return { ok: true, ms, wallMs: ms, readyMs, drainedMs };
    },
    async stop() {
      kill(current, 'SIGTERM');
      await waitFor(() => !alive(current), { timeoutMs: 10_000, what: 'the standalone app to stop' }).catch(() => {});
      await reap(pids);
    },
    killSync() {
      for (const pid of pids) if (alive(pid)) kill(pid, 'SIGKILL');
    },
  });
  try {
    await serves(port);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/**
 * PM2 (cluster mode by default, or fork mode) with a private PM2_HOME (its
 * own daemon), N instances, wait_ready; restart() is `pm2 reload`; stop() is
 * `pm2 kill`, always.
 */
export async function startPm2({ port, delayMs, instances, mode = 'cluster' }) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-bench-'));
  const env = { ...process.env, PM2_HOME: home, FORCE_COLOR: '0' };
  const eco = path.join(home, 'ecosystem.json');
  fs.writeFileSync(
    eco,
    JSON.stringify(
      {
        apps: [
          {
            name: 'benchapp',
            script: appScript,
            exec_mode: mode,
            instances,
            wait_ready: true,
            listen_timeout: 5000,
            kill_timeout: 5000,
            autorestart: true,
            env: { PORT: String(port), HOST: '127.0.0.1', DELAY_MS: String(delayMs) },
          },
        ],
      },
      null,
      2,
    ),
  );
  const pids = new Set();
  const pm2 = (...args) => run(process.execPath, [pm2Bin, ...args], { env, timeoutMs: 60_000 });
  const learnPids = async () => {
    const daemon = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim());
    if (daemon) pids.add(daemon);
    const r = await pm2('jlist');
    const list = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
    for (const p of list) if (p.pid) pids.add(p.pid);
    return list;
  };
  const target = track({
    kind: `pm2-${mode}`,
    label: `PM2 ${mode} ×${instances}`,
    commands: [
      `PM2_HOME=<tmp> pm2 start ecosystem.json   # exec_mode ${mode}, instances ${instances}, wait_ready, listen_timeout 5000, kill_timeout 5000`,
      'restart: PM2_HOME=<tmp> pm2 reload benchapp',
      'end: PM2_HOME=<tmp> pm2 kill',
    ],
    pids,
    home,
    async restart() {
      const r = await pm2('reload', 'benchapp');
      await learnPids().catch(() => {});
      return {
        ok: r.code === 0,
        ms: r.wallMs,
        wallMs: r.wallMs,
        detail: r.code === 0 ? undefined : `pm2 reload exited ${r.code}: ${r.stderr.slice(-400)}`,
      };
    },
    async stop() {
      await learnPids().catch(() => {});
      await pm2('kill');
      await reap(pids);
      fs.rmSync(home, { recursive: true, force: true });
    },
    killSync() {
      spawnSync(process.execPath, [pm2Bin, 'kill'], { env, timeout: 15_000, stdio: 'ignore' });
      try {
        pids.add(Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim()));
      } catch {
        // No daemon pid file: it never started or has stopped.
      }
      for (const pid of pids) if (pid && alive(pid)) kill(pid, 'SIGKILL');
      fs.rmSync(home, { recursive: true, force: true });
    },
  });
  try {
    const r = await pm2('start', eco);
    await learnPids().catch(() => {});
    if (r.code !== 0) throw new Error(`pm2 start exited ${r.code}: ${(r.stdout + r.stderr).slice(-500)}`);
    await serves(port);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/** bench/node-cluster.mjs: node:cluster, round-robin; restart() is its rolling restart. */
export async function startNodeCluster({ port, delayMs, workers }) {
  const child = spawn(process.execPath, [path.join(here, 'node-cluster.mjs')], {
    env: appEnv(port, delayMs, { WORKERS: String(workers) }),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr.resume();
  const pids = new Set([child.pid]);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.type !== type) return;
        child.off('message', onMessage);
        for (const p of m.pids) pids.add(p);
        resolve(m);
      };
      child.on('message', onMessage);
      void exited.then((how) => reject(new Error(`node-cluster exited (${how})`)));
    });
  const target = track({
    kind: 'node-cluster',
    label: `node:cluster ×${workers}`,
    commands: [
      `WORKERS=${workers} node bench/node-cluster.mjs`,
      'restart (rolling): per worker, fork a new one, wait for listening, SIGTERM the old one',
    ],
    pids,
    async restart() {
      const t0 = Date.now();
      const done = next('reloaded');
      child.send({ type: 'reload' });
      try {
        await done;
      } catch (err) {
        return { ok: false, ms: Date.now() - t0, wallMs: Date.now() - t0, detail: err.message };
      }
      const ms = Date.now() - t0;
      return { ok: true, ms, wallMs: ms };
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, grace(5000)]);
      await reap(pids);
    },
    killSync() {
      for (const pid of pids) if (alive(pid)) kill(pid, 'SIGKILL');
    },
  });
  try {
    await next('ready');
    await serves(port);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/** The master's open fds, RSS (kB) and child processes, from /proc. */
export function processFigures(pid) {
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const children = childrenOf(pid).length;
  return { fds, rssKb, children };
}
