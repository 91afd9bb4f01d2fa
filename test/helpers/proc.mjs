// Process helpers for end-to-end tests: start an app under baton, follow its
// generations, and clean up every process the test caused to exist.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { get } from './load.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const register = path.join(root, 'dist/register.js');
export const examples = path.join(root, 'examples');

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tmpDir(prefix = 'baton-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Alive means running: a zombie is not. Without /proc (macOS), a signal 0 probe. */
export function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT' || fs.existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Gone means reaped: no /proc entry at all, not even a zombie. */
export function gone(pid) {
  return !fs.existsSync(`/proc/${pid}`);
}

export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Zombie processes whose parent is `ppid` or that are among `pids`. */
export function zombies(pids) {
  return pids.filter((pid) => {
    try {
      return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^\d+ \(.*\)/, ''));
    } catch {
      return false;
    }
  });
}

/**
 * Follows a spawned process's output; every pid in baton's log lines (the
 * process itself, successors, workers) is remembered, so cleanup() can stop them all.
 */
export function follow(child) {
  const app = {
    child,
    pids: new Set([child.pid]),
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  const onData = (d) => {
    app.output += d;
    for (const m of String(d).matchAll(/baton\[(\d+)\]|(?:successor|worker)=(\d+)|pids=([\d,]+)/g)) {
      for (const pid of (m[1] ?? m[2] ?? m[3]).split(',')) app.pids.add(Number(pid));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return app;
}

/** Starts `script` with `node --import baton/register`. */
export function startStandalone(script, { env = {}, cwd = root, args = [], node = process.execPath } = {}) {
  return follow(spawn(node, ['--import', register, script, ...args], {
    cwd,
    env: { ...process.env, BATON_LOG_FORMAT: 'text', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
}

/** True when a TCP connect to host:port is refused (nothing holds a listening socket there). */
export function refused(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    net.connect(port, host).once('connect', function () {
      this.destroy();
      resolve(false);
    }).once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** The pid that answers a request now. */
export async function servingPid(target) {
  const { status, body } = await get(target);
  if (status !== 200) throw new Error(`status ${status}`);
  return Number(body.trim());
}

/**
 * Sends the upgrade signal to `pid` and waits until its successor is ready and
 * (unless `untilExit` is false) `pid` itself has exited. Returns the successor's pid.
 */
export async function upgrade(app, pid, { timeoutMs = 20_000, untilExit = true } = {}) {
  const mark = app.output.length;
  process.kill(pid, 'SIGUSR2');
  const successor = await waitFor(() => {
    const m = new RegExp(`baton\\[${pid}\\].*successor ready successor=(\\d+)`).exec(app.output.slice(mark));
    return m && Number(m[1]);
  }, { timeoutMs, what: `a successor of pid ${pid} to be ready` });
  app.pids.add(successor);
  if (untilExit) await waitFor(() => !alive(pid), { timeoutMs, what: `pid ${pid} to exit after handing over` });
  return successor;
}

/** Kills every process this app caused to exist, by pid; waits until none is alive. */
export async function cleanup(app) {
  for (const pid of app.pids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited in between.
      }
    }
  }
  await waitFor(() => [...app.pids].every((p) => !alive(p)), { timeoutMs: 5000, what: 'test processes to exit' }).catch(() => {});
}
