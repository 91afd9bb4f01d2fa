// A release that breaks after it listened, deployed as users deploy (files
// overwritten in place, so "the previous code" on disk is the broken code):
// it exits 150 ms after listening (Next.js when next.config throws), throws on
// its first request, or throws 2.5 s in. Within the crash window both
// generations serve; the broken one is stopped and the old one, never told to
// drain, serves on: the same pids, no outage. Supervised and standalone, under
// keep-alive and connection-per-request load.
//
// What is counted: keep-alive clients (their connections were made to the old
// generation) lose nothing; connection-per-request clients lose only requests
// the broken release itself held as it died (those reached the broken code,
// which fails them as it would without baton): none between the reloads, and
// none once a rollback has answered.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { alive, cleanup, freePort, reload, root, sleep, startStandalone, tmpDir, waitFor } from '../helpers/proc.mjs';

const BREAKS = [
  {
    mode: 'exit-after-listen',
    reason: /exited \(code 1\) \d+ ms after it was ready \(crash window 3000 ms\)/,
    stack: /next\.config\.mjs: this release exits after it listened/,
  },
  {
    mode: 'throw-on-request',
    reason: /exited \(code 1\).*: Error: this release throws on its first request/,
    stack: /at Server\.answer \(file:.*app\.mjs:\d+/,
  },
  {
    mode: 'throw-late',
    reason:
      /exited \(code 1\) 2\d{3} ms after it was ready \(crash window 3000 ms\): Error: this release dies 2\.5 s after it listened/,
    stack: /app\.mjs:\d+/,
  },
];

/** A deploy directory holding the app, as `git pull` leaves it: one copy of the files, changed in place. */
function deployDir(t) {
  const dir = tmpDir('baton-broken-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(root, 'test/fixtures/breakable-app.mjs'), path.join(dir, 'app.mjs'));
  return dir;
}

/**
 * Under both loads, deploys each broken release in turn and reloads onto it:
 * `check(r, brk)` judges each rollback. Returns the loads' stats and the
 * failures counted between reloads (after a rollback, before the next).
 */
async function deployBroken(t, { app, dir, port, check }) {
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const keepalive = startLoad({ target, mode: 'keepalive', concurrency: 8 });
  const close = startLoad({ target, mode: 'close', concurrency: 8 });
  t.after(() => Promise.all([keepalive.stop(), close.stop()]));
  let between = 0;
  for (const brk of BREAKS) {
    fs.writeFileSync(path.join(dir, 'BREAK'), brk.mode);
    const r = await reload(app, { timeoutMs: 30_000 });
    await check(r, brk);
    const failed = keepalive.stats.failed + close.stats.failed;
    await sleep(300);
    between += keepalive.stats.failed + close.stats.failed - failed;
  }
  const [k, c] = [await keepalive.stop(), await close.stop()];
  t.diagnostic(
    `keep-alive ${k.ok} ok, ${k.failed} failed; per-request ${c.ok} ok, ${c.failed} failed ${JSON.stringify(c.failures)}`,
  );
  return { k, c, between };
}

function assertRolledBack(r, brk) {
  assert.equal(r.ok, false, `${brk.mode}: the reload fails\n${r.output}`);
  assert.equal(r.code, 1);
  assert.match(r.output, brk.reason, `${brk.mode}: the reason\n${r.output}`);
  assert.match(r.output, brk.stack, `${brk.mode}: what it printed as it died, after it was ready\n${r.output}`);
}

function assertNoOutage({ k, c, between }) {
  assert.equal(k.failed, 0, describeFailures('keep-alive', k));
  assert.equal(between, 0, `no failure once a rollback has answered: ${describeFailures('per-request', c)}`);
  assert.ok(
    Object.keys(c.failures).every((kind) => /ECONNRESET|socket hang up/.test(kind)),
    describeFailures('per-request', c),
  );
  assert.ok(k.ok > 0 && c.ok > 0);
}

test('baton run -w 2: a release that dies after it listened is rolled back; the old workers, never drained, serve on', {
  timeout: 90_000,
}, async (t) => {
  const dir = deployDir(t);
  const port = await freePort();
  const master = startMaster(['-w', '2', '--crash-window', '3s', 'app.mjs'], {
    cwd: dir,
    env: { PORT: String(port), PWD: dir },
  });
  t.after(() => stopMaster(master));
  const before = await readyWorkers(master, 2);
  const counts = await deployBroken(t, {
    app: master,
    dir,
    port,
    check: async (r, brk) => {
      assertRolledBack(r, brk);
      const s = await status(master);
      assert.equal(s.generation, 1, `${brk.mode}: generation 1 serves`);
      assert.deepEqual(
        s.workers.map((w) => [w.pid, w.state]),
        before.map((pid) => [pid, 'ready']),
        `${brk.mode}: the same old workers, and nothing else`,
      );
    },
  });
  assertNoOutage(counts);
  fs.rmSync(path.join(dir, 'BREAK'));
  const fixed = await reload(master);
  assert.equal(fixed.ok, true, fixed.output);
  await waitFor(() => before.every((pid) => !alive(pid)), {
    what: 'the old workers to exit once the fixed release is in service',
  });
});

test('standalone: a successor that dies after it listened is rolled back; the old process, never drained, serves on', {
  timeout: 90_000,
}, async (t) => {
  const dir = deployDir(t);
  const port = await freePort();
  const app = startStandalone('app.mjs', { cwd: dir, env: { PORT: String(port), BATON_CRASH_WINDOW: '3s' } });
  t.after(() => cleanup(app));
  const first = await waitFor(() => app.serving, { what: 'the first process' });
  await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok), { what: 'the app to answer' });
  const counts = await deployBroken(t, {
    app,
    dir,
    port,
    check: async (r, brk) => {
      assertRolledBack(r, brk);
      assert.equal(app.serving, first);
      assert.ok(alive(first), `${brk.mode}: the first process serves on`);
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), String(first));
    },
  });
  assertNoOutage(counts);
});
