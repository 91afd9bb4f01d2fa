// Unit tests for dist/admin: the admin listener over real HTTP on loopback,
// serving a fake master; its guard (token, failures per address), its
// metrics (parsed by a Prometheus text-format parser), the token file, and
// the page's document, sessions and refusal of cross-site requests.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { startAdminServer, MAX_BODY_BYTES } from '../../dist/admin/server.js';
import { Guard, MAX_FAILURES, FAILURE_WINDOW_MS } from '../../dist/admin/auth.js';
import { Metrics } from '../../dist/admin/metrics.js';
import { NO_RELEASES, ReloadRefused } from '../../dist/protocol/control.js';
import { readTokenFile } from '../../dist/admin/token-file.js';
import { adminFromEnv } from '../../dist/admin/options.js';
import { Sessions, SESSION_IDLE_MS } from '../../dist/admin/session.js';
import { clientOf } from '../../dist/admin/client.js';
import { MAX_PER_CLIENT } from '../../dist/admin/connections.js';
import { RefusalLog } from '../../dist/admin/refusals.js';
import { within } from '../helpers/proc.mjs';
import { request, reloadEvents, selfSignedCertificate, testCertificate } from '../helpers/http.mjs';
import { captureLog } from '../helpers/log.mjs';

const TOKEN = 'a-long-random-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @typedef {import('../../dist/protocol/control.js').Phase} Phase */
/** @typedef {import('../../dist/protocol/control.js').ReloadResult} ReloadResult */
/** @typedef {import('../../dist/protocol/control.js').ReleaseList} ReleaseList */
/** @typedef {import('../../dist/protocol/control.js').Status} Status */
/** @typedef {import('../../dist/admin/server.js').AdminTarget} AdminTarget */

/** @type {Status} */
const STATUS = {
  name: 'default',
  masterPid: 4242,
  uptimeMs: 1000,
  generation: 3,
  workers: [
    {
      pid: 5001,
      generation: 3,
      state: 'ready',
      uptimeMs: 900,
      rssBytes: null,
      connections: 7,
      heartbeatAgeMs: 100,
      delayMs: 1,
      unresponsive: false,
    },
    {
      pid: 5002,
      generation: 3,
      state: 'starting',
      uptimeMs: 10,
      rssBytes: null,
      connections: null,
      heartbeatAgeMs: null,
      delayMs: null,
      unresponsive: false,
    },
    {
      pid: 4001,
      generation: 2,
      state: 'draining',
      uptimeMs: 5000,
      rssBytes: null,
      connections: 2,
      heartbeatAgeMs: 100,
      delayMs: 1,
      unresponsive: false,
    },
  ],
  listeners: ['tcp:127.0.0.1:8080'],
  reloads: [],
};
/** @type {Phase[]} */
const PHASES = [
  { phase: 'spawned', generation: 4, pids: [6001] },
  { phase: 'ready', generation: 4, ms: 40 },
  { phase: 'draining', generation: 3, connections: 2 },
  { phase: 'done', generation: 4, ms: 95 },
];

/** @type {ReleaseList} */
const RELEASES = {
  dir: '/srv/app/releases',
  current: 'v2',
  serving: 'v1',
  releases: [
    { name: 'v1', current: false, serving: true },
    { name: 'v2', current: true, serving: false },
  ],
};

/**
 * @typedef {object} FakeOptions
 * @property {ReloadResult} [result]
 * @property {Phase[]} [phases]
 * @property {string} [throws] a reload ends in this error, after its phases
 * @property {(p: Phase) => Promise<unknown> | undefined} [gate] awaited before each phase
 * @property {ReleaseList} [releases]
 */

/**
 * The master as the admin listener sees it; counts what it was asked to do. `releases`: as if run with --releases.
 * @implements {AdminTarget}
 */
class FakeMaster {
  /** @param {FakeOptions} [options] */
  constructor({ result = { ok: true, generation: 4, ms: 95, cut: 0 }, phases = PHASES, throws, gate, releases } = {}) {
    this.result = result;
    this.phases = phases;
    this.throws = throws;
    this.gate = gate;
    this.releaseList = releases;
    /** @type {(string | undefined)[]} */
    this.releasesAsked = [];
    this.reloadsStarted = 0;
    this.reloadsFinished = 0;
    this.stopped = 0;
    this.ready = true;
  }
  /**
   * Refuses a release as the master does: before anything starts, by a throw.
   * @param {(phase: import('../../dist/protocol/control.js').Phase) => void} onPhase
   * @param {import('../../dist/protocol/control.js').ReloadAsk} [ask]
   */
  reload(onPhase, { release } = {}) {
    if (release !== undefined && !this.releaseList) throw new ReloadRefused(NO_RELEASES);
    if (release === 'busy') throw new ReloadRefused('a reload of release v1 is queued', true);
    if (release !== undefined && !this.releaseList.releases.some((r) => r.name === release))
      throw new ReloadRefused(`release '${release}' is not in ${RELEASES.dir}`);
    this.releasesAsked.push(release);
    return this.run(onPhase);
  }
  releases() {
    return this.releaseList;
  }
  async run(onPhase) {
    this.reloadsStarted += 1;
    for (const p of this.phases) {
      await this.gate?.(p);
      await sleep(5);
      onPhase(p);
    }
    this.reloadsFinished += 1;
    if (this.throws) throw new Error(this.throws);
    return this.result;
  }
  stop() {
    this.stopped += 1;
  }
  status() {
    return STATUS;
  }
  isServing() {
    return this.ready;
  }
  isStopping() {
    return this.stopped > 0;
  }
}

const servers = [];
after(() => within(Promise.all(servers.map((s) => s.close())), 5000, 'closing admin servers'));

/**
 * `token: null`: none, as on loopback without --admin-token-file.
 * @param {{ master?: FakeMaster, token?: string | null, metricsPublic?: boolean, metrics?: Metrics,
 *   tls?: import('../../dist/admin/options.js').AdminOptions['tls'] }} [options]
 */
async function start({
  master = new FakeMaster(),
  token = TOKEN,
  metricsPublic = false,
  metrics = new Metrics(),
  tls,
} = {}) {
  const options = { host: '127.0.0.1', port: 0, token: token ?? undefined, metricsPublic, ...(tls ? { tls } : {}) };
  const server = await within(startAdminServer(options, master, metrics), 5000, 'startAdminServer');
  servers.push(server);
  return { master, server, metrics, port: server.port };
}

const json = (r) => JSON.parse(r.body);

describe('admin: probes', () => {
  test('/healthz and /readyz answer a status word without a token; readyz 503 while nothing serves, and once stopping', async () => {
    const { master, port } = await start();
    let r = await request(port, 'GET', '/healthz');
    assert.deepEqual([r.status, r.body, r.headers['content-type']], [200, 'ok\n', 'text/plain; charset=utf-8']);
    r = await request(port, 'GET', '/readyz');
    assert.deepEqual([r.status, r.body], [200, 'ready\n']);
    master.ready = false;
    r = await request(port, 'GET', '/readyz');
    assert.deepEqual([r.status, r.body], [503, 'not ready\n']);
    master.ready = true;
    r = await request(port, 'POST', '/api/stop', { headers: AUTH });
    assert.equal(r.status, 202);
    r = await request(port, 'GET', '/readyz');
    assert.deepEqual(
      [r.status, r.body],
      [503, 'not ready\n'],
      'not ready once stopping, though its workers still serve',
    );
    r = await request(port, 'GET', '/healthz');
    assert.deepEqual([r.status, r.body], [200, 'ok\n'], 'alive while it drains');
    r = await request(port, 'HEAD', '/healthz');
    assert.deepEqual([r.status, r.body], [200, '']);
  });
});

describe('admin: what one client can hold', () => {
  test(`one address at its maximum of connections and 1,000 more attempts: probes from another address answer, 100 of 100`, {
    timeout: 120_000,
  }, async (t) => {
    const { port } = await start();
    const sockets = new Set();
    t.after(() => sockets.forEach((s) => s.destroy()));
    // Each resolves once connected, having started a request it never finishes (held until the request deadline).
    const hold = () =>
      new Promise((resolve, reject) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
        sockets.add(s);
        s.once('error', () => {});
        s.once('close', () => sockets.delete(s));
        s.once('connect', () => resolve(s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')));
        s.once('close', () => reject(new Error('a connection within the limit was closed')));
      });
    // Resolves once the listener has closed it, as it closes every connection over the limit.
    const attempt = () =>
      new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
        s.once('error', () => {});
        s.once('close', resolve);
      });
    for (let i = 0; i < MAX_PER_CLIENT; i++) await within(hold(), 10_000, 'a connection within the limit');
    const attempts = (async () => {
      for (let batch = 0; batch < 10; batch++)
        await within(Promise.all(Array.from({ length: 100 }, attempt)), 30_000, 'attempts over the limit to be closed');
    })().then(
      () => 'all closed',
      (err) => err.message,
    );
    let answered = 0;
    for (let i = 0; i < 100; i++) {
      const r = await request(port, 'GET', i % 2 ? '/readyz' : '/healthz', { localAddress: '127.0.0.2' }).catch(
        (err) => ({ status: err.code }),
      );
      if (r.status === 200) answered += 1;
    }
    assert.equal(answered, 100);
    assert.equal(await attempts, 'all closed');
  });
});

describe('admin: the token', () => {
  test('no token or a wrong one → 401 and no action, on every guarded endpoint', async () => {
    const { master, port } = await start();
    const wrong = [
      {},
      { authorization: 'Bearer nope' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ];
    for (const headers of wrong) {
      for (const [method, p] of [
        ['POST', '/api/reload'],
        ['POST', '/api/stop'],
        ['GET', '/api/status'],
        ['GET', '/metrics'],
      ]) {
        // A fresh client address per attempt would need more addresses: the limit is not what this test is about.
        const r = await request(port, method, p, {
          headers,
          localAddress: `127.0.${wrong.indexOf(headers) + 1}.${p.length}`,
        });
        assert.equal(r.status, 401, `${method} ${p} with ${JSON.stringify(headers)}`);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="baton"');
        assert.match(json(r).error, /missing or wrong token/);
      }
    }
    await sleep(50);
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0], 'nothing was done');
    const r = await request(port, 'GET', '/api/status', { headers: { authorization: `bearer  ${TOKEN}` } });
    assert.deepEqual([r.status, json(r)], [200, STATUS], 'the scheme is case-insensitive');
  });

  test(`${MAX_FAILURES} failures from one address → 429 with Retry-After for guesses; the right token is still served there; refusals logged once`, async (t) => {
    const { master, port } = await start();
    const lines = captureLog(t);
    const from = '127.0.0.2';
    for (let i = 0; i < MAX_FAILURES; i++) {
      assert.equal(
        (
          await request(port, 'POST', '/api/reload', {
            headers: { authorization: `Bearer guess${i}` },
            localAddress: from,
          })
        ).status,
        401,
      );
    }
    for (const headers of [{ authorization: 'Bearer guess' }, {}]) {
      const r = await request(port, 'POST', '/api/reload', { headers, localAddress: from });
      assert.equal(r.status, 429);
      const wait = Number(r.headers['retry-after']);
      assert.ok(wait >= 1 && wait <= FAILURE_WINDOW_MS / 1000, `Retry-After: ${r.headers['retry-after']}`);
      assert.match(json(r).error, /too many failed attempts from 127\.0\.0\.2; try again in \d+ s/);
    }
    assert.equal(
      (await request(port, 'GET', '/healthz', { localAddress: from })).status,
      200,
      'probes are not guarded',
    );
    assert.equal(master.reloadsStarted, 0);
    const r = await request(port, 'POST', '/api/reload', { headers: AUTH, localAddress: from });
    assert.equal(r.status, 200, "the operator is not locked out by others' guesses from the same address");
    assert.equal(master.reloadsStarted, 1);
    const said = lines.filter((l) => l.includes('refused'));
    assert.equal(said.length, 1, `${MAX_FAILURES + 2} refusals, one line within the minute:\n${said.join('')}`);
    assert.match(said[0], /client=127\.0\.0\.2 count=1 /);
  });

  test('RefusalLog: one line per client per window, the first at once, the rest counted into one line at its end', async () => {
    const said = [];
    let flushed;
    const second = new Promise((resolve) => (flushed = resolve));
    const refusals = new RefusalLog((client, count, why) => {
      said.push([client, count, why]);
      if (said.length === 3) flushed();
    }, 50);
    for (let i = 0; i < 3000; i++) refusals.refused('10.0.0.1', `guess ${i}`);
    refusals.refused('10.0.0.2', 'guess');
    assert.deepEqual(said, [
      ['10.0.0.1', 1, 'guess 0'],
      ['10.0.0.2', 1, 'guess'],
    ]);
    await within(second, 10_000, "the window's end");
    assert.deepEqual(said[2], ['10.0.0.1', 2999, 'guess 2999']);
  });

  test('clients are counted by IPv4 address, and by /64 for IPv6', () => {
    assert.equal(clientOf('127.0.0.2'), '127.0.0.2');
    assert.equal(clientOf('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(clientOf('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(clientOf('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(clientOf('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(clientOf('::1'), '0:0:0:0::/64');
    assert.equal(clientOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientOf(undefined), 'unknown');
  });

  test('Guard: failures age out of the window; the table of addresses is bounded', () => {
    let now = 1_000_000;
    const guard = new Guard(TOKEN, () => now);
    assert.equal(guard.accepts(`Bearer ${TOKEN}`), true);
    assert.equal(guard.accepts(undefined), false);
    assert.equal(guard.accepts(`Bearer ${TOKEN.slice(0, -1)}`), false);
    for (let i = 0; i < MAX_FAILURES; i++) {
      guard.failed('a');
      now += 1000;
    }
    assert.equal(guard.retryAfter('a'), FAILURE_WINDOW_MS / 1000 - MAX_FAILURES);
    assert.equal(guard.retryAfter('b'), 0);
    now += (FAILURE_WINDOW_MS / 1000) * 1000 - MAX_FAILURES * 1000 + 1;
    assert.equal(guard.retryAfter('a'), 0, 'the oldest failure has aged out');
    // Many addresses failing: the table keeps the latest ones, and keeps its size.
    for (let i = 0; i < 10_000; i++) guard.failed(`10.0.${i >> 8}.${i & 255}`);
    // The table is private: its bound is what this checks.
    const { failures } = /** @type {{ failures: Map<string, number[]> }} */ (/** @type {unknown} */ (guard));
    assert.ok(failures.size <= 4096, `table size ${failures.size}`);
    for (let i = 1; i < MAX_FAILURES; i++) guard.failed('latest');
    assert.equal(guard.retryAfter('latest'), 0);
    guard.failed('latest');
    assert.ok(guard.retryAfter('latest') > 0);
  });
});

describe('admin: the API', () => {
  test('actions never on GET (405, Allow: POST); status not on POST (405, Allow: GET, HEAD); unknown paths 404; all as JSON errors', async () => {
    const { master, port } = await start();
    for (const p of ['/api/reload', '/api/stop']) {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const r = await request(port, method, p, { headers: AUTH });
        assert.equal(r.status, 405, `${method} ${p}`);
        assert.equal(r.headers.allow, 'POST');
        if (method !== 'HEAD') assert.match(json(r).error, /takes POST \(an action is never taken on GET\)/);
      }
    }
    let r = await request(port, 'POST', '/api/status', { headers: AUTH });
    assert.deepEqual([r.status, r.headers.allow], [405, 'GET, HEAD']);
    r = await request(port, 'POST', '/healthz');
    assert.deepEqual([r.status, r.headers.allow], [405, 'GET, HEAD']);
    for (const p of ['/index.html', '/api', '/api/reload/x', '/constructor', '/__proto__', '/api/release']) {
      r = await request(port, 'GET', p, { headers: AUTH });
      assert.equal(r.status, 404, p);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.match(json(r).error, /^no endpoint /);
    }
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0]);
  });

  test('a request names a path: //host/path, a full URL or * → 400 and no action', async () => {
    const { master, port } = await start({ token: null });
    for (const target of ['//x/api/reload', '//x/api/stop', 'http://127.0.0.1/api/stop', '*', 'api/stop']) {
      const r = await request(port, 'POST', target);
      assert.equal(r.status, 400, target);
      // Node's parser refuses some targets itself, with an empty 400.
      if (r.body !== '') assert.match(json(r).error, /the request target must be a path starting with a single \//);
    }
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0]);
    assert.equal((await request(port, 'GET', '/healthz?x=//y')).status, 200, 'a query may hold anything');
  });

  test('GET /api/status: the status, as `baton status --json` gives it', async () => {
    const { port } = await start();
    const r = await request(port, 'GET', '/api/status?x=1', { headers: AUTH });
    assert.deepEqual(
      [r.status, r.headers['content-type'], r.headers['cache-control']],
      [200, 'application/json', 'no-store'],
    );
    assert.deepEqual(json(r), STATUS);
  });

  test('POST /api/reload: 200 with the result; a rollback 500 with the reason; 409 when stopping; a throw 500', async () => {
    let { port } = await start();
    let r = await request(port, 'POST', '/api/reload', { headers: AUTH });
    assert.deepEqual([r.status, json(r)], [200, { ok: true, generation: 4, ms: 95, cut: 0 }]);

    const rollback = {
      ok: false,
      generation: 4,
      ms: 30,
      reason: 'worker pid 6001 exited before it was ready (code 1)',
      stderrTail: 'Error: boom\n',
    };
    ({ port } = await start({ master: new FakeMaster({ result: rollback }) }));
    r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: '{}' });
    assert.deepEqual([r.status, json(r)], [500, rollback]);

    const stopping = new FakeMaster({ result: { ok: false, generation: 3, ms: 0, reason: 'the master is stopping' } });
    stopping.stopped = 1;
    ({ port } = await start({ master: stopping }));
    r = await request(port, 'POST', '/api/reload', { headers: AUTH });
    assert.deepEqual([r.status, json(r).reason], [409, 'the master is stopping']);

    ({ port } = await start({ master: new FakeMaster({ throws: 'kaboom' }) }));
    r = await request(port, 'POST', '/api/reload', { headers: AUTH });
    assert.equal(r.status, 500);
    assert.equal(json(r).ok, false);
    assert.equal(json(r).reason, 'internal error: kaboom');
  });

  test('POST /api/reload with Accept: text/event-stream streams each phase as it happens, then the result', async () => {
    let release;
    const held = new Promise((r) => (release = r));
    // The last phase waits until the client has seen the first: streamed, not buffered.
    const master = new FakeMaster({ gate: (p) => (p.phase === 'done' ? held : undefined) });
    const { port } = await start({ master });
    /** @type {number[]} per event, as it arrived: the reloads finished by then */
    const finishedYet = [];
    const { status, type, events } = await reloadEvents(port, AUTH, () => {
      finishedYet.push(master.reloadsFinished);
      if (finishedYet.length === 1) release();
    });
    assert.equal(type, 'text/event-stream');
    assert.equal(status, 200);
    assert.deepEqual(
      events.map((e) => e.name),
      ['phase', 'phase', 'phase', 'phase', 'result'],
    );
    assert.deepEqual(
      events.slice(0, 4).map((e) => e.data),
      PHASES,
    );
    assert.deepEqual(events[4].data, { ok: true, generation: 4, ms: 95, cut: 0 });
    assert.equal(finishedYet[0], 0, 'the first phase arrived while the reload ran');
  });

  test('POST /api/stop: 202, then the master stops', async () => {
    const { master, port } = await start();
    const r = await request(port, 'POST', '/api/stop', { headers: AUTH });
    assert.deepEqual([r.status, json(r)], [202, { stopping: true }]);
    assert.equal(master.stopped, 1);
  });

  test(`bodies: over ${MAX_BODY_BYTES} bytes → 413, a parameter other than release → 400; neither acts`, async () => {
    const { master, port } = await start();
    let r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    assert.equal(r.status, 413);
    assert.match(json(r).error, /request body over 16384 bytes/);
    // Without a Content-Length: read until the bound, then refused.
    r = await request(port, 'POST', '/api/stop', {
      headers: { ...AUTH, 'transfer-encoding': 'chunked' },
      body: 'x'.repeat(MAX_BODY_BYTES * 2),
    });
    assert.equal(r.status, 413);
    for (const body of [
      '{"release":"v2","x":"y"}',
      '{"release":5}',
      '{"release":null}',
      '["v2"]',
      '"v2"',
      'release=v2',
      '{"path":"/bin"}',
    ]) {
      r = await request(port, 'POST', '/api/reload', { headers: AUTH, body });
      assert.equal(r.status, 400, body);
      assert.match(
        json(r).error,
        /takes only \{"release":"\.\.\."\}, \{"node":"\.\.\."\}, \{"canary":"\.\.\."\}, \{"canaryFor":"\.\.\."\}, \{"batch":"\.\.\."\}, or no body/,
        body,
      );
    }
    r = await request(port, 'POST', '/api/stop', { headers: AUTH, body: '{"release":"v2"}' });
    assert.equal(r.status, 400);
    assert.match(json(r).error, /takes no parameters/);
    // A master without --releases: naming one is refused, as an event stream too.
    for (const accept of ['application/json', 'text/event-stream']) {
      r = await request(port, 'POST', '/api/reload', { headers: { ...AUTH, accept }, body: '{"release":"../etc"}' });
      assert.deepEqual(
        [r.status, r.headers['content-type'], json(r).error],
        [400, 'application/json', NO_RELEASES],
        accept,
      );
    }
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0]);
  });

  test('releases: GET /api/releases lists them (404 without --releases); a reload names one, refused 400 (409 busy) before anything starts', async () => {
    let { port } = await start();
    let r = await request(port, 'GET', '/api/releases', { headers: AUTH });
    assert.deepEqual([r.status, json(r)], [404, { error: NO_RELEASES }]);

    const master = new FakeMaster({ releases: RELEASES });
    ({ port } = await start({ master }));
    r = await request(port, 'GET', '/api/releases', { headers: AUTH });
    assert.deepEqual([r.status, json(r)], [200, RELEASES]);
    r = await request(port, 'GET', '/api/releases');
    assert.equal(r.status, 401);
    r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: '{"release":"v2"}' });
    assert.deepEqual([r.status, json(r).ok], [200, true]);
    r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: ' {} ' });
    assert.equal(r.status, 200);
    assert.deepEqual(master.releasesAsked, ['v2', undefined]);
    r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: '{"release":"v9"}' });
    assert.deepEqual([r.status, json(r).error], [400, "release 'v9' is not in /srv/app/releases"]);
    r = await request(port, 'POST', '/api/reload', { headers: AUTH, body: '{"release":"busy"}' });
    assert.equal(r.status, 409);
    assert.equal(master.reloadsStarted, 2);
  });

  test('a client that never finishes its request, or its TLS handshake, is cut at the deadline', {
    timeout: 20_000,
  }, async () => {
    const [plain, tls] = [await start(), await start({ tls: testCertificate })];
    const started = Date.now();
    const cut = (port, request) =>
      within(
        new Promise((resolve) => {
          const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
          let text = '';
          sock.setEncoding('utf8');
          sock.on('data', (d) => (text += d));
          sock.on('error', () => {});
          sock.on('close', () => resolve(text));
        }),
        15_000,
        'the server to cut a slow client',
      );
    const [got] = await Promise.all([cut(plain.port, 'GET /api/status HTTP/1.1\r\nHost: x\r\n'), cut(tls.port, '')]);
    const ms = Date.now() - started;
    assert.ok(ms >= 4000, `cut after ${ms} ms, not before the 5 s deadline`);
    assert.match(got, /^HTTP\/1\.1 408 /);
  });
});

describe('admin: metrics', () => {
  const parse = (text) => Object.fromEntries(parsePrometheus(text).map((f) => [f.name, f]));

  test('/metrics: token required unless metricsPublic; valid Prometheus text with HELP and TYPE for every family', async () => {
    const { port } = await start();
    assert.equal((await request(port, 'GET', '/metrics')).status, 401);
    const r = await request(port, 'GET', '/metrics', { headers: AUTH });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    for (const line of r.body.trimEnd().split('\n')) {
      assert.match(
        line,
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? -?[\d.e+]+)$/,
        line,
      );
    }
    const families = parse(r.body);
    for (const f of Object.values(families)) assert.ok(f.help && f.type, `${f.name} has HELP and TYPE`);
    const open = await start({ metricsPublic: true });
    assert.equal((await request(open.port, 'GET', '/metrics')).status, 200);
    assert.equal((await request(open.port, 'GET', '/api/status')).status, 401, 'only /metrics is opened');
  });

  test('counters and gauges follow the events and the status', () => {
    const metrics = new Metrics();
    let m = parse(metrics.render(STATUS));
    assert.deepEqual(
      m.baton_reloads_total.metrics.map((s) => [s.labels.outcome, s.value]),
      [
        ['ok', '0'],
        ['failed', '0'],
      ],
    );
    assert.equal(m.baton_reload_duration_seconds.type, 'HISTOGRAM');
    assert.equal(m.baton_reload_duration_seconds.metrics[0].count, '0');
    metrics.reloaded({ ok: true, generation: 4, ms: 800 });
    metrics.reloaded({ ok: true, generation: 5, ms: 12_000 });
    metrics.reloaded({ ok: false, generation: 6, ms: 300, reason: 'boom' });
    metrics.respawned();
    metrics.cut(3);
    metrics.cut(0);
    m = parse(metrics.render(STATUS));
    assert.deepEqual(
      m.baton_reloads_total.metrics.map((s) => [s.labels.outcome, s.value]),
      [
        ['ok', '2'],
        ['failed', '1'],
      ],
    );
    const h = m.baton_reload_duration_seconds.metrics[0];
    assert.equal(h.count, '3');
    assert.equal(Number(h.sum), 13.1);
    assert.deepEqual(
      [h.buckets['0.25'], h.buckets['0.5'], h.buckets['1'], h.buckets['10'], h.buckets['30'], h.buckets['+Inf']],
      ['0', '1', '2', '2', '3', '3'],
    );
    assert.equal(m.baton_worker_restarts_total.metrics[0].value, '1');
    assert.equal(m.baton_drain_cut_connections_total.metrics[0].value, '3');
    assert.equal(m.baton_generation.metrics[0].value, '3');
    assert.deepEqual(
      m.baton_workers.metrics.map((s) => [s.labels.state, s.value]),
      [
        ['starting', '1'],
        ['ready', '1'],
        ['draining', '1'],
      ],
    );
    assert.deepEqual(
      m.baton_open_connections.metrics.map((s) => [s.labels.generation, s.value]),
      [
        ['2', '2'],
        ['3', '7'],
      ],
    );
    assert.ok(Number(m.process_resident_memory_bytes.metrics[0].value) > 1e6);
    assert.ok(Number(m.process_open_fds.metrics[0].value) > 2);
  });
});

describe('admin: the token file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-admin-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name, text, mode) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    fs.chmodSync(file, mode);
    return file;
  };

  test('read once, trimmed; an empty, open, missing or non-file one refused in one line naming the file and the fix', () => {
    assert.equal(readTokenFile(write('ok', `  ${TOKEN}\n`, 0o600), '--admin-token-file'), TOKEN);
    assert.equal(
      readTokenFile(write('group', `${TOKEN}\n`, 0o640), '--admin-token-file'),
      TOKEN,
      'a service group may read it',
    );
    const refused = (file, re) =>
      assert.throws(
        () => readTokenFile(file, '--admin-token-file'),
        (/** @type {Error} */ err) => {
          assert.match(err.message, re);
          assert.ok(err.message.startsWith('--admin-token-file: '), err.message);
          assert.ok(err.message.includes(`'${file}'`), err.message);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
      );
    refused(
      write('empty', ' \n\n', 0o600),
      /is empty; write a long random token into it \(e\.g\. openssl rand -hex 32 >/,
    );
    refused(write('open', TOKEN, 0o644), /is open to other users \(mode 0644\); make it private: chmod 600 /);
    refused(write('writable', TOKEN, 0o602), /mode 0602/);
    refused(path.join(dir, 'missing'), /cannot read .* \(ENOENT\)/);
    refused(dir, /is not a file/);
  });

  test('a token under 32 characters (128 bits in hex), or one holding a space, is refused, naming openssl rand -hex 32', () => {
    const refused = (text, re) =>
      assert.throws(
        () => readTokenFile(write('weak', text, 0o600), '--admin-token-file'),
        (/** @type {Error} */ err) => {
          assert.match(err.message, re);
          assert.match(err.message, /openssl rand -hex 32 >/);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
      );
    refused('x\n', /the token in .* is 1 characters; use at least 32 random hex characters \(128 bits\)/);
    refused('0123456789abcdef0123456789abcde', /is 31 characters/);
    refused('correct horse battery staple correct horse', /holds a space or a character a bearer token cannot carry/);
    assert.equal(readTokenFile(write('hex', `${'ab'.repeat(16)}\n`, 0o600), '--admin-token-file'), 'ab'.repeat(16));
  });

  test('a standalone process reads BATON_ADMIN and BATON_ADMIN_TOKEN_FILE by the --admin rules, its errors naming the variables', () => {
    const file = write('env', `${TOKEN}\n`, 0o600);
    assert.equal(adminFromEnv({}), undefined, 'off by default');
    assert.deepEqual(adminFromEnv({ BATON_ADMIN: '9090' }), { host: '127.0.0.1', port: 9090, metricsPublic: false });
    const { warning, ...open } = adminFromEnv({ BATON_ADMIN: '0.0.0.0:9090', BATON_ADMIN_TOKEN_FILE: file });
    assert.deepEqual(open, { host: '0.0.0.0', port: 9090, metricsPublic: false, token: TOKEN });
    assert.match(warning, /without TLS/);
    const refused = (env, message) =>
      assert.throws(
        () => adminFromEnv(env),
        (/** @type {Error} */ err) => err.message.startsWith(message) && !err.message.includes('\n'),
      );
    refused(
      { BATON_ADMIN: '0.0.0.0:9090' },
      'BATON_ADMIN=0.0.0.0:9090 is not a loopback address, and anyone reaching it could reload or stop this service: give BATON_ADMIN_TOKEN_FILE=FILE',
    );
    refused({ BATON_ADMIN: 'admin:x' }, "BATON_ADMIN: 'admin:x' is not an address");
    refused(
      { BATON_ADMIN_TOKEN_FILE: file },
      'BATON_ADMIN_TOKEN_FILE needs BATON_ADMIN=[HOST:]PORT (e.g. BATON_ADMIN=127.0.0.1:9090)',
    );
    refused(
      { BATON_ADMIN: '9090', BATON_ADMIN_TOKEN_FILE: write('env-open', TOKEN, 0o644) },
      'BATON_ADMIN_TOKEN_FILE: ',
    );
  });
});

describe('admin: the page, its sign-in and cross-site requests', () => {
  const PAGE = { 'x-baton-page': '1' };
  /** @returns {Promise<[Awaited<ReturnType<typeof request>>, string | undefined]>} the answer, and its cookie */
  const signIn = async (port, headers = AUTH) => {
    const r = await request(port, 'POST', '/signin', { headers: { ...headers, ...PAGE } });
    return [r, r.headers['set-cookie']?.[0]];
  };
  const cookieOf = (setCookie) => setCookie.split(';')[0];

  test('GET /: one self-contained document whose CSP allows only its own script and style, by hash; every answer carries the security headers', async () => {
    const { port } = await start();
    const r = await request(port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    const csp = Object.fromEntries(
      /** @type {string} */ (r.headers['content-security-policy'])
        .split('; ')
        .map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
    );
    const sha = (text) => `'sha256-${crypto.createHash('sha256').update(text).digest('base64')}'`;
    const script = [...r.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    const style = [...r.body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    assert.deepEqual([script.length, style.length], [1, 1]);
    assert.deepEqual(csp, {
      'default-src': ["'none'"],
      'script-src': [sha(script[0])],
      'style-src': [sha(style[0])],
      'img-src': ['data:'],
      'connect-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    });
    assert.doesNotMatch(
      r.body,
      /<script [^>]*src=|<link [^>]*rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/,
      'no outside asset',
    );
    assert.match(r.body, /data-sign-in="yes"/);
    assert.doesNotMatch(r.body, new RegExp(TOKEN), 'the token is not in the page');
    /** @type {[string, string, Record<string, string>][]} */
    const asked = [
      ['GET', '/', {}],
      ['GET', '/api/status', {}],
      ['GET', '/api/status', AUTH],
      ['GET', '/nowhere', {}],
      ['GET', '/healthz', {}],
    ];
    for (const [method, p, headers] of asked) {
      const a = await request(port, method, p, { headers });
      assert.equal(a.headers['x-content-type-options'], 'nosniff', p);
      assert.equal(a.headers['referrer-policy'], 'no-referrer', p);
      assert.match(
        /** @type {string} */ (a.headers['content-security-policy']),
        /^default-src 'none'; .*frame-ancestors 'none'$/,
        p,
      );
    }
    const open = await start({ token: null });
    assert.match((await request(open.port, 'GET', '/')).body, /data-sign-in="no"/, 'without a token, no sign-in');
  });

  test('sign-in: the token as a bearer token gives an HttpOnly, SameSite=Strict, expiring session cookie (not the token), which authenticates the API; a wrong token gets none', async () => {
    const { master, port } = await start();
    const [wrong, none] = await signIn(port, { authorization: 'Bearer nope' });
    assert.deepEqual([wrong.status, none], [401, undefined]);
    const [ok, setCookie] = await signIn(port);
    assert.equal(ok.status, 200);
    assert.match(setCookie, new RegExp(`^baton_session_${port}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
    assert.ok(!setCookie.includes(TOKEN));
    const [, another] = await signIn(port);
    assert.notEqual(cookieOf(another), cookieOf(setCookie), 'each session its own random id');
    const cookie = { cookie: cookieOf(setCookie) };
    let r = await request(port, 'GET', '/api/status', { headers: cookie });
    assert.deepEqual([r.status, json(r)], [200, STATUS]);
    r = await request(port, 'POST', '/api/reload', { headers: { ...cookie, ...PAGE } });
    assert.deepEqual([r.status, master.reloadsStarted], [200, 1]);
    assert.equal(
      (await request(port, 'GET', '/api/status', { headers: { cookie: `baton_session_${port}=made-up` } })).status,
      401,
    );
    r = await request(port, 'POST', '/signout', { headers: { ...cookie, ...PAGE } });
    assert.match(r.headers['set-cookie'][0], new RegExp(`^baton_session_${port}=; .*Max-Age=0$`));
    assert.equal((await request(port, 'GET', '/api/status', { headers: cookie })).status, 401, 'signed out');
  });

  test('a POST on a session cookie must come from the page: another origin, another site, or no page header → 403 and no action; a bearer token is unaffected', async () => {
    const { master, port } = await start();
    const [, setCookie] = await signIn(port);
    const cookie = { cookie: cookieOf(setCookie) };
    const self = { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' };
    /** @type {[Record<string, string>, RegExp][]} */
    const forged = [
      [{ ...cookie }, /without the x-baton-page header/],
      [{ ...cookie, origin: self.origin, 'sec-fetch-site': 'same-origin' }, /without the x-baton-page header/],
      [{ ...cookie, ...PAGE, origin: 'http://evil.example' }, /from another origin \(http:\/\/evil\.example\)/],
      [{ ...cookie, ...PAGE, 'sec-fetch-site': 'cross-site' }, /from another site \(Sec-Fetch-Site: cross-site\)/],
      [{ ...cookie, ...PAGE, 'sec-fetch-site': 'same-site' }, /from another site/],
      [{ ...cookie, ...PAGE, origin: 'null' }, /from another origin/],
    ];
    for (const [headers, why] of forged) {
      for (const p of ['/api/reload', '/api/stop', '/signout']) {
        const r = await request(port, 'POST', p, { headers });
        assert.equal(r.status, 403, `${p} ${JSON.stringify(headers)}`);
        assert.match(json(r).error, why);
        assert.match(json(r).error, /cross-site request forgery/);
      }
    }
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0], 'nothing was done');
    assert.equal((await request(port, 'GET', '/api/status', { headers: cookie })).status, 200, 'the session lives on');
    let r = await request(port, 'POST', '/api/reload', { headers: { ...cookie, ...PAGE, ...self } });
    assert.equal(r.status, 200);
    r = await request(port, 'POST', '/api/reload', {
      headers: { ...AUTH, origin: 'http://elsewhere.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(r.status, 200, 'a bearer token needs no proof of origin');
    assert.equal(master.reloadsStarted, 2);
  });

  test('without a token: a POST from a browser on another site, or any request for a host that is not loopback → 403; the page and non-browser clients act', async () => {
    const { master, port } = await start({ token: null });
    for (const headers of [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: `http://127.0.0.1:${port}` },
    ]) {
      const r = await request(port, 'POST', '/api/stop', { headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
    // DNS rebinding: the forger's own name, pointed at 127.0.0.1, makes its page same-origin, but is in Host.
    const names = [
      'rebind.example',
      '127.0.0.1.attacker.example',
      '127.attacker.example',
      'localhost.attacker.example',
      '[::1].attacker.example',
      '127.0.0.1.',
    ];
    for (const name of names) {
      const rebound = {
        host: `${name}:${port}`,
        origin: `http://${name}:${port}`,
        'sec-fetch-site': 'same-origin',
        ...PAGE,
      };
      for (const [method, p] of [
        ['POST', '/api/stop'],
        ['POST', '/api/reload'],
        ['GET', '/api/status'],
      ]) {
        const r = await request(port, method, p, { headers: rebound });
        assert.equal(r.status, 403, `${method} ${p} for ${name}`);
        assert.ok(
          json(r).error.startsWith(
            `a request for host '${name}:${port}', not a loopback address or localhost: refused`,
          ),
          json(r).error,
        );
      }
    }
    assert.deepEqual([master.stopped, master.reloadsStarted], [0, 0]);
    for (const host of [
      `localhost:${port}`,
      'localhost',
      `[::1]:${port}`,
      `127.0.0.2:${port}`,
      '127.255.0.1',
      `[::ffff:127.0.0.1]:${port}`,
    ]) {
      assert.equal((await request(port, 'GET', '/api/status', { headers: { host } })).status, 200, host);
    }
    let r = await request(port, 'POST', '/api/reload', {
      headers: { ...PAGE, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(r.status, 200, 'the page');
    r = await request(port, 'POST', '/api/reload');
    assert.equal(r.status, 200, 'curl');
    assert.equal(master.reloadsStarted, 2);
  });

  test('only a credential shown and wrong counts toward the limit: a page asking whether it is signed in does not', async () => {
    const { port } = await start();
    const from = '127.0.0.4';
    for (let i = 0; i < MAX_FAILURES * 2; i++)
      assert.equal((await request(port, 'GET', '/api/status', { localAddress: from })).status, 401);
    assert.equal((await request(port, 'GET', '/api/status', { headers: AUTH, localAddress: from })).status, 200);
    for (let i = 0; i < MAX_FAILURES; i++) {
      assert.equal(
        (
          await request(port, 'GET', '/api/status', {
            headers: { cookie: `baton_session_${port}=guess${i}` },
            localAddress: from,
          })
        ).status,
        401,
      );
    }
    assert.equal(
      (await request(port, 'GET', '/api/status', { headers: { authorization: 'Bearer guess' }, localAddress: from }))
        .status,
      429,
      'made-up session ids count',
    );
  });

  test('Sessions: a session ends once unused for a while (each use starts it again), at sign-out, or as the least recently used past the cap', () => {
    let now = 1_000_000;
    const sessions = new Sessions(9090, false, () => now);
    const cookie = (setCookie) => setCookie.split(';')[0];
    const a = cookie(sessions.start());
    assert.equal(sessions.check(a), 'live');
    assert.equal(sessions.check(`other=1; ${a}; more=2`), 'live');
    assert.equal(sessions.check('baton_session_9091=x'), 'none', "another master's cookie");
    assert.equal(sessions.check(undefined), 'none');
    for (let i = 0; i < 100; i++) {
      now += SESSION_IDLE_MS - 1;
      assert.equal(sessions.check(a), 'live', `in use for ${i} idle periods`);
    }
    assert.ok(SESSION_IDLE_MS <= 30 * 60_000, 'a short while');
    now += SESSION_IDLE_MS;
    assert.equal(sessions.check(a), 'wrong', 'expired once unused');
    const b = cookie(sessions.start());
    sessions.end(b);
    assert.equal(sessions.check(b), 'wrong', 'signed out');
    const first = cookie(sessions.start());
    for (let i = 0; i < 300; i++) sessions.start();
    assert.equal(sessions.check(first), 'wrong', 'the oldest is ended past the cap');
  });
});

describe('admin: TLS', () => {
  const CA = fs.readFileSync(testCertificate.cert);

  test("over HTTPS a verifying client is served; the page's cookie is __Host-, Secure, Path=/; a plain-HTTP client and one that trusts no such certificate are not", async () => {
    const { master, port } = await start({ tls: testCertificate });
    let r = await request(port, 'GET', '/healthz', { ca: CA });
    assert.deepEqual([r.status, r.body, r.cert.subject.CN], [200, 'ok\n', 'localhost']);
    await assert.rejects(request(port, 'GET', '/healthz', { ca: [] }), /self[- ]signed certificate/);
    await assert.rejects(request(port, 'GET', '/healthz'), /socket hang up|ECONNRESET|HPE_/);
    r = await request(port, 'POST', '/signin', { headers: { ...AUTH, 'x-baton-page': '1' }, ca: CA });
    const setCookie = r.headers['set-cookie'][0];
    assert.match(
      setCookie,
      new RegExp(`^__Host-baton_session_${port}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/; Secure$`),
    );
    const page = { cookie: setCookie.split(';')[0], 'x-baton-page': '1', 'sec-fetch-site': 'same-origin' };
    r = await request(port, 'POST', '/api/reload', {
      headers: { ...page, origin: `http://127.0.0.1:${port}` },
      ca: CA,
    });
    assert.equal(r.status, 403, 'the http:// origin is another origin');
    r = await request(port, 'POST', '/api/reload', {
      headers: { ...page, origin: `https://127.0.0.1:${port}` },
      ca: CA,
    });
    assert.equal(r.status, 200);
    assert.equal(master.reloadsStarted, 1);
  });

  test('reloadCertificate reads the files again: a renewed certificate serves new connections; a broken one keeps the one in use', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-tls-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const files = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    fs.copyFileSync(testCertificate.cert, files.cert);
    fs.copyFileSync(testCertificate.key, files.key);
    const { server, port } = await start({ tls: files });
    const before = (await request(port, 'GET', '/healthz', { ca: CA })).cert.fingerprint256;
    const renewed = selfSignedCertificate(dir);
    fs.copyFileSync(renewed.cert, files.cert);
    fs.copyFileSync(renewed.key, files.key);
    server.reloadCertificate();
    const r = await request(port, 'GET', '/healthz', { ca: fs.readFileSync(files.cert) });
    assert.equal(r.status, 200);
    assert.notEqual(r.cert.fingerprint256, before);
    fs.writeFileSync(files.key, 'not a key');
    server.reloadCertificate();
    assert.equal(
      (await request(port, 'GET', '/healthz', { ca: fs.readFileSync(files.cert) })).cert.fingerprint256,
      r.cert.fingerprint256,
    );
  });

  test('--admin-tls-cert and --admin-tls-key: both or neither, read at start; off loopback without them a warning names them', () => {
    const token = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bt-tls-')), 'token');
    fs.writeFileSync(token, TOKEN, { mode: 0o600 });
    const env = { BATON_ADMIN: '0.0.0.0:9090', BATON_ADMIN_TOKEN_FILE: token };
    assert.match(
      adminFromEnv(env).warning,
      /^BATON_ADMIN=0\.0\.0\.0:9090 without TLS: .*; give BATON_ADMIN_TLS_CERT=FILE BATON_ADMIN_TLS_KEY=FILE$/,
    );
    const tls = { BATON_ADMIN_TLS_CERT: testCertificate.cert, BATON_ADMIN_TLS_KEY: testCertificate.key };
    assert.deepEqual(adminFromEnv({ ...env, ...tls }).tls, testCertificate);
    assert.equal(adminFromEnv({ ...env, ...tls }).warning, undefined);
    assert.equal(adminFromEnv({ BATON_ADMIN: '9090' }).warning, undefined, 'on loopback');
    const refused = (extra, message) =>
      assert.throws(
        () => adminFromEnv({ ...env, ...extra }),
        (/** @type {Error} */ err) => err.message.startsWith(message) && !err.message.includes('\n'),
      );
    refused({ BATON_ADMIN_TLS_CERT: testCertificate.cert }, 'BATON_ADMIN_TLS_CERT needs BATON_ADMIN_TLS_KEY=FILE too');
    refused(
      { ...tls, BATON_ADMIN_TLS_KEY: `${testCertificate.key}.missing` },
      'BATON_ADMIN_TLS_CERT, BATON_ADMIN_TLS_KEY: cannot read the key',
    );
    refused({ ...tls, BATON_ADMIN_TLS_KEY: testCertificate.cert }, 'BATON_ADMIN_TLS_CERT, BATON_ADMIN_TLS_KEY: ');
  });
});
