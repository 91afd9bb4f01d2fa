// A pod's end in Kubernetes, played for real on loopback: two `baton run -w 2
// --shutdown-delay 3s` backends behind a real nginx; the test is the endpoints
// controller (a probe loop on each backend's /readyz that takes a not-ready
// backend out of nginx's upstream) and the kubelet (SIGTERM, then SIGKILL at
// the end of the grace period: shutdown delay + drain timeout + a margin).
// Under load through nginx, keep-alive and a new connection per request, no
// request fails while one backend goes away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { describeTransitions, drainStart, loadBalanced } from '../helpers/nginx.mjs';
import { examples, freePort, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const SHUTDOWN_DELAY_MS = 3000;
const DRAIN_TIMEOUT_MS = 20_000;
const GRACE_MS = SHUTDOWN_DELAY_MS + DRAIN_TIMEOUT_MS + 5000;

/**
 * A `baton run` master with its admin listener, as a backend of nginx's upstream.
 * @param {import('node:test').TestContext} t
 * @param {string} name
 * @returns {Promise<import('../helpers/nginx.mjs').Backend & { master: import('../../dist/testing/harness.js').SupervisedApp }>}
 */
async function startBackend(t, name) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const master = startMaster(
    [
      '-w',
      '2',
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--shutdown-delay',
      `${SHUTDOWN_DELAY_MS}ms`,
      '--drain-timeout',
      `${DRAIN_TIMEOUT_MS}ms`,
      `${examples}/http.mjs`,
    ],
    { env: { PORT: String(port), HOST: '127.0.0.1' } },
  );
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  return {
    name,
    master,
    server: `127.0.0.1:${port}`,
    readyz: { protocol: 'http', host: '127.0.0.1', port: adminPort },
  };
}

test('a pod stopped with --shutdown-delay behind nginx and a /readyz endpoints controller: 0 failed requests', {
  timeout: 180_000,
}, async (t) => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b')];
  const { controller, loads, flowing } = await loadBalanced(t, backends);
  await flowing('load to flow through nginx');

  const [a] = backends;
  const drained = drainStart(a.master, GRACE_MS);
  const sigterm = Date.now();
  a.master.child.kill('SIGTERM');
  // The kubelet: SIGKILL once the grace period is over.
  const exit = await within(
    a.master.exited,
    GRACE_MS,
    `backend a to exit within the grace period (${GRACE_MS} ms)`,
  ).catch((err) => {
    a.master.child.kill('SIGKILL');
    throw err;
  });
  const exitedAt = Date.now();
  const drainAt = await drained;
  await controller.removed('a');
  await flowing('load to flow to the other backend');
  const stats = await Promise.all(loads.map((l) => l.stop()));
  await controller.stop();

  const removedAt = controller.transitions.find((x) => x.upstream?.join() === 'b')?.at;
  const lines = [
    ...describeTransitions(
      [
        ...controller.transitions,
        { at: drainAt, event: `a drains (shutdown delay ${SHUTDOWN_DELAY_MS} ms)` },
        { at: exitedAt, event: `a exited ${JSON.stringify(exit)}` },
      ],
      sigterm,
    ),
    ...['keep-alive', 'new connection per request'].map(
      (m, i) =>
        `${m}: ${stats[i].ok} ok, ${stats[i].failed} failed, ${stats[i].retried} retried ${JSON.stringify(stats[i].retries)}`,
    ),
  ];
  for (const l of lines) t.diagnostic(l);
  assert.deepEqual(exit, { code: 0, signal: null });
  const seen = controller.transitions.filter((x) => x.backend === 'a').map((x) => x.probe);
  assert.equal(
    seen[0],
    'not ready (503)',
    `the first thing the probes see of a stopping backend is /readyz 503, while it serves: ${seen.join(', ')}`,
  );
  // The point of the delay: nginx stops sending to a before a stops accepting (3 s for a 100 ms probe period and a reload).
  assert.ok(
    removedAt < drainAt,
    `a was taken out of nginx (+${removedAt - sigterm} ms) before it drained (+${drainAt - sigterm} ms)`,
  );
  for (const [i, s] of stats.entries()) {
    assert.equal(s.failed, 0, describeFailures(['keep-alive', 'per-request'][i], s));
    assert.ok(s.ok > 0);
  }
});
