// Standalone mode beyond the happy path: a slow request across an upgrade,
// releases that fail to start (rollback), resource growth, and a graceful stop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { get, startLoad } from '../helpers/load.mjs';
import {
  alive,
  cleanup,
  examples,
  fdCount,
  freePort,
  gone,
  servingPid,
  sleep,
  startStandalone,
  tmpDir,
  upgrade,
  waitFor,
  zombies,
} from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

/** An app directory whose app.mjs a test can swap for another release. */
function release(dir, example) {
  fs.copyFileSync(path.join(examples, example), path.join(dir, 'app.mjs'));
}

async function startApp(t, env = {}) {
  const dir = tmpDir();
  release(dir, 'http.mjs');
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const app = startStandalone(path.join(dir, 'app.mjs'), { env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
  t.after(() => cleanup(app));
  const pid = await waitFor(() => servingPid(target), { what: 'the app to serve' });
  return { dir, target, app, pid };
}

test('a 2 s request in flight when the upgrade starts completes with 200 from the old pid', async (t) => {
  const { target, app, pid } = await startApp(t);
  const slow = get(target, '/?delay=2000');
  await sleep(200);
  const successor = await upgrade(app, pid);
  const { status, body } = await slow;
  assert.equal(status, 200);
  assert.equal(Number(body.trim()), pid, 'the old generation answered its own request');
  assert.equal(await servingPid(target), successor);
});

// A release that throws or exits is decided by its exit, so its ready timeout is long: a busy machine
// must not turn the exit into a timeout. Only the release that is never ready waits out a short one,
// and under that timeout no good release is started afterwards: on a busy machine its start could
// take longer than 1.5 s, and a rollback of it would be the machine's doing, not baton's.
const ROLLBACKS = [
  {
    name: 'a release that throws or exits',
    readyTimeout: '60s',
    cases: [
      {
        example: 'broken-throws.mjs',
        says: /exited before it was ready \(code 1\): Error: release is broken: missing config/,
      },
      {
        example: 'broken-exits.mjs',
        says: /exited before it was ready \(code 3\)/,
        tail: /successor stderr \| cannot connect to database/,
      },
    ],
  },
  {
    name: 'a release that never becomes ready',
    readyTimeout: '1500ms',
    goodAfter: false,
    cases: [{ example: 'never-ready.mjs', says: /was not ready within 1500 ms/ }],
  },
];

for (const { name, readyTimeout, cases, goodAfter = true } of ROLLBACKS) {
  test(`${name} is rolled back; the old pid serves throughout`, async (t) => {
    const { dir, target, app, pid } = await startApp(t, {
      BATON_READY_TIMEOUT: readyTimeout,
      BATON_DRAIN_TIMEOUT: '2s',
    });
    const load = startLoad({ target, mode: 'keepalive', concurrency: 16 });
    const perRequest = startLoad({ target, mode: 'close', concurrency: 16 });
    try {
      for (const c of cases) {
        release(dir, c.example);
        const mark = app.output.length;
        process.kill(pid, 'SIGUSR2');
        const line = await waitFor(() => /upgrade failed, still serving: .*/.exec(app.output.slice(mark))?.[0], {
          timeoutMs: 60_000,
          what: `rollback of ${c.example}`,
        });
        assert.match(line, c.says);
        if (c.tail) await waitFor(() => c.tail.test(app.output.slice(mark)), { what: 'the stderr tail in the log' });
        const failed = Number(/successor=(\d+)/.exec(app.output.slice(mark))[1]);
        await waitFor(() => gone(failed), { what: `failed successor ${failed} to be reaped` });
        assert.equal(await servingPid(target), pid, `old pid still serves after ${c.example}`);
      }
      if (goodAfter) {
        release(dir, 'http.mjs');
        const successor = await upgrade(app, pid);
        assert.equal(await servingPid(target), successor, 'a good release upgrades fine after the rollbacks');
      }
    } finally {
      await load.stop();
      await perRequest.stop();
    }
    assert.equal(load.stats.failed, 0, describeFailures('keep-alive', load.stats));
    assert.equal(perRequest.stats.failed, 0, describeFailures('per-request', perRequest.stats));
    t.diagnostic(
      `${load.stats.ok + perRequest.stats.ok} requests, 0 failed, across ${cases.length} rollbacks${goodAfter ? ' and 1 upgrade' : ''}`,
    );
  });
}

test('30 upgrades: the serving process does not gain fds, and no zombie remains', async (t) => {
  const { target, app, pid: first } = await startApp(t);
  let pid = await upgrade(app, first);
  const pids = [first, pid];
  await sleep(400);
  const baseline = fdCount(pid);
  for (let i = 1; i < 30; i++) {
    pid = await upgrade(app, pid);
    pids.push(pid);
  }
  await sleep(400);
  const after = fdCount(pid);
  assert.equal(await servingPid(target), pid);
  t.diagnostic(`fds of the serving process: ${baseline} after upgrade 1, ${after} after upgrade 30`);
  assert.ok(after <= baseline, `fd count grew from ${baseline} to ${after}`);
  const old = pids.slice(0, -1);
  await waitFor(() => old.every(gone), { timeoutMs: 15_000, what: 'every old generation to be reaped' });
  assert.deepEqual(zombies(old), []);
});

test('SIGTERM under load: requests in flight complete, then exit 0', async (t) => {
  const { target, app, pid } = await startApp(t);
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const inFlight = Array.from(
    { length: 16 },
    (_, i) =>
      new Promise((resolve, reject) => {
        const req = http.get(
          { host: target.host, port: target.port, path: '/?delay=700', agent: i % 2 ? agent : false },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body }));
          },
        );
        req.on('error', reject);
      }),
  );
  await sleep(200);
  process.kill(pid, 'SIGTERM');
  const results = await Promise.all(inFlight);
  assert.deepEqual(
    results.map((r) => r.status),
    Array(16).fill(200),
  );
  assert.ok(results.every((r) => Number(r.body.trim()) === pid));
  const { code, signal } = await app.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.equal(alive(pid), false);
});
