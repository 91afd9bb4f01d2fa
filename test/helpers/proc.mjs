// Process helpers for end-to-end tests. The harness itself (start an app under
// baton, follow its generations, upgrade, clean up by pid) is batonjs/testing's
// (src/testing/harness.ts); what stays here is test-specific: the repository's
// paths, /proc inspections, and probes that rely on the test apps answering
// with their pid.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandalone as start } from '../../dist/testing/harness.js';
import { get } from './load.mjs';

export {
  alive,
  cleanup,
  follow,
  freePort,
  reload,
  reloadUnderLoad,
  sleep,
  upgrade,
  waitFor,
  waitForLine,
} from '../../dist/testing/harness.js';

/**
 * Node's internal that binds a socket without listening (not in its types). It
 * returns an errno number on failure, which the first use of the handle throws on.
 * @typedef {{ _createServerHandle(host: string, port: number, addressType: 4 | 6): { fd: number, close(): void } }} NetInternals
 */

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const register = path.join(root, 'dist/register.js');
export const examples = path.join(root, 'examples');

/**
 * Starts `script` with `node --import batonjs/register`, from the repository's
 * root unless `cwd` says otherwise. Without the crash window unless `env` sets
 * one, as startMaster does: it only delays each hand-over by 3 s.
 * @param {string} script
 * @param {import('../../dist/testing/harness.js').StartOptions} [options]
 */
export function startStandalone(script, options = {}) {
  return start(script, { cwd: root, ...options, env: { BATON_CRASH_WINDOW: '0', ...options.env } });
}

/**
 * `command` if it is on PATH; else an error saying how to get it, rather than
 * a test ending in `spawn nginx ENOENT` (npm test's pretest installs them all).
 * @param {string} command
 */
export function tool(command) {
  const found = (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found)
    throw new Error(
      `${command} is not installed: run scripts/test-deps.sh, which installs the Debian packages the tests drive`,
    );
  return command;
}

/** @param {string} [prefix] */
export function tmpDir(prefix = 'baton-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Gone means reaped: no /proc entry at all, not even a zombie.
 * @param {number} pid
 */
export function gone(pid) {
  return !fs.existsSync(`/proc/${pid}`);
}

/** @param {number} pid */
export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * The zombie processes among `pids`.
 * @param {number[]} pids
 */
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
 * True when a TCP connect to host:port is refused (nothing holds a listening socket there).
 * @param {number} port
 * @returns {Promise<boolean>}
 */
export function refused(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    net
      .connect(port, host)
      .once('connect', function () {
        this.destroy();
        resolve(false);
      })
      .once('error', (/** @type {NodeJS.ErrnoException} */ err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * The pid that answers a request now (the test apps answer with their pid).
 * @param {import('../../dist/testing/load.js').Target} target
 */
export async function servingPid(target) {
  const { status, body } = await get(target);
  if (status !== 200) throw new Error(`status ${status}`);
  return Number(body.trim());
}

/**
 * baton's lines written by `pid` so far whose message starts with `prefix`.
 * @param {{ output: string }} app
 * @param {number} pid
 * @param {string} prefix
 */
export function linesOf(app, pid, prefix) {
  return app.output
    .split('\n')
    .filter((l) => l.includes(` baton[${pid}] `) && l.split(': ').slice(1).join(': ').startsWith(prefix));
}

/**
 * `promise`, or a rejection naming `what` once `ms` have passed: every wait is bounded.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
export function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
