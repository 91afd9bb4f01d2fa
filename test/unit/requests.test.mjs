// Request counting: the heartbeat's counts validated on receipt
// (dist/protocol/messages.js), the quantiles read from the buckets
// (dist/protocol/requests.js), the master's history per worker and
// generation (dist/supervisor/requests.js), and the worker's counting of real
// HTTP/1, HTTP/2 and net servers over loopback (dist/worker/requests.js).
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import { parseMessage } from '../../dist/protocol/messages.js';
import { LATENCY_BOUNDS_MS, emptyCounts, quantileMs } from '../../dist/protocol/requests.js';
import { HISTORY_SECONDS, RECENT_SECONDS, RequestHistory } from '../../dist/supervisor/requests.js';
import { countRequests, takeCounts } from '../../dist/worker/requests.js';

/** @param {Partial<import('../../dist/protocol/requests.js').RequestCounts>} c */
const counts = (c) => ({ ...emptyCounts(), ...c });
const beat = { baton: 1, type: 'heartbeat', pid: 7, delayMs: 2, connections: 1 };

describe('heartbeat message', () => {
  test('with CPU time and request counts, which parse back as sent', () => {
    const requests = counts({ codes: [3, 0, 1, 2, 1], sumMs: 12.5 });
    requests.buckets[0] = 6;
    const r = parseMessage({ ...beat, cpuMs: 140, requests });
    assert.equal(r.ok, true);
    assert.deepEqual(r.message, { ...beat, cpuMs: 140, requests });
    assert.deepEqual(parseMessage(beat), { ok: true, message: beat }, 'both are optional');
  });

  test('malformed counts are refused, naming the field', () => {
    const bad = [
      { codes: [1, 2, 3, 4] },
      { codes: [1, 2, 3, 4, -1] },
      { codes: [1, 2, 3, 4, 0.5] },
      { buckets: [1] },
      { buckets: new Array(LATENCY_BOUNDS_MS.length + 1).fill('1') },
      { sumMs: -1 },
      { sumMs: Number.NaN },
      { connections: 1.5 },
    ];
    for (const c of bad) {
      assert.deepEqual(
        parseMessage({ ...beat, requests: counts(c) }),
        { ok: false, reason: "'heartbeat' message with a missing or invalid requests" },
        JSON.stringify(c),
      );
    }
    for (const requests of [null, 7, []]) assert.equal(parseMessage({ ...beat, requests }).ok, false);
    assert.deepEqual(parseMessage({ ...beat, cpuMs: -3 }), {
      ok: false,
      reason: "'heartbeat' message with a missing or invalid cpuMs",
    });
  });
});

describe('quantileMs', () => {
  test('null without answers; linear within a bucket; the last bound above it', () => {
    const b = emptyCounts().buckets;
    assert.equal(quantileMs(b, 0.5), null);
    b[0] = 10; // 10 answers within 5 ms
    assert.equal(quantileMs(b, 0.5), 2.5);
    b[1] = 10; // 10 more within 5-10 ms
    assert.equal(quantileMs(b, 0.5), 5);
    assert.equal(quantileMs(b, 0.75), 7.5);
    b[LATENCY_BOUNDS_MS.length] = 1000; // most above the last bound
    assert.equal(quantileMs(b, 0.99), LATENCY_BOUNDS_MS.at(-1));
  });
});

describe('RequestHistory', () => {
  const t0 = 1_700_000_000_000;

  test('adds up per worker and per generation, since the start and over the last seconds', () => {
    const h = new RequestHistory();
    const fast = counts({ codes: [10, 0, 0, 0, 0] });
    fast.buckets[0] = 10;
    h.add(101, 1, fast, t0);
    h.add(102, 1, counts({ codes: [0, 0, 0, 5, 5] }), t0 + 500);
    h.add(201, 2, counts({ codes: [4, 0, 0, 0, 0] }), t0 + 1000);
    const [one, two] = h.status(t0 + 2000);
    assert.equal(one.generation, 1);
    assert.deepEqual(one.total.codes, { '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 5, unanswered: 5 });
    assert.equal(one.recent.seconds, RECENT_SECONDS);
    assert.equal(one.recent.perSecond, 20 / RECENT_SECONDS);
    assert.equal(one.recent.share5xx, 0.25);
    assert.equal(one.recent.shareUnanswered, 0.25);
    assert.equal(one.recent.p50Ms, 2.5);
    assert.equal(two.generation, 2);
    assert.equal(two.total.codes['2xx'], 4);
    assert.equal(two.recent.p99Ms, null, 'no latency without buckets');
    assert.deepEqual(h.worker(102), { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 5, unanswered: 5 });
    h.keepWorkers([101]);
    assert.equal(h.worker(102), undefined);
    assert.equal(h.worker(101)['2xx'], 10);
  });

  test('the recent span leaves out older seconds, and the ring reuses a slot a full turn later', () => {
    const h = new RequestHistory();
    h.add(1, 1, counts({ codes: [7, 0, 0, 0, 0] }), t0);
    const later = t0 + (RECENT_SECONDS + 5) * 1000;
    h.add(1, 1, counts({ codes: [3, 0, 0, 0, 0] }), later);
    let [g] = h.status(later + 1000);
    assert.equal(g.recent.perSecond, 3 / RECENT_SECONDS);
    assert.equal(g.total.codes['2xx'], 10);
    // The same slot, one turn of the ring on: the old second's counts are gone from it.
    const turn = t0 + HISTORY_SECONDS * 1000;
    h.add(1, 1, counts({ codes: [1, 0, 0, 0, 0] }), turn);
    [g] = h.status(turn + 1000);
    assert.equal(g.recent.perSecond, 1 / RECENT_SECONDS);
    assert.equal(g.total.codes['2xx'], 11);
  });

  test('keeps only the last 8 generations', () => {
    const h = new RequestHistory();
    for (let g = 1; g <= 10; g++) h.add(g, g, counts({ codes: [1, 0, 0, 0, 0] }), t0);
    assert.deepEqual(
      h.status(t0).map((s) => s.generation),
      [3, 4, 5, 6, 7, 8, 9, 10],
    );
  });
});

/** @param {net.Server} server */
const listening = (server) =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(/** @type {net.AddressInfo} */ (server.address()).port)),
  );

describe('countRequests (real servers over loopback)', () => {
  test('HTTP/1: answers by class, one given up on unanswered; counted once however often registered', async (t) => {
    takeCounts();
    const server = http.createServer((req, res) => {
      if (req.url === '/hang') return server.emit('hang', res);
      res.statusCode = Number(req.url.slice(1));
      res.end();
    });
    countRequests(server, 'http1');
    countRequests(server, 'http1');
    const port = await listening(server);
    t.after(() => server.close());
    /** @param {string} path */
    const get = (path) =>
      new Promise((resolve, reject) =>
        http
          .get({ port, host: '127.0.0.1', path, agent: false }, (res) => res.resume().on('end', resolve))
          .on('error', reject),
      );
    for (const path of ['/200', '/204', '/301', '/404', '/503']) await get(path);
    const req = http.get({ port, host: '127.0.0.1', path: '/hang', agent: false }).on('error', () => {});
    /** @type {http.ServerResponse} */
    const res = await new Promise((resolve) => server.once('hang', resolve));
    // Counted by baton's 'close' listener, added as the request started: before this one.
    const closed = new Promise((resolve) => res.once('close', resolve));
    req.destroy();
    await closed;
    assert.deepEqual(takeCounts().codes, [2, 1, 1, 1, 1]);
  });

  test('HTTP/2: streams by class; net: connections only', async (t) => {
    takeCounts();
    const h2 = http2.createServer((req, res) => {
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end();
    });
    countRequests(h2, 'http2');
    const port = await listening(h2);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    t.after(() => {
      client.close();
      h2.close();
    });
    for (const path of ['/ok', '/ok', '/fail']) {
      await new Promise((resolve, reject) => {
        const s = client.request({ ':path': path });
        s.on('error', reject).resume().on('close', resolve);
        s.end();
      });
    }
    const raw = net.createServer((socket) => socket.end());
    countRequests(raw, 'net');
    const rawPort = await listening(raw);
    t.after(() => raw.close());
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => net.connect(rawPort, '127.0.0.1').on('close', resolve).resume());
    }
    const c = takeCounts();
    assert.deepEqual(c.codes, [2, 0, 0, 1, 0]);
    assert.equal(
      c.buckets.reduce((n, x) => n + x, 0),
      3,
    );
    assert.equal(c.connections, 2);
    assert.deepEqual(takeCounts().codes, [0, 0, 0, 0, 0], 'taken counts start again from 0');
  });
});
