// Helpers for supervisor tests: `baton run` as a real master process, and the
// `baton` client commands against its control socket.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, follow, root, tmpDir, waitFor } from './proc.mjs';

export const cli = path.join(root, 'dist/cli/main.js');

/** Starts `baton run <args>` with a private control socket. */
export function startMaster(args, { env = {}, cwd = root, node = process.execPath } = {}) {
  const dir = tmpDir('baton-master-');
  const control = path.join(dir, 'control.sock');
  const child = spawn(node, [cli, 'run', '--control', control, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Object.assign(follow(child), { control, dir });
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
  await cleanup(master);
  fs.rmSync(master.dir, { recursive: true, force: true });
}
