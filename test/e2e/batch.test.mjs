// baton run --batch 1: a reload starts its workers one at a time, each ready
// and through its crash window before an old one drains, so that no more than
// -w + 1 app processes ever run, with none failed under load; a batch that
// fails stops the rollout, and the slots already replaced get the old
// generation's code again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { childrenOf, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, reload, root, sleep, tmpDir } from '../helpers/proc.mjs';

test('baton run -w 4 --batch 1: at most 5 app processes, 0 failed; a failing batch gives its slots back to the old code', {
  timeout: 90_000,
}, async (t) => {
  const dir = tmpDir('baton-batch-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(root, 'test/fixtures/breakable-app.mjs'), path.join(dir, 'app.mjs'));
  const port = await freePort();
  const master = startMaster(['-w', '4', '--batch', '1', '--crash-window', '500ms', 'app.mjs'], {
    cwd: dir,
    env: { PORT: String(port), PWD: dir },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 4);
  const target = { protocol: /** @type {const} */ ('http'), host: '127.0.0.1', port };
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 4 }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));

  let most = 0;
  let reloading = true;
  const watching = (async () => {
    for (let i = 0; reloading && i < 3000; i++) {
      most = Math.max(most, childrenOf(master.child.pid).length);
      await sleep(10);
    }
  })();
  const good = await reload(master);
  reloading = false;
  await watching;
  assert.equal(good.ok, true, good.output);
  assert.equal(good.output.match(/^spawned generation 2\b/gm)?.length, 4, 'one worker at a time');
  assert.ok(most === 5, `at most -w + 1 app processes, and a batch beside the old ones (at most ${most})`);
  const failedAfterGood = loads.reduce((n, l) => n + l.stats.failed, 0);
  assert.equal(failedAfterGood, 0, loads.map((l) => describeFailures('load', l.stats)).join('; '));

  fs.writeFileSync(path.join(dir, 'BREAK'), 'second-fails');
  const mark = master.output.length;
  const bad = await reload(master);
  assert.equal(bad.ok, false, bad.output);
  assert.equal(bad.output.match(/^spawned generation 3\b/gm)?.length, 2, 'the rollout stopped at its second batch');
  const s = await status(master);
  assert.equal(s.generation, 2);
  const serving = s.workers.filter((w) => w.state !== 'draining');
  assert.deepEqual(
    serving.map((w) => `${w.generation} ${w.state}`),
    ['2 ready', '2 ready', '2 ready', '2 ready'],
    'every slot runs the old code again',
  );
  assert.doesNotMatch(master.output.slice(mark), /restarting it in/, 'started again before the new one drained');
  await Promise.all(loads.map((l) => l.stop()));
});
