// The admin listener of a real `baton run --admin 127.0.0.1:PORT
// --admin-token-file F`: the token guards every action, a reload through the
// API under load fails no request, a rollback reports its reason, the phases
// stream as events, /metrics parses and its counters move, the probes answer
// without a token and readyz turns 503 once the master stops. And off
// loopback without a token, baton run refuses to start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { waitForLine } from '../../dist/testing/harness.js';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { deployDir, releaseOf, switchTo } from '../helpers/releases.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, servingPid, sleep, tmpDir, waitFor, within } from '../helpers/proc.mjs';
import { reloadEvents, request, selfSignedCertificate, testCertificate, writeTokenFile } from '../helpers/http.mjs';

const TOKEN = 'e2e-admin-token-4f0c2d9a8b7e6c5d4e3f';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const tokenFile = (t, text = `${TOKEN}\n`, mode) => writeTokenFile(t, text, mode);

/** The samples of /metrics by family name, parsed by a Prometheus text-format parser. */
async function metrics(port) {
  const r = await request(port, 'GET', '/metrics', { headers: AUTH });
  assert.equal(r.status, 200, r.body);
  return Object.fromEntries(parsePrometheus(r.body).map((f) => [f.name, f]));
}
const value = (families, name, labels = {}) => {
  const sample = families[name].metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return Number(sample.value);
};

test('baton run --admin: token, reload under load through the API, SSE phases, rollback reason, metrics', {
  timeout: 240_000,
}, async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1', 'v2'], broken: ['v3'] });
  const [port, adminPort] = [await freePort(), await freePort()];
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(
    ['-w', '2', '--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile(t), 'app.mjs'],
    { cwd: current, env: { PORT: String(port), PWD: current } },
  );
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  const first = await readyWorkers(master, 2);

  // Probes: no token; a status word only.
  const probe = async (p) => {
    const r = await request(adminPort, 'GET', p);
    return [r.status, r.body];
  };
  assert.deepEqual(await probe('/healthz'), [200, 'ok\n']);
  assert.deepEqual(await probe('/readyz'), [200, 'ready\n']);

  // No token, a wrong one, or GET on an action: refused, and nothing happens.
  for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
    for (const [method, p] of [
      ['POST', '/api/reload'],
      ['POST', '/api/stop'],
      ['GET', '/api/status'],
      ['GET', '/metrics'],
    ]) {
      const r = await request(adminPort, method, p, { headers });
      assert.equal(r.status, 401, `${method} ${p} ${JSON.stringify(headers)}: ${r.body}`);
    }
  }
  for (const p of ['/api/reload', '/api/stop']) {
    const r = await request(adminPort, 'GET', p, { headers: AUTH });
    assert.deepEqual([r.status, r.headers.allow], [405, 'POST'], p);
  }
  await sleep(300);
  let status = JSON.parse((await request(adminPort, 'GET', '/api/status', { headers: AUTH })).body);
  assert.equal(status.generation, 1, 'no reload happened');
  assert.deepEqual(
    status.workers.map((w) => w.pid).sort((a, b) => a - b),
    first,
    'the same workers serve',
  );
  assert.equal(status.reloads.length, 0);
  let m = await metrics(adminPort);
  assert.deepEqual([value(m, 'baton_reloads_total', { outcome: 'ok' }), value(m, 'baton_generation')], [0, 1]);

  // Reloads through the API under keep-alive and per-request load: no request fails.
  switchTo(dir, 'v2');
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 8 }),
  );
  const results = [];
  try {
    for (let i = 0; i < 3; i++) {
      await sleep(250);
      const r = await request(adminPort, 'POST', '/api/reload', { headers: AUTH });
      results.push([r.status, JSON.parse(r.body)]);
    }
    await sleep(250);
  } finally {
    for (const l of loads) await l.stop();
  }
  for (const [code, body] of results) assert.deepEqual([code, body.ok], [200, true], JSON.stringify(body));
  for (const [i, l] of loads.entries()) {
    assert.equal(l.stats.failed, 0, describeFailures(['keep-alive', 'per-request'][i], l.stats));
    assert.ok(l.stats.ok > 0);
  }
  assert.equal(await releaseOf(target), 'v2');

  // The phases stream as server-sent events, then the result.
  const sse = await reloadEvents(adminPort, AUTH);
  assert.equal(sse.status, 200);
  // Queued first when it comes within 1 s of the previous reload's start (reloads are at least that far apart).
  const names = sse.events.map((e) => (e.name === 'phase' ? e.data.phase : e.name));
  assert.deepEqual(names[0] === 'queued' ? names.slice(1) : names, ['spawned', 'ready', 'draining', 'done', 'result']);
  assert.deepEqual([sse.events.at(-1).data.ok, sse.events.at(-1).data.generation], [true, 5]);

  // A release that throws at start: rolled back, the reason in the answer, the old generation serving on.
  switchTo(dir, 'v3');
  const r = await request(adminPort, 'POST', '/api/reload', { headers: AUTH });
  const failed = JSON.parse(r.body);
  assert.equal(r.status, 500, r.body);
  assert.equal(failed.ok, false);
  assert.match(failed.reason, /exited before it was ready/);
  assert.match(`${failed.reason}\n${failed.stderrTail}`, /release v3 is broken/);
  assert.equal(await releaseOf(target), 'v2');

  m = await metrics(adminPort);
  assert.deepEqual(
    [value(m, 'baton_reloads_total', { outcome: 'ok' }), value(m, 'baton_reloads_total', { outcome: 'failed' })],
    [4, 1],
  );
  assert.equal(m.baton_reload_duration_seconds.metrics[0].count, '5');
  assert.equal(value(m, 'baton_generation'), 5);
  assert.equal(value(m, 'baton_workers', { state: 'ready' }), 2);
  assert.ok(value(m, 'process_open_fds') > 0 && value(m, 'process_resident_memory_bytes') > 1e6);
  status = JSON.parse((await request(adminPort, 'GET', '/api/status', { headers: AUTH })).body);
  assert.deepEqual(
    status.reloads.map((x) => x.ok),
    [true, true, true, true, false],
  );

  // Guessing the token: after 10 failures from one address, 429 for guesses; the right token is still served there.
  for (let i = 0; i < 10; i++) {
    assert.equal(
      (
        await request(adminPort, 'POST', '/api/stop', {
          headers: { authorization: `Bearer guess${i}` },
          localAddress: '127.0.0.2',
        })
      ).status,
      401,
    );
  }
  const locked = await request(adminPort, 'POST', '/api/stop', {
    headers: { authorization: 'Bearer guess' },
    localAddress: '127.0.0.2',
  });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers['retry-after']) >= 1);
  assert.equal(
    (await request(adminPort, 'GET', '/api/status', { headers: AUTH, localAddress: '127.0.0.2' })).status,
    200,
  );
  assert.deepEqual(await probe('/readyz'), [200, 'ready\n'], 'the master was not stopped');
});

test('baton run --admin: POST /api/stop → 202; readyz 503 and healthz 200 while it drains; exit 0', {
  timeout: 120_000,
}, async (t) => {
  const [port, adminPort] = [await freePort(), await freePort()];
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(
    ['--admin', String(adminPort), '--admin-token-file', tokenFile(t), 'test/fixtures/slow-request-app.mjs'],
    { cwd: root, env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'the app to serve' });
  await readyWorkers(master, 1);
  assert.equal((await request(adminPort, 'GET', '/readyz')).status, 200);

  // A request in flight keeps the drain going while the probes are asked.
  const arrived = new Promise((resolve) => {
    const onData = (d) => {
      if (String(d).includes('request arrived')) {
        master.child.stdout.off('data', onData);
        resolve();
      }
    };
    master.child.stdout.on('data', onData);
  });
  // Long enough for the probes below on a busy machine; the drain waits for it (--drain-timeout 30s).
  const slow = request(port, 'GET', '/?delay=10000');
  await within(arrived, 10_000, 'the slow request to arrive');
  const stopping = waitForLine(
    master,
    (l) => (l.pid === master.child.pid && l.text.startsWith('stopping')) || undefined,
    { what: 'the stop' },
  );
  const r = await request(adminPort, 'POST', '/api/stop', { headers: AUTH });
  assert.deepEqual([r.status, JSON.parse(r.body)], [202, { stopping: true }]);
  await stopping;
  const ready = await request(adminPort, 'GET', '/readyz');
  assert.deepEqual([ready.status, ready.body], [503, 'not ready\n']);
  assert.equal((await request(adminPort, 'GET', '/healthz')).status, 200, 'alive while it drains');
  assert.equal((await slow).status, 200, 'the request in flight was served');
  assert.deepEqual(await within(master.exited, 30_000, 'the master to exit'), { code: 0, signal: null });
});

test('baton run --admin-tls-cert/--admin-tls-key: HTTPS verified against the certificate; baton reload takes up a renewed one', {
  timeout: 120_000,
}, async (t) => {
  const dir = tmpDir('baton-admin-tls-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  fs.copyFileSync(testCertificate.cert, files.cert);
  fs.copyFileSync(testCertificate.key, files.key);
  const [port, adminPort] = [await freePort(), await freePort()];
  const master = startMaster(
    [
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--admin-token-file',
      tokenFile(t),
      '--admin-tls-cert',
      files.cert,
      '--admin-tls-key',
      files.key,
      'test/fixtures/release-app.mjs',
    ],
    { env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const before = await request(adminPort, 'GET', '/api/status', { headers: AUTH, ca: fs.readFileSync(files.cert) });
  assert.equal(before.status, 200);
  const renewed = selfSignedCertificate(dir);
  fs.renameSync(renewed.cert, files.cert);
  fs.renameSync(renewed.key, files.key);
  const readAgain = waitForLine(master, (l) => l.text.startsWith('admin: TLS certificate read again') || undefined, {
    what: 'the certificate read again',
  });
  assert.equal((await baton(['reload', '--control', master.control])).code, 0);
  await readAgain;
  const after = await request(adminPort, 'GET', '/healthz', { ca: fs.readFileSync(files.cert) });
  assert.equal(after.status, 200);
  assert.notEqual(after.cert.fingerprint256, before.cert.fingerprint256);
});

test('baton run --admin refuses off loopback without a token, and an open token file, in one line, exit 2', {
  timeout: 60_000,
}, async (t) => {
  const app = 'test/fixtures/release-app.mjs';
  let r = await baton(['run', '--admin', '0.0.0.0:9', app]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^baton: --admin 0\.0\.0\.0:9 is not a loopback address, and anyone reaching it could reload or stop this service: give --admin-token-file FILE/,
  );
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  const open = tokenFile(t, TOKEN, 0o644);
  r = await baton(['run', '--admin', '[::]:9', '--admin-token-file', open, app]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `baton: --admin-token-file: '${open}' is open to other users (mode 0644); make it private: chmod 600 '${open}'\n`,
  );
});
