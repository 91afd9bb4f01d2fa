// Unit tests for dist/generation/parent.js: a child whose spawn fails, for the
// reasons Node reports as an event (ENOENT, EMFILE) and those it throws (ENOTDIR).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child, awaitReady } from '../../dist/generation/parent.js';

const parentUrl = new URL('../../dist/generation/parent.js', import.meta.url).href;
const settingsUrl = new URL('../../dist/protocol/settings.js', import.meta.url).href;
const { DEFAULTS } = await import(settingsUrl);

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-parent-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function child(overrides) {
  return new Child({
    execPath: process.execPath,
    args: ['-e', '0'],
    cwd: dir,
    env: {},
    sockets: [],
    settings: { ...DEFAULTS, generation: 1 },
    role: 'worker',
    ...overrides,
  });
}

/** The reason the wait, the ready promise and describeExit all give for a child that never started. */
async function reasonOf(c) {
  const failure = await awaitReady([c], 5000);
  const exit = await c.exited;
  await assert.rejects(c.ready, (/** @type {Error} */ err) => err.message === failure.reason);
  assert.equal(c.describeExit(exit), failure.reason);
  assert.equal(c.state, 'exited');
  return failure.reason;
}

test('a missing node executable: the spawn error is named, not "pid 0 exited (code -2)"', async () => {
  const missing = path.join(dir, 'no-such-node');
  const reason = await reasonOf(child({ execPath: missing }));
  assert.equal(reason, `cannot start the worker: spawn ENOENT ('${missing}' not found)`);
});

test('a missing working directory is named as the cause of ENOENT', async () => {
  const gone = path.join(dir, 'removed-release');
  const reason = await reasonOf(child({ cwd: gone, role: 'successor' }));
  assert.equal(
    reason,
    `cannot start the successor: spawn ENOENT (the working directory '${gone}' does not exist or is not a directory)`,
  );
});

test('a spawn error Node throws (cwd is a file: ENOTDIR) fails the child the same way instead of throwing', async () => {
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  const c = child({ cwd: file });
  assert.equal(c.pid, 0);
  const reason = await reasonOf(c);
  assert.equal(
    reason,
    `cannot start the worker: spawn ENOTDIR (the working directory '${file}' does not exist or is not a directory)`,
  );
  c.drain('stop', Date.now() + 1000);
  c.kill();
});

test('EMFILE names the errno and the limit to raise', { skip: process.platform === 'win32' && 'no ulimit' }, () => {
  // Under a low limit, fill every fd, then start a child: Node reports EMFILE as code -24 after an 'error' event.
  const script = `
    import fs from 'node:fs';
    import { Child, awaitReady } from ${JSON.stringify(parentUrl)};
    import { DEFAULTS } from ${JSON.stringify(settingsUrl)};
    const fds = [];
    try { for (;;) fds.push(fs.openSync(${JSON.stringify(os.devNull)}, 'r')); } catch {}
    const c = new Child({ execPath: process.execPath, args: ['-e', '0'], cwd: process.cwd(), env: {}, sockets: [],
      settings: { ...DEFAULTS, generation: 1 }, role: 'worker' });
    const failure = await awaitReady([c], 5000);
    for (const fd of fds) fs.closeSync(fd);
    process.stdout.write(failure.reason);
  `;
  const r = spawnSync(
    '/bin/sh',
    ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    'cannot start the worker: spawn EMFILE (too many open files; raise the limit with ulimit -n, or LimitNOFILE= under systemd)',
  );
});

test('drain: a later deadline changes nothing; an earlier one is sent again, and heartbeats are kept', {
  timeout: 20_000,
}, async () => {
  // Beats once; at the second drain order it exits 0 if that order moved the deadline up, else 3.
  const script = `
    const deadlines = [];
    process.on('message', (m) => {
      if (m.type !== 'drain') return;
      deadlines.push(m.deadline);
      if (deadlines.length === 2) process.exit(deadlines[1] < deadlines[0] ? 0 : 3);
    });
    process.send({ baton: 1, type: 'ready', pid: process.pid, listening: [] });
    process.send({ baton: 1, type: 'heartbeat', pid: process.pid, delayMs: 7, connections: 3 });
  `;
  const c = new Child({
    execPath: process.execPath,
    args: ['-e', script],
    cwd: dir,
    env: {},
    sockets: [],
    settings: { ...DEFAULTS, generation: 1 },
    role: 'worker',
  });
  await c.ready;
  await new Promise((resolve) => {
    const check = setInterval(() => {
      if (!c.heartbeat) return;
      clearInterval(check);
      resolve();
    }, 10);
  });
  assert.equal(c.heartbeat.delayMs, 7);
  assert.equal(c.heartbeat.connections, 3);
  assert.ok(c.readyAt > 0);
  const far = Date.now() + 60_000;
  c.drain('upgrade', far);
  c.drain('upgrade', far + 1000);
  c.drain('upgrade', Date.now());
  const exit = await c.exited;
  assert.deepEqual(
    exit,
    { code: 0, signal: null },
    'the second order it got had the earlier deadline (the later one was not sent)',
  );
});
