// WebSockets across reloads, with an unmodified ws app: as the old generation
// starts to drain, baton tells each client 1012 "service restart", the client
// reconnects to the new generation, and the old one exits without waiting for
// its drain timeout. The drain timeout is 60 s and each test has 40 s: a reload
// that waited for the deadline fails the test by its timeout, never by a timed
// assertion.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import {
  alive,
  cleanup,
  examples,
  freePort,
  root,
  servingPid,
  startStandalone,
  upgrade,
  waitFor,
} from '../helpers/proc.mjs';

const TEST_MS = 40_000;

/**
 * A client that, like a browser app, reconnects when the server closes it.
 * It records the pid each connection was greeted with and each close.
 */
function reconnectingClient(t, port) {
  const c = { pids: [], closes: [], errors: [] };
  const connect = () =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      t.after(() => ws.terminate());
      ws.on('error', (err) => c.errors.push(err.message));
      ws.once('message', (m) => {
        c.pids.push(Number(String(m)));
        resolve();
      });
      ws.once('close', (code, reason) => {
        c.closes.push(`${code} ${reason}`);
        if (c.closes.length === 1) void connect();
      });
    });
  c.opened = connect();
  return c;
}

/** `n` clients, connected and greeted, a few at a time. */
async function connectClients(t, port, n) {
  const clients = [];
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, () => reconnectingClient(t, port));
    await Promise.all(batch.map((c) => c.opened));
    clients.push(...batch);
  }
  return clients;
}

const count = (values) => values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map());

test('baton run -w 2, 100 clients of an unmodified ws app: each is told 1012 at the reload and reconnects to the new generation', {
  timeout: TEST_MS,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', '--drain-timeout', '60s', path.join(examples, 'websocket.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), { what: 'the app to serve' });
  const old = await readyWorkers(master, 2);
  const clients = await connectClients(t, port, 100);
  assert.ok(
    clients.every((c) => old.includes(c.pids[0])),
    'every client was greeted by an old worker',
  );

  const r = await baton(['reload', '--control', master.control], { timeoutMs: TEST_MS });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /cut at the drain timeout/);
  const next = await readyWorkers(master, 2);
  await waitFor(() => clients.every((c) => c.pids.length === 2), { what: 'every client to reconnect' });

  t.diagnostic(
    `${r.stdout.trim().split('\n').at(-1)}; closes: ${JSON.stringify([...count(clients.flatMap((c) => c.closes))])}`,
  );
  assert.deepEqual([...count(clients.flatMap((c) => c.closes))], [['1012 service restart', 100]]);
  assert.equal(
    clients.filter((c) => next.includes(c.pids[1])).length,
    100,
    `all reconnected to the new workers ${next}`,
  );
  assert.deepEqual(
    clients.flatMap((c) => c.errors),
    [],
  );
  assert.ok(
    old.every((pid) => !alive(pid)),
    'the old workers are gone',
  );
  assert.equal((await status(master)).reloads.at(-1).cut ?? 0, 0, 'nothing was cut');
});

test('standalone, 20 clients: 1012 at the upgrade, reconnected to the successor; 1001 (going away) when it stops', {
  timeout: TEST_MS,
}, async (t) => {
  const port = await freePort();
  const app = startStandalone(path.join(examples, 'websocket.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', BATON_DRAIN_TIMEOUT: '60s' },
  });
  t.after(() => cleanup(app));
  const pid = await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), {
    what: 'the app to serve',
  });
  const clients = await connectClients(t, port, 20);

  const successor = await upgrade(app, pid, { timeoutMs: TEST_MS });
  await waitFor(() => clients.every((c) => c.pids.length === 2), { what: 'every client to reconnect' });
  assert.deepEqual([...count(clients.flatMap((c) => c.closes))], [['1012 service restart', 20]]);
  assert.deepEqual([...count(clients.map((c) => c.pids[1]))], [[successor, 20]]);

  process.kill(successor, 'SIGTERM');
  await waitFor(() => clients.every((c) => c.closes.length === 2), { what: 'every client to be closed again' });
  assert.deepEqual([...count(clients.map((c) => c.closes[1]))], [['1001 going away', 20]]);
  await waitFor(() => !alive(successor), { what: 'the successor to exit' });
  assert.deepEqual(
    clients.flatMap((c) => c.errors),
    [],
  );
});

test("--no-close-websockets: clients are not told 1012; the app's onShutdown hook closes them, and they reconnect", {
  timeout: TEST_MS,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(
    ['-w', '2', '--drain-timeout', '60s', '--no-close-websockets', path.join(root, 'test/fixtures/ws-closing-app.mjs')],
    {
      env: { PORT: String(port) },
    },
  );
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), { what: 'the app to serve' });
  await readyWorkers(master, 2);
  const clients = await connectClients(t, port, 20);
  const mark = master.output.length;

  const r = await baton(['reload', '--control', master.control], { timeoutMs: TEST_MS });
  assert.equal(r.code, 0, r.stderr);
  const next = await readyWorkers(master, 2);
  await waitFor(() => clients.every((c) => c.pids.length === 2), { what: 'every client to reconnect' });
  assert.deepEqual([...count(clients.flatMap((c) => c.closes))], [['4000 closed by the app', 20]]);
  assert.equal(clients.filter((c) => next.includes(c.pids[1])).length, 20);
  const handed = [...master.output.slice(mark).matchAll(/hook got (\d+) connection/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  assert.equal(handed, 20, "the old workers' hooks were handed the 20 WebSockets, still open");
});
