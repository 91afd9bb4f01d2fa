// An app with four listeners (two TCP ports, a unix socket, a UDP socket),
// opened as apps open them: at once, after an `await`, and after an 800 ms
// start-up delay (test/fixtures/multi-listener-app.mjs), well after the
// process is ready by the settle rule. Every address stays held and served
// across reloads, supervised and standalone, under load on each: no failed
// request, no datagram unanswered, every listener in status. A listener opened
// late is kept when it is opened before the generation is in service: the
// crash window is 1 s here.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { get, startLoad } from '../helpers/load.mjs';
import { startMaster, status, stopMaster } from '../helpers/master.mjs';
import { cleanup, freePort, reload, root, sleep, startStandalone, tmpDir, waitFor } from '../helpers/proc.mjs';

const APP = path.join(root, 'test/fixtures/multi-listener-app.mjs');
const RELOADS = 5;
const WINDOW = '1s';
/** One datagram each SEND_MS, and at most MAX_SENT whatever happens. */
const SEND_MS = 10;
const MAX_SENT = 5000;

async function addresses(t) {
  const dir = tmpDir('baton-multi-');
  const a = {
    port: await freePort(),
    port2: await freePort(),
    udp: await freePort(),
    sock: path.join(dir, 'app.sock'),
    dir,
  };
  const env = {
    PORT: String(a.port),
    PORT2: String(a.port2),
    UDP_PORT: String(a.udp),
    SOCK: a.sock,
    DELAY_MS: '800',
    BATON_CRASH_WINDOW: WINDOW,
  };
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { a, env };
}

/** Datagrams 0, 1, 2… to `port` until stopped; `answered` counts the echoes. */
async function udpClient(t, port) {
  const socket = dgram.createSocket('udp4');
  t.after(() => socket.close());
  await /** @type {Promise<void>} */ (new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve)));
  const c = { sent: 0, answered: new Set() };
  socket.on('message', (msg) => c.answered.add(String(msg).split(' ')[0]));
  const timer = setInterval(
    () => (c.sent < MAX_SENT ? socket.send(String(c.sent++), port, '127.0.0.1') : clearInterval(timer)),
    SEND_MS,
  );
  c.stop = () => clearInterval(timer);
  t.after(c.stop);
  return c;
}

/** Loads every address at once, runs `reloadOnce` RELOADS times, and asserts nothing failed anywhere. */
async function reloadUnderLoadEverywhere(t, a, reloadOnce) {
  /** @type {Record<string, { target: import('../../dist/testing/load.js').Target, mode: import('../../dist/testing/load.js').LoadMode }>} */
  const targets = {
    [`tcp ${a.port}`]: { target: { protocol: 'http', host: '127.0.0.1', port: a.port }, mode: 'keepalive' },
    [`tcp ${a.port2}`]: { target: { protocol: 'http', host: '127.0.0.1', port: a.port2 }, mode: 'close' },
    unix: { target: { socketPath: a.sock }, mode: 'keepalive' },
  };
  for (const [name, o] of Object.entries(targets))
    await waitFor(() => get(o.target, '/').then(() => true), { what: `${name} to answer` });
  const loads = Object.entries(targets).map(
    ([name, o]) => /** @type {const} */ ([name, startLoad({ ...o, concurrency: 4 })]),
  );
  t.after(() => Promise.all(loads.map(([, l]) => l.stop())));
  const udp = await udpClient(t, a.udp);
  for (let i = 0; i < RELOADS; i++) {
    await sleep(200);
    await reloadOnce(i);
  }
  udp.stop();
  for (const [name, load] of loads) {
    const s = await load.stop();
    t.diagnostic(`${name}: ${s.ok} ok, ${s.failed} failed`);
    assert.equal(s.failed, 0, describeFailures(name, s));
    assert.ok(s.ok > 0, `${name} was served`);
  }
  await waitFor(() => udp.answered.size === udp.sent, {
    what: `all ${udp.sent} datagrams answered (${udp.answered.size} so far)`,
  });
}

const ORDER = (names) => [...names].sort();

test('baton run -w 2: two TCP ports, a unix socket and a UDP socket all stay held and served across reloads', {
  timeout: 90_000,
}, async (t) => {
  const { a, env } = await addresses(t);
  const master = startMaster(['-w', '2', '--crash-window', WINDOW, APP], { cwd: a.dir, env });
  t.after(() => stopMaster(master));
  const all = ORDER([
    `tcp:127.0.0.1:${a.port}`,
    `tcp:127.0.0.1:${a.port2}`,
    `unix:${a.sock}`,
    `udp:127.0.0.1:${a.udp}`,
  ]);
  await waitFor(async () => ORDER((await status(master)).listeners).join() === all.join(), {
    what: 'every listener of generation 1',
  });
  await reloadUnderLoadEverywhere(t, a, async (i) => {
    const r = await reload(master);
    assert.equal(r.ok, true, `reload ${i + 1}: ${r.output}`);
    assert.deepEqual(ORDER((await status(master)).listeners), all, `reload ${i + 1}: status lists every listener`);
  });
});

test('standalone: two TCP ports, a unix socket and a UDP socket all stay held and served across upgrades', {
  timeout: 90_000,
}, async (t) => {
  const { a, env } = await addresses(t);
  const app = startStandalone(APP, { cwd: a.dir, env });
  t.after(() => cleanup(app));
  await reloadUnderLoadEverywhere(t, a, async (i) => {
    const r = await reload(app);
    assert.equal(r.ok, true, `upgrade ${i + 1}: ${r.output}`);
  });
});
