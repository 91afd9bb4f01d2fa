// UDP across reloads, with an unmodified node:dgram app (examples/udp.mjs,
// which answers each datagram with its text and its pid): the bound socket is
// handed to the next generation like a listening one, so every numbered
// datagram a client sends throughout three reloads is answered, by one
// generation or the other, from the same port. The client sends at a modest
// steady rate on loopback; the kernel's own per-socket drop counters
// (/proc/net/udp) are read too, so a lost datagram is never taken for a
// kernel drop, nor the other way round.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { cleanup, examples, freePort, startStandalone, upgrade, waitFor } from '../helpers/proc.mjs';

const TEST_MS = 60_000;
const HOST = '127.0.0.1';
const RELOADS = 3;
/** One datagram each SEND_MS: a rate loopback carries without overflowing a socket's queue while a process starts. */
const SEND_MS = 10;
/** A bound on the datagrams one test sends, whatever happens. */
const MAX_SENT = 20_000;

/**
 * A client that sends datagram 0, 1, 2… to `port` every SEND_MS until stopped,
 * and records which pid answered each, and from which port.
 */
async function udpClient(t, port) {
  const socket = dgram.createSocket('udp4');
  t.after(() => socket.close());
  await /** @type {Promise<void>} */ (new Promise((resolve) => socket.bind(0, HOST, resolve)));
  const c = { sent: 0, received: 0, answers: new Map(), fromPorts: new Set(), port: socket.address().port };
  socket.on('message', (msg, from) => {
    c.received++;
    const [seq, pid] = String(msg).split(' ').map(Number);
    c.answers.set(seq, pid);
    c.fromPorts.add(from.port);
  });
  const timer = setInterval(() => {
    if (c.sent >= MAX_SENT) clearInterval(timer);
    else socket.send(String(c.sent++), port, HOST);
  }, SEND_MS);
  t.after(() => clearInterval(timer));
  c.stop = () => clearInterval(timer);
  c.answeredBy = (pids) => [...c.answers.values()].some((pid) => pids.includes(pid));
  return c;
}

/** Datagrams the kernel dropped at sockets bound to these local ports (the `drops` column of /proc/net/udp). */
function kernelDrops(ports) {
  const hex = new Set(ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  return fs
    .readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length > 12 && hex.has(cols[1].split(':')[1]))
    .reduce((n, cols) => n + Number(cols.at(-1)), 0);
}

/** Stops sending, waits for every answer, and checks them all. */
async function settle(t, c, port, generations) {
  c.stop();
  await waitFor(() => c.answers.size === c.sent, { timeoutMs: 10_000, what: 'every datagram to be answered' }).catch(
    () => {},
  );
  const drops = kernelDrops([port, c.port]);
  const unanswered = Array.from({ length: c.sent }, (_, i) => i).filter((i) => !c.answers.has(i));
  const byGeneration = generations.map((pids) => [...c.answers.values()].filter((pid) => pids.includes(pid)).length);
  t.diagnostic(
    `${c.sent} datagrams sent, ${c.answers.size} answered, ${unanswered.length} unanswered, kernel drops ${drops}; answered per generation: ${byGeneration.join(', ')}`,
  );
  assert.equal(drops, 0, 'the kernel dropped no datagram on loopback');
  assert.deepEqual(unanswered.slice(0, 20), [], `${unanswered.length} of ${c.sent} datagrams were never answered`);
  assert.equal(c.received, c.answers.size, 'no datagram was answered twice (read by two generations)');
  assert.ok(
    byGeneration.every((n) => n > 0),
    `every generation answered some: ${byGeneration.join(', ')}`,
  );
  assert.deepEqual([...c.fromPorts], [port], 'every answer came from the one bound port');
}

test(`standalone: datagrams sent throughout ${RELOADS} upgrades are all answered, by each generation in turn, from the same port`, {
  timeout: TEST_MS,
}, async (t) => {
  const port = await freePort();
  const app = startStandalone(path.join(examples, 'udp.mjs'), { env: { PORT: String(port), HOST } });
  t.after(() => cleanup(app));
  await waitFor(() => app.output.includes('udp bound'), { what: 'the app to bind' });
  const c = await udpClient(t, port);
  const generations = [[app.child.pid]];
  for (let i = 0; i < RELOADS; i++) {
    await waitFor(() => c.answeredBy(generations.at(-1)), { timeoutMs: 20_000, what: `generation ${i + 1} to answer` });
    generations.push([await upgrade(app, generations.at(-1)[0], { timeoutMs: TEST_MS })]);
  }
  await waitFor(() => c.answeredBy(generations.at(-1)), { timeoutMs: 20_000, what: 'the last generation to answer' });
  await settle(t, c, port, generations);
});

test(`baton run -w 2: datagrams sent throughout ${RELOADS} reloads are all answered, by each generation in turn, from the same port`, {
  timeout: TEST_MS,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', path.join(examples, 'udp.mjs')], { env: { PORT: String(port), HOST } });
  t.after(() => stopMaster(master));
  const generations = [await readyWorkers(master, 2)];
  const c = await udpClient(t, port);
  for (let i = 0; i < RELOADS; i++) {
    await waitFor(() => c.answeredBy(generations.at(-1)), { timeoutMs: 20_000, what: `generation ${i + 1} to answer` });
    const r = await baton(['reload', '--control', master.control], { timeoutMs: TEST_MS });
    assert.equal(r.code, 0, r.stderr);
    generations.push(await readyWorkers(master, 2));
  }
  await waitFor(() => c.answeredBy(generations.at(-1)), { timeoutMs: 20_000, what: 'the last generation to answer' });
  await settle(t, c, port, generations);
});
