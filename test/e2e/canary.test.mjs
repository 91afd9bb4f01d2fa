// baton reload --canary: one new worker serves beside all the old ones, sent
// its share by clients that only ever reuse their keep-alive connections (the
// old workers close a share of them), and is judged before the rest start. A
// release answering 500 is rolled back with only the canary's share failed; a
// release 5× slower is rolled back on its p99; a good one passes, none failed.
// Bad input is refused before anything starts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, root, sleep, tmpDir } from '../helpers/proc.mjs';

test('baton reload --canary: a 500 release and a 5× slower one are rolled back, a good one passes; keep-alive clients reach the canary', {
  timeout: 90_000,
}, async (t) => {
  const dir = tmpDir('baton-canary-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(root, 'test/fixtures/breakable-app.mjs'), path.join(dir, 'app.mjs'));
  const port = await freePort();
  // Each answer takes 10 ms: a p99 to compare, which the slow release multiplies by 5.
  const master = startMaster(['-w', '3', '--crash-window', '1s', 'app.mjs'], {
    cwd: dir,
    env: { PORT: String(port), PWD: dir, DELAY_MS: '10' },
  });
  t.after(() => stopMaster(master));
  const workers = await readyWorkers(master, 3);
  const deploy = (mode) => fs.writeFileSync(path.join(dir, 'BREAK'), mode);
  const reload = async (...args) => {
    const r = await baton(['reload', '--control', master.control, ...args]);
    return { ...r, output: r.stdout + r.stderr };
  };

  /** @type {[string[], RegExp][]} */
  const refused = [
    [['--canary', '3'], /^--canary 3: a canary is fewer workers than the 3 this master runs \(give 1 to 2\)$/],
    [['--canary', '0'], /^baton: --canary: '0' is not a worker count \(use 1 or more\)$/],
    [['--canary', '1', '--canary-for', 'soon'], /^baton: --canary-for: 'soon' is not a duration/],
  ];
  for (const [args, error] of refused) {
    const r = await reload(...args);
    assert.equal(r.code, 2, r.output);
    assert.match(r.stderr.trim(), error);
    assert.equal(r.stdout, '', 'nothing started');
  }
  assert.equal((await status(master)).generation, 1);

  // Keep-alive only: every connection opens before the canary starts, and none would reach it unless closed.
  const load = startLoad({ target: { protocol: 'http', host: '127.0.0.1', port }, mode: 'keepalive', concurrency: 8 });
  t.after(() => load.stop());
  await sleep(500);
  const sent = () => load.stats.ok + load.stats.failed;

  deploy('answer-500');
  const [sentBefore, failedBefore] = [sent(), load.stats.failed];
  const bad = await reload('--canary', '1', '--canary-for', '3s');
  assert.equal(bad.code, 1, bad.output);
  assert.match(bad.output, /^canary: generation 2, 1 worker, 3s$/m);
  assert.match(bad.output, /^canary: generation 2: 100 % 5xx or nothing of \d+ requests/m, 'a running comparison');
  assert.match(
    bad.output,
    /^canary failed: generation 2 answered 5xx or nothing to 100 % of \d+ requests \(generation 1: 0 % of \d+\)$/m,
  );
  const failed = load.stats.failed - failedBefore;
  assert.ok(failed > 0, 'the keep-alive clients reached the canary');
  assert.ok(failed < (sent() - sentBefore) / 2, `only the canary's share failed: ${failed} of ${sent() - sentBefore}`);
  const s = await status(master);
  assert.equal(s.generation, 1);
  assert.deepEqual(
    s.workers.map((w) => w.pid),
    workers,
    'the old workers serve on, never drained',
  );
  const failedAtRollback = load.stats.failed;

  deploy('slow-5x');
  const slow = await reload('--canary', '1', '--canary-for', '3s');
  assert.equal(slow.code, 1, slow.output);
  assert.match(
    slow.output,
    /^canary failed: generation 3 answered slower than 2 × generation 1: p99 \d+ ms of \d+ answers \(generation 1: \d+ ms of \d+\)$/m,
  );
  const canaryPid = Number(/^spawned generation 3\b.*: pid (\d+)$/m.exec(slow.output)?.[1]);
  assert.ok((load.stats.pids.get(canaryPid) ?? 0) > 0, 'keep-alive-only clients were answered by the canary');

  deploy('');
  const good = await reload('--canary', '1', '--canary-for', '3s');
  assert.equal(good.code, 0, good.output);
  assert.match(good.output, /^canary passed: generation 4 answered 5xx or nothing to 0 % of \d+ requests/m);
  assert.equal((await status(master)).generation, 4);
  const stats = await load.stop();
  assert.equal(stats.failed, failedAtRollback, describeFailures('keep-alive', stats));
});
