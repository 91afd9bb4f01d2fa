// The health gate: a release that starts and serves, but answers 500 to every
// request, is rolled back within its crash window as a crash would be, the
// reason giving both generations' shares; a good release passes it under the
// same load, with none failed; and a release sent too few requests to judge
// follows --unjudged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, reload, root, sleep, tmpDir } from '../helpers/proc.mjs';

/** `baton run -w 2 --crash-window 3s` on the breakable app, deployed as `git pull` leaves it. */
async function breakable(t, args = []) {
  const dir = tmpDir('baton-health-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(root, 'test/fixtures/breakable-app.mjs'), path.join(dir, 'app.mjs'));
  const port = await freePort();
  const master = startMaster(['-w', '2', '--crash-window', '3s', ...args, 'app.mjs'], {
    cwd: dir,
    env: { PORT: String(port), PWD: dir },
  });
  t.after(() => stopMaster(master));
  const workers = await readyWorkers(master, 2);
  return { master, port, workers, deploy: (mode) => fs.writeFileSync(path.join(dir, 'BREAK'), mode) };
}

test('baton run: a release that answers 500 to everything is rolled back in its crash window; a good one passes, 0 failed', {
  timeout: 60_000,
}, async (t) => {
  const { master, port, workers, deploy } = await breakable(t);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 4 }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));

  deploy('answer-500');
  const bad = await reload(master);
  assert.equal(bad.ok, false, bad.output);
  assert.match(
    bad.output,
    /generation 2 answered 5xx or nothing to 100 % of \d+ requests \(generation 1: 0 % of \d+\)/,
    bad.output,
  );
  const s = await status(master);
  assert.equal(s.generation, 1);
  assert.deepEqual(
    s.workers.map((w) => w.pid),
    workers,
    'the old workers serve on, never drained',
  );
  // What the bad release answered in its window failed; nothing fails once the rollback has answered.
  const failedAtRollback = loads.reduce((n, l) => n + l.stats.failed, 0);
  assert.ok(failedAtRollback > 0, 'the bad release was sent requests, and failed them');
  await sleep(500);
  assert.equal(
    loads.reduce((n, l) => n + l.stats.failed, 0),
    failedAtRollback,
    'none failed after the rollback',
  );

  deploy('');
  const good = await reload(master);
  assert.equal(good.ok, true, good.output);
  assert.match(
    master.output,
    /reload: generation 3 answered 5xx or nothing to 0 % of \d+ requests \(generation 1: 0 %/,
  );
  const [k, c] = await Promise.all(loads.map((l) => l.stop()));
  assert.equal(
    k.failed + c.failed,
    failedAtRollback,
    `${describeFailures('keep-alive', k)}; ${describeFailures('per-request', c)}`,
  );
  assert.ok(k.ok > 0 && c.ok > 0);
});

test('baton run --unjudged rollback: a release sent too few requests to be judged is rolled back, and says why', {
  timeout: 60_000,
}, async (t) => {
  const { master } = await breakable(t, ['--unjudged', 'rollback']);
  const r = await reload(master);
  assert.equal(r.ok, false, r.output);
  assert.match(
    r.output,
    /generation 2 was sent 0 requests in its crash window, fewer than the 20 it is judged on \(--unjudged rollback\)/,
  );
  assert.equal((await status(master)).generation, 1);
});
