// Connections that outlive HTTP requests: upgraded ones handed to the app's
// onShutdown hook, and raw net connections ended at the drain timeout
// (WebSockets: websocket.test.mjs).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import {
  alive,
  cleanup,
  examples,
  freePort,
  root,
  servingPid,
  sleep,
  startStandalone,
  upgrade,
  waitFor,
} from '../helpers/proc.mjs';

test('a raw net connection the app never ends is closed at the drain timeout, and the old pid exits', async (t) => {
  const port = await freePort();
  const app = startStandalone(path.join(examples, 'net.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', BATON_DRAIN_TIMEOUT: '1s' },
  });
  t.after(() => cleanup(app));
  const ask = (socket) =>
    new Promise((resolve) => {
      socket.once('data', (d) => resolve(Number(String(d).trim())));
      socket.write('who\n');
    });
  const socket = await waitFor(
    () =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s)).once('error', reject);
      }),
    { what: 'the net app to accept' },
  );
  t.after(() => socket.destroy());
  const closed = new Promise((r) => socket.once('close', r));
  const pid = await ask(socket);
  const mark = app.output.length;
  const successor = await upgrade(app, pid);
  await closed;
  assert.match(app.output.slice(mark), new RegExp(`baton\\[${pid}\\].*drained, exiting .*destroyed=1`));
  assert.equal(alive(pid), false);
  const fresh = net.connect(port, '127.0.0.1');
  t.after(() => fresh.destroy());
  assert.equal(await ask(fresh), successor);
});

test('an app that calls server.close() while baton drains (Fastify closes its other listeners so) does not reset idle keep-alive connections', async (t) => {
  const [port, port2] = [await freePort(), await freePort()];
  const app = startStandalone(path.join(root, 'test/fixtures/close-chain.mjs'), {
    env: { PORT: String(port), PORT2: String(port2) },
  });
  t.after(() => cleanup(app));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const ask = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: port2, agent }, (res) => {
          let body = '';
          res
            .on('data', (d) => (body += d))
            .on('end', () => resolve({ pid: Number(body), connection: res.headers.connection }));
        })
        .on('error', reject);
    });
  const { pid } = await waitFor(ask, { what: 'the app to serve on PORT2' });
  // The kept-alive connection to PORT2 sits idle while the old process drains and its first server closes:
  // it moves to the successor, unclosed, or (the successor has not said yet that it listens there) stays and
  // gets one more answer, from the old pid, with Connection: close.
  const successor = await upgrade(app, pid, { untilExit: false });
  await sleep(300);
  const answer = await ask();
  const moved = { pid: successor, connection: 'keep-alive' };
  const kept = { pid, connection: 'close' };
  assert.ok(
    [moved, kept].some((o) => o.pid === answer.pid && o.connection === answer.connection),
    `answered ${JSON.stringify(answer)}`,
  );
});

test('upgraded connections are handed to onShutdown; a server with no upgrade listener still answers Upgrade requests as Node does', async (t) => {
  const [port, port2] = [await freePort(), await freePort()];
  const app = startStandalone(path.join(root, 'test/fixtures/upgrade-app.mjs'), {
    env: { PORT: String(port), PORT2: String(port2) },
  });
  t.after(() => cleanup(app));
  const pid = await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), {
    what: 'the app to serve',
  });

  const upgradeRequest = (p) =>
    new Promise((resolve, reject) => {
      http
        .request({ host: '127.0.0.1', port: p, headers: { Connection: 'Upgrade', Upgrade: 'lines' } })
        .on('upgrade', (res, socket) => resolve({ upgraded: true, socket }))
        .on('response', (res) => {
          let body = '';
          res.on('data', (d) => (body += d)).on('end', () => resolve({ upgraded: false, body }));
        })
        .on('error', reject)
        .end();
    });
  const plain = await upgradeRequest(port2);
  assert.deepEqual(
    plain,
    { upgraded: false, body: `plain ${pid}\n` },
    'no upgrade listener: a plain answer, as without baton',
  );

  const { upgraded, socket } = await upgradeRequest(port);
  assert.ok(upgraded);
  t.after(() => socket.destroy());
  let received = '';
  socket.on('data', (d) => (received += d));
  const ended = new Promise((resolve) => socket.once('end', resolve));
  socket.write('who\n');
  await waitFor(() => received === `${pid}\n`, { what: 'an answer on the upgraded connection' });
  await upgrade(app, pid);
  await ended;
  assert.equal(received, `${pid}\nbye\n`, 'the hook ended the upgraded connection');
  assert.match(app.output, /hook got 1 connection\(s\)/);
});
