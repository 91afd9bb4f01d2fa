// examples/rolling-reload.mjs against two real `baton run --admin` masters:
// a good release reaches both, one node after the other, with no request
// failed; a broken one stops at the first node, which rolls back, and the
// second node is never touched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollingReload, writeTokenFile } from '../helpers/http.mjs';
import { startLoad } from '../helpers/load.mjs';
import { deployDir, releaseOf, switchTo } from '../helpers/releases.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, servingPid, waitFor } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const TOKEN = 'rolling-reload-token-7d1e0c9a2b4f5e6d';

async function startNode(t, tokenFile) {
  const deploy = deployDir(t, { good: ['v1', 'v2'], broken: ['v3'] });
  const [port, adminPort] = [await freePort(), await freePort()];
  const master = startMaster(
    ['-w', '1', '--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile, 'app.mjs'],
    { cwd: deploy.current, env: { PORT: String(port), PWD: deploy.current } },
  );
  t.after(() => stopMaster(master));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  await readyWorkers(master, 1);
  return { ...deploy, master, target, url: `http://127.0.0.1:${adminPort}` };
}

test('examples/rolling-reload.mjs: one node at a time, 0 failed requests; a broken release stops at the first node', {
  timeout: 180_000,
}, async (t) => {
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const nodes = [await startNode(t, tokenFile), await startNode(t, tokenFile)];
  const urls = nodes.map((n) => n.url);

  const bad = await rollingReload(['--token-file', tokenFile, 'not a url']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /"not a url" is not a URL/);
  const noToken = await rollingReload(urls);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stdout, /FAIL {2}http:\/\/127\.0\.0\.1:\d+: missing or wrong token/);

  const loads = nodes.map((n) => startLoad({ target: n.target, mode: 'keepalive', concurrency: 4 }));
  let good, broken;
  try {
    for (const n of nodes) switchTo(n.dir, 'v2');
    good = await rollingReload(['--token-file', tokenFile, ...urls]);
    for (const n of nodes) switchTo(n.dir, 'v3');
    broken = await rollingReload(['--token-file', tokenFile, ...urls]);
  } finally {
    for (const l of loads) await l.stop();
  }
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.deepEqual(
    good.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(':')[0]),
    ['ok    http', 'ok    http', '2 of 2 nodes reloaded'],
  );
  assert.equal(broken.code, 1, broken.stdout + broken.stderr);
  assert.match(broken.stdout, new RegExp(`^FAIL  ${urls[0]}: rolled back: .*exited before it was ready`, 'm'));
  assert.match(broken.stdout, new RegExp(`0 of 2 nodes reloaded; stopped at ${urls[0]}; not touched: ${urls[1]}`));
  const outcomes = await Promise.all(nodes.map(async (n) => (await status(n.master)).reloads.map((r) => r.ok)));
  assert.deepEqual(
    outcomes,
    [[true, false], [true]],
    'the first node tried v3 and rolled back; the second was never asked',
  );
  for (const n of nodes) assert.equal(await releaseOf(n.target), 'v2');
  for (const [i, l] of loads.entries()) {
    t.diagnostic(`node ${i + 1}: ${l.stats.ok} ok, ${l.stats.failed} failed`);
    assert.equal(l.stats.failed, 0, describeFailures(`node ${i + 1}`, l.stats));
    assert.ok(l.stats.ok > 0);
  }
});
