// What a user installs: a fresh clone (the tracked files, no dist/) is packed
// with `npm pack`, whose prepack builds the code; the tarball is installed into
// a scratch app with npm, offline (baton has no runtime dependencies), and both
// modes run through what got installed: its `baton` bin, and
// `--import batonjs/register`, with the app importing `ready` from `batonjs`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { follow } from '../../dist/testing/harness.js';
import { startLoad } from '../helpers/load.mjs';
import { cleanup, freePort, root, servingPid, tmpDir, upgrade, waitFor, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

// Ready only when the app says so (--wait-ready, BATON_WAIT_READY=1): a
// `ready` that did not reach the installed runtime would fail every start.
const APP = `import http from 'node:http';
import { ready } from 'batonjs';
http.createServer((req, res) => res.end(process.pid + '\\n')).listen(Number(process.env.PORT), '127.0.0.1', () => ready());
`;

// The bins' `#!/usr/bin/env node` finds this test's node first.
const env = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
  npm_config_update_notifier: 'false',
};

/**
 * Runs `file args` to completion: { code, stdout, stderr }; killed after `timeoutMs`.
 * @param {string} file
 * @param {string[]} args
 * @param {{ cwd?: string, timeoutMs?: number, extraEnv?: Record<string, string> }} [options]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function run(file, args, { cwd, timeoutMs = 60_000, extraEnv = {} } = {}) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/**
 * Runs `steps` under two loads on `target` (keep-alive, and a connection per
 * request), with `servedBy(pids)` to wait until one of `pids` has answered;
 * asserts that no request failed. Returns `served(pids)`: the requests they answered.
 */
async function underLoad(target, steps) {
  const loads = {
    'keep-alive': startLoad({ target, mode: 'keepalive' }),
    'per-request': startLoad({ target, mode: 'close' }),
  };
  const served = (pids) =>
    pids.reduce((n, p) => n + Object.values(loads).reduce((m, l) => m + (l.stats.pids.get(p) ?? 0), 0), 0);
  const servedBy = (pids) =>
    waitFor(() => served(pids) > 0, { timeoutMs: 30_000, what: `a request served by ${pids}` });
  try {
    await steps(servedBy);
  } finally {
    for (const l of Object.values(loads)) await l.stop();
  }
  for (const [name, l] of Object.entries(loads)) assert.equal(l.stats.failed, 0, describeFailures(name, l.stats));
  return served;
}

let dir;
let app;
let entries;

before(
  async () => {
    dir = tmpDir('baton-pack-');
    const clone = path.join(dir, 'clone');
    const cache = path.join(dir, 'npm-cache');
    const listed = await run('git', ['-C', root, 'ls-files', '-z']);
    assert.equal(listed.code, 0, listed.stderr);
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      const from = path.join(root, file);
      if (!fs.existsSync(from)) continue; // deleted in the working tree, not yet committed
      fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      fs.copyFileSync(from, path.join(clone, file));
    }
    assert.ok(!fs.existsSync(path.join(clone, 'dist')), 'a fresh clone has no dist/');
    // What `npm ci` would install, without the network: the dev dependencies prepack builds with.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'));

    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const packed = await run('npm', ['pack', '--offline', '--pack-destination', out], {
      cwd: clone,
      timeoutMs: 240_000,
      extraEnv: { npm_config_cache: cache },
    });
    assert.equal(packed.code, 0, packed.stdout + packed.stderr);
    const [name] = fs.readdirSync(out);
    const tarball = path.join(out, name);
    const list = await run('tar', ['-tzf', tarball]);
    assert.equal(list.code, 0, list.stderr);
    entries = list.stdout.split('\n').filter(Boolean);

    app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      `${JSON.stringify({ name: 'scratch-app', private: true, type: 'module' })}\n`,
    );
    fs.writeFileSync(path.join(app, 'app.mjs'), APP);
    // An empty private cache and --offline: whatever is installed came from the tarball.
    const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      timeoutMs: 120_000,
      extraEnv: { npm_config_cache: cache },
    });
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  },
  { timeout: 360_000 },
);

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('npm pack from a fresh clone builds the code into the tarball, and leaves the sources and tests out', () => {
  for (const file of [
    'dist/cli/main.js',
    'dist/register.js',
    'dist/index.js',
    'dist/testing/index.js',
    'package.json',
    'README.md',
  ]) {
    assert.ok(entries.includes(`package/${file}`), `the tarball holds ${file}: ${entries.join(' ')}`);
  }
  const unwanted = entries.filter((e) => /^package\/(src|test)\//.test(e));
  assert.deepEqual(unwanted, [], 'no src/ or test/ in the tarball');
  const deps = JSON.parse(fs.readFileSync(path.join(app, 'node_modules/batonjs/package.json'), 'utf8')).dependencies;
  assert.equal(deps, undefined, 'no runtime dependencies');
});

test('every file the README links to or shows is in the tarball (the links work in node_modules and from the package)', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const targets = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(targets.length > 10, `links found: ${targets}`);
  const missing = [...new Set(targets)].filter((l) => !entries.includes(`package/${path.posix.normalize(l)}`));
  assert.deepEqual(missing, [], 'linked from the README, missing from the tarball');
});

test('the installed baton bin: run -w 2, reload under load, status --json, stop', { timeout: 120_000 }, async (t) => {
  const bin = path.join(app, 'node_modules/.bin/baton');
  const control = path.join(dir, 'control.sock');
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = follow(
    spawn(bin, ['run', '-w', '2', '--wait-ready', '--crash-window', '0', '--control', control, 'app.mjs'], {
      cwd: app,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  t.after(() => cleanup(master));
  const baton = (...args) => run(bin, [...args, '--control', control], { cwd: app });
  /** @typedef {{ generation: number, pids: number[] }} Generation */
  /** The serving generation's ready workers, once there are 2: { generation, pids }. */
  const readyGeneration = () =>
    // waitFor resolves with the first truthy value: never false.
    /** @type {Promise<Generation>} */ (
      waitFor(
        async () => {
          const r = await baton('status', '--json');
          if (r.code !== 0) return false;
          const s = JSON.parse(r.stdout);
          const pids = s.workers.filter((w) => w.state === 'ready' && w.generation === s.generation).map((w) => w.pid);
          pids.forEach((p) => master.pids.add(p));
          return pids.length === 2 && { generation: s.generation, pids };
        },
        { timeoutMs: 30_000, what: '2 ready workers' },
      )
    );

  const first = await readyGeneration();
  assert.equal(first.generation, 1);
  /** @type {Generation} */
  let second;
  const served = await underLoad(target, async (servedBy) => {
    await servedBy(first.pids);
    const r = await baton('reload');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /done: generation 2 serving/);
    second = await readyGeneration();
    assert.equal(second.generation, 2);
    await servedBy(second.pids);
  });
  t.diagnostic(`generation 1: ${served(first.pids)} ok, generation 2: ${served(second.pids)} ok, 0 failed`);

  const stop = await baton('stop');
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const exit = await within(master.exited, 60_000, 'the master to exit');
  assert.deepEqual(exit, { code: 0, signal: null }, master.output.slice(-2000));
});

test('the installed preload: node --import batonjs/register, SIGUSR2 upgrade under load', {
  timeout: 120_000,
}, async (t) => {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const proc = follow(
    spawn(process.execPath, ['--import', 'batonjs/register', 'app.mjs'], {
      cwd: app,
      env: { ...env, PORT: String(port), BATON_WAIT_READY: '1', BATON_LOG_FORMAT: 'text' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  t.after(() => cleanup(proc));
  const first = await waitFor(() => servingPid(target), { timeoutMs: 30_000, what: 'the app to answer' });
  assert.equal(first, proc.child.pid);
  let successor;
  const served = await underLoad(target, async (servedBy) => {
    await servedBy([first]);
    successor = await upgrade(proc, first, { timeoutMs: 30_000 });
    await servedBy([successor]);
  });
  t.diagnostic(
    `pid ${first}: ${served([first])} ok, successor ${successor}: ${served([successor])} ok, 0 failed (the first has exited)`,
  );
});
