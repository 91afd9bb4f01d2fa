// Idle HTTP/1 connections move to the new generation at a reload instead of
// being closed under their clients: never-used (preconnected) ones and ones
// idle between requests, supervised and standalone; a request already on the
// wire as the old process lets go is answered; TLS connections, which cannot
// move, stay open and are told `Connection: close` on their next response.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import {
  cleanup,
  examples,
  freePort,
  reload,
  root,
  servingPid,
  startStandalone,
  tmpDir,
  upgrade,
  waitFor,
  waitForLine,
  within,
} from '../helpers/proc.mjs';

const T = { timeout: 60_000 };
const app = path.join(examples, 'http.mjs');

/** `count` connections to `where` (a port on 127.0.0.1, or a unix path), opened and left silent, as a browser's or a pool's preconnects. */
async function preconnect(where, count) {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
          s.once('connect', () => resolve(s)).once('error', reject);
        }),
    ),
  );
  for (const s of sockets) s.closes = 0;
  for (const s of sockets) s.on('close', () => s.closes++);
  return sockets;
}

/** One GET on `socket`: resolves { pid, close } (the body is the serving pid; close: it said Connection: close). */
function ask(socket, query = '') {
  return within(
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (d) => {
        text += d;
        const end = text.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(text)?.[1]);
        if (end < 0 || text.length < end + 4 + length) return;
        socket.off('data', onData).off('close', onClose);
        resolve({ pid: Number(text.slice(end + 4).trim()), close: /\r\nconnection: close\r\n/i.test(text) });
      };
      const onClose = () => reject(new Error(`the connection closed before its response: ${JSON.stringify(text)}`));
      socket.setEncoding('utf8');
      socket.on('data', onData).once('close', onClose);
      socket.write(`GET /${query} HTTP/1.1\r\nhost: x\r\n\r\n`);
    }),
    10_000,
    'a response',
  );
}

/** Every socket asks once; the pids that answered. */
const askAll = (sockets) => Promise.all(sockets.map(async (s) => (await ask(s)).pid));

test(
  'baton run: 20 preconnected and 4 idle keep-alive connections move to the new generation, none cut, each then served there',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '2', '--drain-timeout', '5s', app], {
      env: { PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => stopMaster(master));
    const old = await readyWorkers(master, 2);
    const sockets = await preconnect(port, 24);
    t.after(() => sockets.forEach((s) => s.destroy()));
    for (const pid of await askAll(sockets.slice(20))) assert.ok(old.includes(pid));

    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await status(master)).reloads.at(-1).cut, 0, `${r.stdout}\n${master.output}`);
    const fresh = await readyWorkers(master, 2);
    assert.ok(fresh.every((pid) => !old.includes(pid)));
    const pids = await askAll(sockets);
    assert.equal(pids.filter((pid) => fresh.includes(pid)).length, 24, `served by ${pids}, new ${fresh}`);
    assert.equal(
      sockets.reduce((n, s) => n + s.closes, 0),
      0,
    );
  },
);

test(
  'standalone: preconnected and idle connections move to the successor, and the old process drains with none cut',
  T,
  async (t) => {
    const port = await freePort();
    const standalone = startStandalone(app, {
      env: { PORT: String(port), HOST: '127.0.0.1', BATON_DRAIN_TIMEOUT: '5s' },
    });
    t.after(() => cleanup(standalone));
    const old = await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), {
      what: 'the app to serve',
    });
    const sockets = await preconnect(port, 24);
    t.after(() => sockets.forEach((s) => s.destroy()));
    await askAll(sockets.slice(20));

    const successor = await upgrade(standalone, old);
    const drained = new RegExp(`baton\\[${old}\\] .*drained, exiting .*destroyed=0 handedOver=24$`, 'm');
    await waitFor(() => drained.test(standalone.output), {
      what: `the old process's drained line: ${standalone.output}`,
    });
    const pids = await askAll(sockets);
    assert.deepEqual(new Set(pids), new Set([successor]), `served by ${pids}`);
    assert.equal(
      sockets.reduce((n, s) => n + s.closes, 0),
      0,
    );
  },
);

test('standalone on a unix socket: idle connections move to the successor too', T, async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'app.sock');
  const standalone = startStandalone(path.join(examples, 'unix.mjs'), {
    env: { SOCKET: socketPath, BATON_DRAIN_TIMEOUT: '5s' },
  });
  t.after(() => cleanup(standalone));
  const old = await waitFor(() => servingPid({ socketPath }), { what: 'the app to serve' });
  const sockets = await preconnect(socketPath, 3);
  t.after(() => sockets.forEach((s) => s.destroy()));
  await ask(sockets[0]);
  const successor = await upgrade(standalone, old);
  assert.deepEqual(await askAll(sockets), [successor, successor, successor]);
  assert.equal(
    sockets.reduce((n, s) => n + s.closes, 0),
    0,
  );
});

test(
  'a request on the wire as the old worker lets its connection go is answered (the old worker stopped, the bytes wait in the kernel)',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', '--drain-timeout', '5s', app], {
      env: { PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => stopMaster(master));
    const [old] = await readyWorkers(master, 1);
    const sockets = await preconnect(port, 10);
    t.after(() => sockets.forEach((s) => s.destroy()));
    await askAll(sockets.slice(5));

    // Stopped, the old worker reads neither the drain order nor the requests: when it runs again, both are waiting.
    process.kill(old, 'SIGSTOP');
    t.after(() => {
      try {
        process.kill(old, 'SIGCONT');
      } catch {
        // exited
      }
    });
    const mark = master.output.length;
    const reloaded = baton(['reload', '--control', master.control]);
    await waitForLine(master, (l) => l.text.startsWith('reload: new generation ready') || undefined, {
      what: 'the new generation',
    });
    const answers = sockets.map((s) => ask(s));
    process.kill(old, 'SIGCONT');
    const pids = (await Promise.all(answers)).map((a) => a.pid);
    assert.equal(pids.length, 10);
    assert.equal((await reloaded).code, 0, master.output.slice(mark));
    assert.equal((await status(master)).reloads.at(-1).cut, 0);
  },
);

test(
  'baton run: an idle connection to an address the new generation does not listen on stays with the old worker, and is told Connection: close',
  T,
  async (t) => {
    const [port, port2] = [await freePort(), await freePort()];
    const master = startMaster(
      ['-w', '1', '--drain-timeout', '5s', path.join(root, 'test/fixtures/dropped-port-app.mjs')],
      {
        env: { PORT: String(port), PORT2: String(port2) },
      },
    );
    t.after(() => stopMaster(master));
    const [old] = await readyWorkers(master, 1);
    const [kept, moved] = [...(await preconnect(port2, 1)), ...(await preconnect(port, 1))];
    t.after(() => [kept, moved].forEach((s) => s.destroy()));

    const reloaded = baton(['reload', '--control', master.control]);
    await waitForLine(master, (l) => (l.pid === old && l.text.startsWith('draining')) || undefined, {
      what: 'the old worker to drain',
    });
    const [fresh] = await readyWorkers(master, 1);
    assert.deepEqual(await ask(moved), { pid: fresh, close: false });
    assert.deepEqual(await ask(kept), { pid: old, close: true });
    assert.equal((await reloaded).code, 0);
    assert.equal((await status(master)).reloads.at(-1).cut, 0);
  },
);

/** A keep-alive HTTPS client on a connection of its own: get() resolves { pid, close }; closes counts its connections' closes. */
function tlsClient(port) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const client = { agent, closes: 0 };
  const seen = new Set();
  client.get = (query = '') =>
    within(
      new Promise((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: `/${query}`, agent, rejectUnauthorized: false }, (res) => {
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (d) => (body += d))
              .on('end', () => resolve({ pid: Number(body.trim()), close: res.headers.connection === 'close' }));
          })
          .once('error', reject)
          .once('socket', (s) => {
            if (!seen.has(s)) s.once('close', () => client.closes++);
            seen.add(s);
          });
      }),
      10_000,
      'an HTTPS response',
    );
  return client;
}

test(
  'TLS connections cannot move: idle ones stay open through the drain, and their next request is answered with Connection: close',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', '--drain-timeout', '8s', path.join(examples, 'https.mjs')], {
      env: { PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => stopMaster(master));
    const [old] = await readyWorkers(master, 1);
    const clients = Array.from({ length: 5 }, () => tlsClient(port));
    t.after(() => clients.forEach((c) => c.agent.destroy()));
    for (const c of clients) assert.equal((await c.get()).pid, old);

    const reloaded = baton(['reload', '--control', master.control]);
    await waitForLine(master, (l) => (l.pid === old && l.text.startsWith('draining')) || undefined, {
      what: 'the old worker to drain',
    });
    // Past the idle grace a stop gives: the slow response comes after it, from the draining worker.
    assert.deepEqual(await clients[0].get('?delay=1500'), { pid: old, close: true });
    assert.equal(
      clients.slice(1).reduce((n, c) => n + c.closes, 0),
      0,
      'an idle TLS connection was closed under its client',
    );
    const answers = await Promise.all(clients.slice(1).map((c) => c.get()));
    assert.deepEqual(
      answers,
      clients.slice(1).map(() => ({ pid: old, close: true })),
    );
    assert.equal((await reloaded).code, 0);
    assert.equal((await status(master)).reloads.at(-1).cut, 0);
  },
);

/**
 * `clients` (1,000 by default), each on a keep-alive connection of its own, pausing 1–2.5 s between requests, through 3 reloads.
 * @param {import('../../dist/testing/load.js').Target} target
 * @param {import('../../dist/testing/harness.js').App} running
 */
async function pausedClientsThroughReloads(target, running, clients = 1000) {
  const load = startLoad({ target, concurrency: clients, pauseMs: { min: 1000, max: 2500 }, maxMs: 40_000 });
  try {
    for (let i = 0; i < 3; i++) {
      const answered = load.stats.ok;
      await waitFor(() => load.stats.ok >= answered + clients, { timeoutMs: 15_000, what: `${clients} more answers` });
      const r = await reload(running);
      assert.ok(r.ok, r.output);
    }
  } finally {
    await load.stop();
  }
  return load.stats;
}

test('baton run -w 2: 1,000 clients pausing 1–2.5 s on their own connections, 3 reloads: 0 failed', T, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', app], { env: { PORT: String(port), HOST: '127.0.0.1' } });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  const stats = await pausedClientsThroughReloads({ protocol: 'http', host: '127.0.0.1', port }, master);
  assert.equal(stats.failed, 0, JSON.stringify({ failures: stats.failures, samples: stats.samples }));
  assert.ok(stats.ok > 3000, `${stats.ok} answered`);
  assert.equal(
    (await status(master)).reloads.reduce((n, r) => n + (r.cut ?? 0), 0),
    0,
  );
});

test('standalone: 1,000 clients pausing 1–2.5 s on their own connections, 3 upgrades: 0 failed', T, async (t) => {
  const port = await freePort();
  const standalone = startStandalone(app, { env: { PORT: String(port), HOST: '127.0.0.1' } });
  t.after(() => cleanup(standalone));
  standalone.serving = await waitFor(() => servingPid({ protocol: 'http', host: '127.0.0.1', port }), {
    what: 'the app to serve',
  });
  const stats = await pausedClientsThroughReloads({ protocol: 'http', host: '127.0.0.1', port }, standalone);
  assert.equal(stats.failed, 0, JSON.stringify({ failures: stats.failures, samples: stats.samples }));
  assert.ok(stats.ok > 3000, `${stats.ok} answered`);
});

test(
  'baton run -w 2, HTTPS: 300 clients pausing 1–2.5 s on their own connections, 3 reloads: 0 failed (they cannot move: Connection: close)',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '2', path.join(examples, 'https.mjs')], {
      env: { PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => stopMaster(master));
    await readyWorkers(master, 2);
    const stats = await pausedClientsThroughReloads({ protocol: 'https', host: '127.0.0.1', port }, master, 300);
    assert.equal(stats.failed, 0, JSON.stringify({ failures: stats.failures, samples: stats.samples }));
    assert.ok(stats.ok > 900, `${stats.ok} answered`);
    assert.equal(
      (await status(master)).reloads.reduce((n, r) => n + (r.cut ?? 0), 0),
      0,
    );
  },
);
