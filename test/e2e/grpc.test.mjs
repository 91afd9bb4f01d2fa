// gRPC server streams (grpc-js) across reloads under baton run -w 2. Each
// client has a connection of its own and one Watch stream, which the server
// never ends by itself; when the stream ends with a status clients retry
// (UNAVAILABLE, 14), the client opens it again, and the new generation serves.
//   - examples/grpc-stream.mjs ends its streams in an onDrain hook: the reload
//     does not wait for the 60 s drain timeout (the test has 40 s);
//   - an unmodified app's streams are cut at the drain timeout (3 s here, the
//     cut being what is tested): the connection is dropped, which grpc-js
//     reports as UNAVAILABLE, not INTERNAL (13) as a stream reset would be.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import loader from '@grpc/proto-loader';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { examples, freePort, root, waitFor } from '../helpers/proc.mjs';

const TEST_MS = 40_000;
const CLIENTS = 20;
// ticker.proto declares the package ticker with the service Ticker.
const { ticker } = /** @type {{ ticker: { Ticker: grpc.ServiceClientConstructor } }} */ (
  grpc.loadPackageDefinition(loader.loadSync(path.join(examples, 'ticker.proto')))
);

/**
 * A client on a connection of its own, with one Watch stream that it opens
 * again when the stream ends UNAVAILABLE. It records the pid of each stream's
 * first tick and each stream's status.
 */
function watcher(t, port) {
  const client = new ticker.Ticker(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  t.after(() => client.close());
  const w = { client, pids: [], statuses: [] };
  const watch = () =>
    new Promise((resolve) => {
      const call = client.Watch({}, { waitForReady: true });
      t.after(() => call.cancel());
      call.once('data', (tick) => {
        w.pids.push(tick.pid);
        resolve();
      });
      call.on('error', (err) => {
        w.statuses.push(`${err.code} ${err.details}`);
        if (err.code === grpc.status.UNAVAILABLE && w.statuses.length === 1) void watch();
      });
    });
  w.opened = watch();
  return w;
}

const count = (values) => [...values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map())];

function who(client) {
  return new Promise((resolve, reject) => client.Who({}, (err, tick) => (err ? reject(err) : resolve(tick.pid))));
}

/** Starts `script` under baton run -w 2 with `options`, and CLIENTS watchers on the first generation. */
async function watched(t, script, options) {
  const port = await freePort();
  const master = startMaster(['-w', '2', ...options, script], { env: { PORT: String(port), HOST: '127.0.0.1' } });
  t.after(() => stopMaster(master));
  const old = await readyWorkers(master, 2, { timeoutMs: 20_000 });
  const watchers = Array.from({ length: CLIENTS }, () => watcher(t, port));
  await Promise.all(watchers.map((w) => w.opened));
  assert.ok(
    watchers.every((w) => old.includes(w.pids[0])),
    'every stream was opened on an old worker',
  );
  return { master, watchers };
}

/** `baton reload`, then every stream open again on the new generation; returns the new workers and the reload's output. */
async function reloadAndRewatch(master, watchers) {
  const r = await baton(['reload', '--control', master.control], { timeoutMs: TEST_MS });
  assert.equal(r.code, 0, r.stderr);
  const next = await readyWorkers(master, 2);
  await waitFor(() => watchers.every((w) => w.pids.length === 2), { what: 'every stream to be open again' });
  assert.equal(
    watchers.filter((w) => next.includes(w.pids[1])).length,
    CLIENTS,
    `every stream reopened on the new workers ${next}`,
  );
  assert.ok(next.includes(await who(watchers[0].client)), 'a unary call is served by the new generation');
  return { next, output: r.stdout.trim() };
}

test('an app that ends its streams in onDrain: every stream ends UNAVAILABLE as the drain starts, and is reopened on the new generation', {
  timeout: TEST_MS,
}, async (t) => {
  const { master, watchers } = await watched(t, path.join(examples, 'grpc-stream.mjs'), ['--drain-timeout', '60s']);
  const { output } = await reloadAndRewatch(master, watchers);
  const statuses = count(watchers.flatMap((w) => w.statuses));
  t.diagnostic(`${output.split('\n').at(-1)}; statuses: ${JSON.stringify(statuses)}`);
  assert.deepEqual(statuses, [[`${grpc.status.UNAVAILABLE} server restart`, CLIENTS]]);
  assert.equal((await status(master)).reloads.at(-1).cut ?? 0, 0, 'nothing was cut');
});

test("an unmodified grpc-js app: at the drain timeout its streams' connections are dropped, UNAVAILABLE (not INTERNAL), and the streams reopened on the new generation", {
  timeout: TEST_MS,
}, async (t) => {
  const { master, watchers } = await watched(t, path.join(root, 'test/fixtures/grpc-app.mjs'), [
    '--drain-timeout',
    '3s',
  ]);
  const { output } = await reloadAndRewatch(master, watchers);
  const statuses = count(watchers.flatMap((w) => w.statuses));
  t.diagnostic(`${output.split('\n').slice(-2).join('; ')}; statuses: ${JSON.stringify(statuses)}`);
  assert.deepEqual(statuses, [[`${grpc.status.UNAVAILABLE} Connection dropped`, CLIENTS]]);
  // Counted from the old workers' own lines: each says what it cut as it exits.
  const cut = [...master.output.matchAll(/ warn: (\d+) connections? cut at the drain timeout/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  assert.equal(cut, CLIENTS, 'one connection per client, cut at the drain timeout');
});
