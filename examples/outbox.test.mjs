// How an app tests itself with batonjs/testing: `node --test examples/outbox.test.mjs`.
// The unit test runs the app's shutdown hook against a deadline with the stub
// runtime (nothing patched, no process started); the end-to-end test runs the
// app under `baton run -w 2`, reloads it under load and counts failed requests.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { cleanup, freePort, installTestRuntime, reloadUnderLoad, startSupervised } from 'batonjs/testing';
import { createServer, outbox, written } from './outbox.mjs';

test('the shutdown hook writes out the outbox within the time it is given; later work is written at once', async (t) => {
  const runtime = installTestRuntime();
  t.after(() => runtime.restore());
  const server = createServer();
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/job/${i}`)).status, 200);
  assert.equal(outbox.length, 3);

  await runtime.shutdown({ deadlineMs: 2000 });
  assert.deepEqual(written, ['/job/0', '/job/1', '/job/2'], 'everything accepted was written out');
  assert.equal((await fetch(`${url}/job/late`)).status, 200);
  assert.deepEqual(outbox, [], 'a draining app queues nothing');
  assert.equal(written.at(-1), '/job/late');
});

test('under baton run -w 2, five reloads under load fail no request', async (t) => {
  const port = await freePort();
  const app = startSupervised(fileURLToPath(new URL('./outbox.mjs', import.meta.url)), {
    workers: 2,
    env: { PORT: String(port) },
  });
  t.after(() => cleanup(app));
  const result = await reloadUnderLoad({ app, target: { protocol: 'http', host: '127.0.0.1', port }, reloads: 5 });
  t.diagnostic(`${result.ok} requests ok, ${result.failed} failed over ${result.reloads.length} reloads`);
  assert.equal(result.reloads.filter((r) => r.ok).length, 5, 'every reload succeeded');
  assert.equal(result.failed, 0, JSON.stringify(result.failures));
  assert.ok(result.ok > 0, 'the load was served');
});
