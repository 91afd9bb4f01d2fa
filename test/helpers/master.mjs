// Helpers for supervisor tests: `baton run` as a real master process, and the
// `baton` client commands against its control socket.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, root, tmpDir, waitFor } from './proc.mjs';

export const cli = path.join(root, 'dist/cli/main.js');

/** Starts `baton run <args>`; every pid in its log is remembered for cleanup. */
export function startMaster(args, { env = {}, cwd = root } = {}) {
  const dir = tmpDir('baton-master-');
  const control = path.join(dir, 'control.sock');
  const child = spawn(process.execPath, [cli, 'run', '--control', control, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const master = {
    child,
    control,
    dir,
    output: '',
    pids: new Set([child.pid]),
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  const onData = (d) => {
    master.output += d;
    for (const m of String(d).matchAll(/baton\[(\d+)\]|worker=(\d+)|pids=([\d,]+)/g)) {
      for (const pid of (m[1] ?? m[2] ?? m[3]).split(',')) master.pids.add(Number(pid));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return master;
}

/** Runs `baton <args>` to completion: { code, stdout, stderr }. */
export function baton(args, { timeoutMs = 60_000, cwd = root } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function status(master) {
  const r = await baton(['status', '--json', '--control', master.control]);
  if (r.code !== 0) throw new Error(`baton status exited ${r.code}: ${r.stderr}`);
  const s = JSON.parse(r.stdout);
  for (const w of s.workers) master.pids.add(w.pid);
  return s;
}

/** Pids of the serving generation's ready workers. */
export async function readyWorkers(master, count) {
  return waitFor(async () => {
    const s = await status(master);
    const ready = s.workers.filter((w) => w.state === 'ready' && w.generation === s.generation);
    return ready.length === count && ready.map((w) => w.pid).sort();
  }, { what: `${count} ready workers` });
}

export function childrenOf(pid) {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^\d+ \(.*\) /, '').split(' ')[1] === String(pid);
    } catch {
      return false;
    }
  }).map(Number);
}

export async function stopMaster(master) {
  for (const pid of master.pids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited in between.
      }
    }
  }
  await waitFor(() => [...master.pids].every((p) => !alive(p)), { timeoutMs: 5000, what: 'master and workers to exit' }).catch(() => {});
  fs.rmSync(master.dir, { recursive: true, force: true });
}
