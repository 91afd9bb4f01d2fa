// Helpers for supervisor tests: `baton run` as a real master process, and the
// `baton` client commands against its control socket, from batonjs/testing
// (src/testing/harness.ts), run from the repository's root.
import fs from 'node:fs';
import { baton as batonAt, cleanup, cliPath, startRun } from '../../dist/testing/harness.js';
import { root } from './proc.mjs';

export { readyWorkers, status } from '../../dist/testing/harness.js';

export const cli = cliPath;

/**
 * Starts `baton run <args>` with a private control socket. Without the crash
 * window unless `args` set one: it only delays each `baton reload`'s answer by
 * 3 s, which over the suite's reloads is minutes; its own tests set it.
 * @param {string[]} args
 * @param {Omit<import('../../dist/testing/harness.js').StartOptions, 'args'>} [options]
 */
export function startMaster(args, options = {}) {
  const window = args.some((a) => a.startsWith('--crash-window')) ? [] : ['--crash-window', '0'];
  return startRun([...window, ...args], { cwd: root, ...options });
}

/**
 * Runs `baton <args>` to completion: { code, stdout, stderr }.
 * @param {string[]} args
 * @param {{ timeoutMs?: number, cwd?: string }} [options]
 */
export function baton(args, options = {}) {
  return batonAt(args, { cwd: root, ...options });
}

/**
 * Pids whose parent is `pid` (from /proc).
 * @param {number} pid
 */
export function childrenOf(pid) {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          fs
            .readFileSync(`/proc/${p}/stat`, 'utf8')
            .replace(/^\d+ \(.*\) /, '')
            .split(' ')[1] === String(pid)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Kills every process of the master's, by pid, and removes its private directory.
 * @param {import('../../dist/testing/harness.js').Followed & { dir?: string }} master
 */
export async function stopMaster(master) {
  await cleanup(master);
  if (master.dir) fs.rmSync(master.dir, { recursive: true, force: true });
}
