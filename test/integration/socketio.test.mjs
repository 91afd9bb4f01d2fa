// socket.io under baton run -w 2, with the configuration that works without
// sticky sessions: clients on the WebSocket transport only. Clients send
// acknowledged messages throughout 3 reloads; each reload's drain tells their
// WebSockets 1012, they reconnect to the new generation, and every message is
// acknowledged in the end (a message whose ack was lost to a reconnect is sent
// again), each acknowledged one received by the app.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { io } from 'socket.io-client';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { examples, freePort, sleep, tmpDir, waitFor, within } from '../helpers/proc.mjs';

const CLIENTS = 10;
const RELOADS = 3;
/** Per message: attempts before it counts as lost. */
const ATTEMPTS = 5;
/** Per client: a bound on the loop, far above what the test sends. */
const MAX_MESSAGES = 20_000;

/** A client that sends `msg` in a loop until stopped, each acknowledged before the next. */
function startClient(port, c) {
  const socket = io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  const s = {
    socket,
    sent: 0,
    acked: new Set(),
    lastPid: 0,
    retries: 0,
    lost: 0,
    reconnects: 0,
    reconnectErrors: 0,
    disconnects: {},
    stop: false,
  };
  socket.io.on('reconnect', () => s.reconnects++);
  socket.io.on('reconnect_error', () => s.reconnectErrors++);
  socket.on('disconnect', (reason) => (s.disconnects[reason] = (s.disconnects[reason] ?? 0) + 1));
  s.done = (async () => {
    for (let i = 0; i < MAX_MESSAGES && !s.stop; i++) {
      const id = `${c}:${i}`;
      s.sent++;
      for (let attempt = 1; ; attempt++) {
        try {
          const ack = await socket.timeout(5000).emitWithAck('msg', id);
          s.acked.add(ack.id);
          s.lastPid = ack.pid;
          break;
        } catch {
          if (attempt === ATTEMPTS) {
            s.lost++;
            break;
          }
          s.retries++;
          if (!socket.connected)
            await within(
              /** @type {Promise<void>} */ (new Promise((resolve) => socket.once('connect', resolve))),
              30_000,
              `client ${c} to reconnect`,
            );
        }
      }
    }
  })();
  return s;
}

test('socket.io (WebSocket transport) under baton run -w 2: clients reconnect at each reload, every message acknowledged and received', {
  timeout: 180_000,
}, async (t) => {
  const port = await freePort();
  const dir = tmpDir('baton-socketio-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const receipts = path.join(dir, 'receipts');
  // A drain timeout no wait of this test reaches: clients move because they are told 1012, not because they are cut.
  const master = startMaster(['-w', '2', '--drain-timeout', '60s', path.join(examples, 'socketio.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1', RECEIPTS: receipts },
  });
  t.after(() => stopMaster(master));
  let workers = await readyWorkers(master, 2, { timeoutMs: 60_000 });

  const clients = Array.from({ length: CLIENTS }, (_, c) => startClient(port, c));
  t.after(() => clients.forEach((s) => s.socket.close()));
  const allServedBy = (pids, what) =>
    waitFor(() => clients.every((s) => pids.includes(s.lastPid)), { timeoutMs: 30_000, what });
  await allServedBy(workers, 'every client to be acknowledged by generation 1');

  const codes = [];
  for (let r = 0; r < RELOADS; r++) {
    await sleep(200);
    const res = await baton(['reload', '--control', master.control]);
    codes.push(res.code);
    assert.equal(res.code, 0, res.stderr);
    workers = await readyWorkers(master, 2);
    await allServedBy(workers, `every client to be acknowledged by generation ${r + 2} (${workers})`);
  }
  for (const s of clients) s.stop = true;
  await within(Promise.all(clients.map((s) => s.done)), 60_000, 'the clients to finish');

  const sum = (f) => clients.reduce((n, s) => n + f(s), 0);
  const received = new Set(fs.readFileSync(receipts, 'utf8').split('\n').filter(Boolean));
  const acked = clients.flatMap((s) => [...s.acked]);
  t.diagnostic(`reload exit codes: ${codes.join(' ')}`);
  t.diagnostic(
    `messages: ${sum((s) => s.sent)} sent, ${acked.length} acknowledged, ${received.size} received, ${sum((s) => s.retries)} sent again, ${sum((s) => s.lost)} lost`,
  );
  t.diagnostic(
    `reconnects: ${sum((s) => s.reconnects)}, failed ${sum((s) => s.reconnectErrors)}; disconnects: ${JSON.stringify(clients.map((s) => s.disconnects))}`,
  );
  assert.equal(
    sum((s) => s.lost),
    0,
    'no message went unacknowledged',
  );
  assert.equal(
    acked.length,
    sum((s) => s.sent),
    'every message sent was acknowledged',
  );
  assert.deepEqual(
    acked.filter((id) => !received.has(id)),
    [],
    'every acknowledged message was received by the app',
  );
  assert.equal(
    sum((s) => s.reconnectErrors),
    0,
    'no reconnect failed',
  );
  for (const s of clients)
    assert.equal(s.reconnects, RELOADS, `each client reconnected once per reload: ${JSON.stringify(s.disconnects)}`);
});
