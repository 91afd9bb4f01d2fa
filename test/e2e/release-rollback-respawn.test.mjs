// A generation's workers run the code it started with: after `current` was
// switched to a release that fails and the reload was rolled back, a crashed
// worker of the serving generation is respawned on its own release, not on the
// broken one the link now names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { deployDir, releaseOf, switchTo } from '../helpers/releases.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, servingPid, waitFor } from '../helpers/proc.mjs';

test("baton run: a worker that crashes after a rolled-back reload is respawned on its generation's release", async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1', 'v3'], broken: ['v2'] });
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(['-w', '2', 'app.mjs'], { cwd: current, env: { PORT: String(port), PWD: current } });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  const [victim, other] = await readyWorkers(master, 2);

  switchTo(dir, 'v2');
  const failed = await baton(['reload', '--control', master.control]);
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.match(failed.stdout + failed.stderr, /release v2 is broken/);

  // The respawn either becomes ready, or dies before it is (the crash loop on v2).
  const outcome = waitForLine(
    master,
    (l) => {
      if (l.pid !== master.child.pid) return undefined;
      if (/^worker ready /.test(l.text) && !l.related.includes(other)) return 'ready';
      return /exited before it was ready.*restarting it/.test(l.text) ? `crashed: ${l.text}` : undefined;
    },
    { what: 'the respawned worker to be ready or to crash' },
  );
  process.kill(victim, 'SIGKILL');
  assert.equal(await outcome, 'ready');
  const pids = await readyWorkers(master, 2);
  assert.ok(pids.includes(other) && !pids.includes(victim), `replaced: ${pids.join(',')}`);
  for (let i = 0; i < 10; i++)
    assert.equal(await releaseOf(target), 'v1', "both workers run v1, the serving generation's release");

  switchTo(dir, 'v3');
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (let i = 0; i < 10; i++)
    assert.equal(await releaseOf(target), 'v3', 'a reload still takes the release the link names');
});
