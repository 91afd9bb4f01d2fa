// A worker whose master is killed stops accepting at once (a new master can
// bind the address), finishes what is in flight within its drain timeout, and
// only then exits.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { get } from '../helpers/load.mjs';
import { readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { alive, freePort, refused, root, servingPid, waitFor } from '../helpers/proc.mjs';

test('master killed with SIGKILL: the worker stops accepting, finishes a 4 s request, then exits', async (t) => {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(
    ['-w', '1', '--drain-timeout', '10s', path.join(root, 'test/fixtures/slow-request-app.mjs')],
    { env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'the worker to serve' });
  const [worker] = await readyWorkers(master, 1);

  const slow = get(target, '/?delay=4000', 15_000);
  await waitFor(() => master.output.includes('delay 4000'), { what: 'the slow request to reach the worker' });
  const ofWorker = (re) => (l) => (l.pid === worker && re.test(l.text) ? l.text : undefined);
  const draining = waitForLine(master, ofWorker(/^draining /), { what: 'the worker to start draining' });
  const drained = waitForLine(master, ofWorker(/^drained, exiting/), { what: 'the worker to finish draining' });
  process.kill(master.child.pid, 'SIGKILL');
  const killedAt = Date.now();

  assert.match(await draining, /connections=1/);
  assert.equal(await refused(port), true, 'no new connection is accepted once the worker drains');
  const r = await slow;
  assert.deepEqual(r, { status: 200, body: `${worker}\n` }, 'the request in flight completes');
  await drained;
  await waitFor(() => !alive(worker), { timeoutMs: 10_000, what: 'the worker to exit' });
  const ms = Date.now() - killedAt;
  t.diagnostic(`worker exited ${ms} ms after the master's SIGKILL`);
  assert.ok(ms < 10_000, `exited within the 10 s drain timeout (${ms} ms)`);
});
