// Server-Sent Events across a reload: as the old generation starts to drain,
// baton ends each event stream as a response ends, and the client reconnects
// (as EventSource does) to the new generation. The drain timeout is 60 s and
// the test has 30 s: a reload that waited for the deadline fails the test by
// its timeout, never by a timed assertion.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/sse-app.mjs');

/**
 * An event-stream client: each connection's first event is the serving pid;
 * a stream that ends cleanly is reconnected once, one that fails is recorded.
 */
function client(t, port) {
  const c = { pids: [], ends: 0, failures: [] };
  c.reconnected = new Promise((resolve) => (c.greetedAgain = resolve));
  const connect = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (d) => {
          text += d;
          const first = /^data: (\d+)\n\n/.exec(text);
          if (first && c.pids.length < c.ends + 1) {
            c.pids.push(Number(first[1]));
            if (c.pids.length === 2) c.greetedAgain();
            resolve();
          }
        });
        res.on('end', () => {
          c.ends++;
          if (c.ends === 1) void connect();
        });
        res.on('error', (err) => c.failures.push(err.message));
      });
      req.on('error', (err) => c.failures.push(err.message));
      t.after(() => req.destroy());
    });
  c.opened = connect();
  return c;
}

test('baton run -w 1 --drain-timeout 60s, 20 event streams: each ends cleanly at the reload and reconnects to the new generation', {
  timeout: 30_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '1', '--drain-timeout', '60s', script], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  const [old] = await readyWorkers(master, 1);
  const clients = Array.from({ length: 20 }, () => client(t, port));
  await Promise.all(clients.map((c) => c.opened));
  assert.ok(clients.every((c) => c.pids[0] === old));

  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /cut at the drain timeout/, r.stdout);
  await Promise.all(clients.map((c) => c.reconnected));
  const [next] = await readyWorkers(master, 1);
  assert.notEqual(next, old);
  assert.deepEqual(
    clients.map((c) => c.ends),
    Array(20).fill(1),
    'one clean end each',
  );
  assert.deepEqual(
    clients.flatMap((c) => c.failures),
    [],
  );
  assert.deepEqual(
    clients.map((c) => c.pids[1]),
    Array(20).fill(next),
    'every client reconnected to the new generation',
  );
});

test('baton run --no-close-event-streams: the streams are left to the app, and cut at the drain timeout', {
  timeout: 30_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '1', '--drain-timeout', '1s', '--no-close-event-streams', script], {
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const clients = Array.from({ length: 2 }, () => client(t, port));
  await Promise.all(clients.map((c) => c.opened));
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^2 connections cut at the drain timeout$/m, r.stdout);
  assert.deepEqual(
    clients.map((c) => c.ends),
    [0, 0],
  );
});
