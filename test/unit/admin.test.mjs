// Unit tests for dist/admin: the admin listener over real HTTP on loopback,
// serving a fake master; its guard (token, failures per address), its
// metrics (parsed by a Prometheus text-format parser), and the token file.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
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
import { within } from '../helpers/proc.mjs';
import { request, reloadEvents } from '../helpers/http.mjs';

const TOKEN = 'a-long-random-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const STATUS = {
  name: 'default', masterPid: 4242, uptimeMs: 1000, generation: 3,
  workers: [
    { pid: 5001, generation: 3, state: 'ready', uptimeMs: 900, rssBytes: null, connections: 7, heartbeatAgeMs: 100, delayMs: 1, unresponsive: false },
    { pid: 5002, generation: 3, state: 'starting', uptimeMs: 10, rssBytes: null, connections: null, heartbeatAgeMs: null, delayMs: null, unresponsive: false },
    { pid: 4001, generation: 2, state: 'draining', uptimeMs: 5000, rssBytes: null, connections: 2, heartbeatAgeMs: 100, delayMs: 1, unresponsive: false },
  ],
  listeners: ['tcp:127.0.0.1:8080'],
  reloads: [],
};
const PHASES = [
  { phase: 'spawned', generation: 4, pids: [6001] },
  { phase: 'ready', generation: 4, ms: 40 },
  { phase: 'draining', generation: 3, connections: 2 },
  { phase: 'done', generation: 4, ms: 95 },
];

const RELEASES = {
  dir: '/srv/app/releases', current: 'v2', serving: 'v1',
  releases: [{ name: 'v1', current: false, serving: true }, { name: 'v2', current: true, serving: false }],
};

/** The master as the admin listener sees it; counts what it was asked to do. `releases`: as if run with --releases. */
class FakeMaster {
  constructor({ result = { ok: true, generation: 4, ms: 95, cut: 0 }, phases = PHASES, throws, gate, releases } = {}) {
    Object.assign(this, { result, phases, throws, gate, releaseList: releases });
    this.releasesAsked = [];
    this.reloadsStarted = 0;
    this.reloadsFinished = 0;
    this.stopped = 0;
    this.ready = true;
  }
  /** Refuses a release as the master does: before anything starts, by a throw. */
  reload(onPhase, release) {
    if (release !== undefined && !this.releaseList) throw new ReloadRefused(NO_RELEASES);
    if (release === 'busy') throw new ReloadRefused('a reload of release v1 is queued', true);
    if (release !== undefined && !this.releaseList.releases.some((r) => r.name === release)) throw new ReloadRefused(`release '${release}' is not in ${RELEASES.dir}`);
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

async function start({ master = new FakeMaster(), token = TOKEN, metricsPublic = false, metrics = new Metrics() } = {}) {
  const server = await within(startAdminServer({ host: '127.0.0.1', port: 0, token, metricsPublic }, master, metrics), 5000, 'startAdminServer');
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
    assert.deepEqual([r.status, r.body], [503, 'not ready\n'], 'not ready once stopping, though its workers still serve');
    r = await request(port, 'GET', '/healthz');
    assert.deepEqual([r.status, r.body], [200, 'ok\n'], 'alive while it drains');
    r = await request(port, 'HEAD', '/healthz');
    assert.deepEqual([r.status, r.body], [200, '']);
  });
});

describe('admin: the token', () => {
  test('no token or a wrong one → 401 and no action, on every guarded endpoint', async () => {
    const { master, port } = await start();
    const wrong = [{}, { authorization: 'Bearer nope' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of wrong) {
      for (const [method, p] of [['POST', '/api/reload'], ['POST', '/api/stop'], ['GET', '/api/status'], ['GET', '/metrics']]) {
        // A fresh client address per attempt would need more addresses: the limit is not what this test is about.
        const r = await request(port, method, p, { headers, localAddress: `127.0.${wrong.indexOf(headers) + 1}.${p.length}` });
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

  test(`${MAX_FAILURES} failures from one address → 429 with Retry-After, even with the right token; other addresses unaffected`, async () => {
    const { master, port } = await start();
    const from = '127.0.0.2';
    for (let i = 0; i < MAX_FAILURES; i++) {
      assert.equal((await request(port, 'POST', '/api/reload', { headers: { authorization: `Bearer guess${i}` }, localAddress: from })).status, 401);
    }
    for (const headers of [{ authorization: 'Bearer guess' }, AUTH]) {
      const r = await request(port, 'POST', '/api/reload', { headers, localAddress: from });
      assert.equal(r.status, 429);
      const wait = Number(r.headers['retry-after']);
      assert.ok(wait >= 1 && wait <= FAILURE_WINDOW_MS / 1000, `Retry-After: ${r.headers['retry-after']}`);
      assert.match(json(r).error, /too many failed attempts from 127\.0\.0\.2; try again in \d+ s/);
    }
    assert.equal((await request(port, 'GET', '/healthz', { localAddress: from })).status, 200, 'probes are not guarded');
    assert.equal(master.reloadsStarted, 0);
    const r = await request(port, 'POST', '/api/reload', { headers: AUTH, localAddress: '127.0.0.3' });
    assert.equal(r.status, 200);
    assert.equal(master.reloadsStarted, 1);
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
    now += FAILURE_WINDOW_MS / 1000 * 1000 - MAX_FAILURES * 1000 + 1;
    assert.equal(guard.retryAfter('a'), 0, 'the oldest failure has aged out');
    // Many addresses failing: the table keeps the latest ones, and keeps its size.
    for (let i = 0; i < 10_000; i++) guard.failed(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(guard.failures.size <= 4096, `table size ${guard.failures.size}`);
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
    for (const p of ['/', '/api', '/api/reload/x', '/constructor', '/__proto__', '/api/release']) {
      r = await request(port, 'GET', p, { headers: AUTH });
      assert.equal(r.status, 404, p);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.match(json(r).error, /^no endpoint /);
    }
    assert.deepEqual([master.reloadsStarted, master.stopped], [0, 0]);
  });

  test('GET /api/status: the status, as `baton status --json` gives it', async () => {
    const { port } = await start();
    const r = await request(port, 'GET', '/api/status?x=1', { headers: AUTH });
    assert.deepEqual([r.status, r.headers['content-type'], r.headers['cache-control']], [200, 'application/json', 'no-store']);
    assert.deepEqual(json(r), STATUS);
  });

  test('POST /api/reload: 200 with the result; a rollback 500 with the reason; 409 when stopping; a throw 500', async () => {
    let { port } = await start();
    let r = await request(port, 'POST', '/api/reload', { headers: AUTH });
    assert.deepEqual([r.status, json(r)], [200, { ok: true, generation: 4, ms: 95, cut: 0 }]);

    const rollback = { ok: false, generation: 4, ms: 30, reason: 'worker pid 6001 exited before it was ready (code 1)', stderrTail: 'Error: boom\n' };
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
    let seen = 0;
    const { status, type, events } = await reloadEvents(port, AUTH, (e) => {
      e.finishedYet = master.reloadsFinished;
      if (++seen === 1) release();
    });
    assert.equal(type, 'text/event-stream');
    assert.equal(status, 200);
    assert.deepEqual(events.map((e) => e.name), ['phase', 'phase', 'phase', 'phase', 'result']);
    assert.deepEqual(events.slice(0, 4).map((e) => e.data), PHASES);
    assert.deepEqual(events[4].data, { ok: true, generation: 4, ms: 95, cut: 0 });
    assert.equal(events[0].finishedYet, 0, 'the first phase arrived while the reload ran');
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
    r = await request(port, 'POST', '/api/stop', { headers: { ...AUTH, 'transfer-encoding': 'chunked' }, body: 'x'.repeat(MAX_BODY_BYTES * 2) });
    assert.equal(r.status, 413);
    for (const body of ['{"release":"v2","x":"y"}', '{"release":5}', '{"release":null}', '["v2"]', '"v2"', 'release=v2', '{"path":"/bin"}']) {
      r = await request(port, 'POST', '/api/reload', { headers: AUTH, body });
      assert.equal(r.status, 400, body);
      assert.match(json(r).error, /takes only \{"release":"\.\.\."\}, or no body/, body);
    }
    r = await request(port, 'POST', '/api/stop', { headers: AUTH, body: '{"release":"v2"}' });
    assert.equal(r.status, 400);
    assert.match(json(r).error, /takes no parameters/);
    // A master without --releases: naming one is refused, as an event stream too.
    for (const accept of ['application/json', 'text/event-stream']) {
      r = await request(port, 'POST', '/api/reload', { headers: { ...AUTH, accept }, body: '{"release":"../etc"}' });
      assert.deepEqual([r.status, r.headers['content-type'], json(r).error], [400, 'application/json', NO_RELEASES], accept);
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

  test('a client that never finishes its request is cut at the deadline', { timeout: 20_000 }, async () => {
    const { port } = await start();
    const started = Date.now();
    const got = await within(new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /api/status HTTP/1.1\r\nHost: x\r\n'));
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => (text += d));
      sock.on('error', () => {});
      sock.on('close', () => resolve(text));
    }), 15_000, 'the server to cut a slow client');
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
      assert.match(line, /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? -?[\d.e+]+)$/, line);
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
    assert.deepEqual(m.baton_reloads_total.metrics.map((s) => [s.labels.outcome, s.value]), [['ok', '0'], ['failed', '0']]);
    assert.equal(m.baton_reload_duration_seconds.type, 'HISTOGRAM');
    assert.equal(m.baton_reload_duration_seconds.metrics[0].count, '0');
    metrics.reloaded({ ok: true, generation: 4, ms: 800 });
    metrics.reloaded({ ok: true, generation: 5, ms: 12_000 });
    metrics.reloaded({ ok: false, generation: 6, ms: 300, reason: 'boom' });
    metrics.respawned();
    metrics.cut(3);
    metrics.cut(0);
    m = parse(metrics.render(STATUS));
    assert.deepEqual(m.baton_reloads_total.metrics.map((s) => [s.labels.outcome, s.value]), [['ok', '2'], ['failed', '1']]);
    const h = m.baton_reload_duration_seconds.metrics[0];
    assert.equal(h.count, '3');
    assert.equal(Number(h.sum), 13.1);
    assert.deepEqual([h.buckets['0.25'], h.buckets['0.5'], h.buckets['1'], h.buckets['10'], h.buckets['30'], h.buckets['+Inf']], ['0', '1', '2', '2', '3', '3']);
    assert.equal(m.baton_worker_restarts_total.metrics[0].value, '1');
    assert.equal(m.baton_drain_cut_connections_total.metrics[0].value, '3');
    assert.equal(m.baton_generation.metrics[0].value, '3');
    assert.deepEqual(m.baton_workers.metrics.map((s) => [s.labels.state, s.value]), [['starting', '1'], ['ready', '1'], ['draining', '1']]);
    assert.deepEqual(m.baton_open_connections.metrics.map((s) => [s.labels.generation, s.value]), [['2', '2'], ['3', '7']]);
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
    assert.equal(readTokenFile(write('group', `${TOKEN}\n`, 0o640), '--admin-token-file'), TOKEN, 'a service group may read it');
    const refused = (file, re) => assert.throws(() => readTokenFile(file, '--admin-token-file'), (err) => {
      assert.match(err.message, re);
      assert.ok(err.message.startsWith('--admin-token-file: '), err.message);
      assert.ok(err.message.includes(`'${file}'`), err.message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    refused(write('empty', ' \n\n', 0o600), /is empty; write a long random token into it \(e\.g\. openssl rand -hex 32 >/);
    refused(write('open', TOKEN, 0o644), /is open to other users \(mode 0644\); make it private: chmod 600 /);
    refused(write('writable', TOKEN, 0o602), /mode 0602/);
    refused(path.join(dir, 'missing'), /cannot read .* \(ENOENT\)/);
    refused(dir, /is not a file/);
  });

  test('a standalone process reads BATON_ADMIN and BATON_ADMIN_TOKEN_FILE by the --admin rules, its errors naming the variables', () => {
    const file = write('env', `${TOKEN}\n`, 0o600);
    assert.equal(adminFromEnv({}), undefined, 'off by default');
    assert.deepEqual(adminFromEnv({ BATON_ADMIN: '9090' }), { host: '127.0.0.1', port: 9090, metricsPublic: false });
    assert.deepEqual(adminFromEnv({ BATON_ADMIN: '0.0.0.0:9090', BATON_ADMIN_TOKEN_FILE: file }), { host: '0.0.0.0', port: 9090, metricsPublic: false, token: TOKEN });
    const refused = (env, message) => assert.throws(() => adminFromEnv(env), (err) => err.message.startsWith(message) && !err.message.includes('\n'));
    refused({ BATON_ADMIN: '0.0.0.0:9090' }, 'BATON_ADMIN=0.0.0.0:9090 is not a loopback address, and anyone reaching it could reload or stop this service: give BATON_ADMIN_TOKEN_FILE=FILE');
    refused({ BATON_ADMIN: 'admin:x' }, "BATON_ADMIN: 'admin:x' is not an address");
    refused({ BATON_ADMIN_TOKEN_FILE: file }, 'BATON_ADMIN_TOKEN_FILE needs BATON_ADMIN=[HOST:]PORT (e.g. BATON_ADMIN=127.0.0.1:9090)');
    refused({ BATON_ADMIN: '9090', BATON_ADMIN_TOKEN_FILE: write('env-open', TOKEN, 0o644) }, 'BATON_ADMIN_TOKEN_FILE: ');
  });
});
