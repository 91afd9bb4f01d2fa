// The admin API of a standalone process (`node --import batonjs/register` with
// BATON_ADMIN and BATON_ADMIN_TOKEN_FILE): three upgrades asked through POST
// /api/reload while clients poll /healthz on the admin port and load the app,
// and not one of their requests fails, since the admin socket passes to each
// successor with the app's; each answer names the new generation, and the
// status then names the pid that serves the app. A release that throws is
// rolled back: the answer says why, and the old process serves app and admin
// on. The status's record of upgrades and /metrics' counters pass from each
// process to the next. POST /api/stop stops it. Without the token, 401 and
// nothing happens.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { startLoad } from '../helpers/load.mjs';
import { deployDir, switchTo } from '../helpers/releases.mjs';
import { alive, cleanup, freePort, servingPid, startStandalone, waitFor, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';
import { reloadEvents, request, testCertificate, writeTokenFile } from '../helpers/http.mjs';

const TOKEN = 'e2e-standalone-admin-token-7c1e5b';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const status = async (adminPort) =>
  JSON.parse((await request(adminPort, 'GET', '/api/status', { headers: AUTH })).body);

test('standalone BATON_ADMIN: 3 upgrades through the API under load, the admin port never fails a request, a rollback says why', {
  timeout: 120_000,
}, async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1', 'v2'], broken: ['v3'] });
  const [port, adminPort] = [await freePort(), await freePort()];
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const app = startStandalone('app.mjs', {
    cwd: current,
    env: {
      PORT: String(port),
      PWD: current,
      BATON_ADMIN: `127.0.0.1:${adminPort}`,
      BATON_ADMIN_TOKEN_FILE: writeTokenFile(t, `${TOKEN}\n`),
      // A release that throws is decided by its exit: the timeout only bounds the test.
      BATON_READY_TIMEOUT: '60s',
      BATON_DRAIN_TIMEOUT: '5s',
    },
  });
  t.after(() => cleanup(app));
  let pid = await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  await waitFor(async () => (await request(adminPort, 'GET', '/readyz')).status === 200, {
    what: 'the admin API to say ready',
  });

  // No token: refused, and nothing happens.
  for (const [method, path] of [
    ['POST', '/api/reload'],
    ['POST', '/api/stop'],
    ['GET', '/api/status'],
    ['GET', '/metrics'],
  ]) {
    const r = await request(adminPort, method, path);
    assert.equal(r.status, 401, `${method} ${path}: ${r.body}`);
  }
  let s = await status(adminPort);
  assert.deepEqual(
    [s.generation, s.masterPid, s.workers.map((w) => [w.pid, w.state]), s.listeners],
    [1, pid, [[pid, 'ready']], [`tcp:127.0.0.1:${port}`]],
  );
  // Its own last beats, as a master keeps its workers': the page's sparklines.
  await waitFor(
    async () => {
      const { history } = (await status(adminPort)).workers[0];
      return ['rssBytes', 'loopDelayMs', 'connections', 'requests'].every((k) => history?.[k]?.length >= 2);
    },
    { what: 'two beats of each figure in the status' },
  );

  switchTo(dir, 'v2');
  /** @type {import('../../dist/testing/load.js').Target} */
  const admin = { protocol: 'http', host: '127.0.0.1', port: adminPort };
  const loads = [
    .../** @type {const} */ (['keepalive', 'close']).map((mode) => startLoad({ target, mode, concurrency: 4 })),
    .../** @type {const} */ (['keepalive', 'close']).map((mode) =>
      startLoad({ target: admin, path: '/healthz', mode, concurrency: 2, expect: 'ok' }),
    ),
  ];
  try {
    for (let generation = 2; generation <= 4; generation++) {
      const previous = pid;
      // The last one streams its phases: the pid it spawned is the one that serves next.
      const spawned = [];
      if (generation < 4) {
        const r = await request(adminPort, 'POST', '/api/reload', { headers: AUTH });
        assert.equal(r.status, 200, r.body);
        assert.deepEqual([JSON.parse(r.body).ok, JSON.parse(r.body).generation], [true, generation], r.body);
      } else {
        const sse = await reloadEvents(
          adminPort,
          AUTH,
          (e) => e.data.phase === 'spawned' && spawned.push(...e.data.pids),
        );
        assert.deepEqual(
          sse.events.map((e) => e.data.phase ?? e.name),
          ['spawned', 'ready', 'draining', 'done', 'result'],
        );
        assert.deepEqual([sse.events.at(-1).data.ok, sse.events.at(-1).data.generation], [true, generation]);
      }
      s = await status(adminPort);
      pid = await servingPid(target);
      assert.deepEqual([s.generation, s.workers[0].pid], [generation, pid], 'the successor answers the admin API');
      assert.notEqual(pid, previous);
      if (spawned.length) assert.deepEqual(spawned, [pid]);
    }
  } finally {
    for (const l of loads) await l.stop();
  }
  for (const [i, l] of loads.entries()) {
    const name = ['app keep-alive', 'app per-request', 'admin /healthz keep-alive', 'admin /healthz per-request'][i];
    assert.equal(l.stats.failed, 0, describeFailures(name, l.stats));
    assert.ok(l.stats.ok > 0, `${name}: no request was served`);
    t.diagnostic(`${name}: ${l.stats.ok} ok, ${l.stats.failed} failed`);
  }

  // A release that throws at start: rolled back, the reason in the answer; the old process serves app and admin.
  switchTo(dir, 'v3');
  const r = await request(adminPort, 'POST', '/api/reload', { headers: AUTH });
  const failed = JSON.parse(r.body);
  assert.equal(r.status, 500, r.body);
  assert.deepEqual([failed.ok, failed.generation], [false, 5]);
  assert.match(failed.reason, /successor pid \d+ exited before it was ready \(code 1\)/);
  assert.match(`${failed.reason}\n${failed.stderrTail}`, /release v3 is broken/);
  assert.equal(await servingPid(target), pid);
  assert.deepEqual(
    [(await request(adminPort, 'GET', '/readyz')).status, (await request(adminPort, 'GET', '/healthz')).status],
    [200, 200],
  );
  s = await status(adminPort);
  assert.deepEqual([s.generation, s.workers[0].pid], [4, pid]);
  assert.deepEqual(
    s.reloads.map((x) => [x.generation, x.ok]),
    [
      [2, true],
      [3, true],
      [4, true],
      [5, false],
    ],
    'each successor took over the record',
  );
  const metrics = await request(adminPort, 'GET', '/metrics', { headers: AUTH });
  const reloads = parsePrometheus(metrics.body).find((f) => f.name === 'baton_reloads_total').metrics;
  assert.deepEqual(
    reloads.map((m) => [m.labels.outcome, m.value]),
    [
      ['ok', '3'],
      ['failed', '1'],
    ],
    'the counters count on across upgrades',
  );

  const stopped = await request(adminPort, 'POST', '/api/stop', { headers: AUTH });
  assert.deepEqual([stopped.status, JSON.parse(stopped.body)], [202, { stopping: true }]);
  await waitFor(() => !alive(pid), { what: 'the process to stop' });
});

test('standalone BATON_ADMIN off loopback without a token: one line naming the variable, exit 1', {
  timeout: 60_000,
}, async (t) => {
  const { current } = deployDir(t, { good: ['v1'] });
  const app = startStandalone('app.mjs', {
    cwd: current,
    env: { PORT: String(await freePort()), BATON_ADMIN: '0.0.0.0:9' },
  });
  t.after(() => cleanup(app));
  assert.deepEqual(await within(app.exited, 30_000, 'the process to exit'), { code: 1, signal: null });
  const lines = app.output.trimEnd().split('\n');
  assert.equal(lines.length, 1, app.output);
  assert.match(
    lines[0],
    /error: BATON_ADMIN=0\.0\.0\.0:9 is not a loopback address, .*: give BATON_ADMIN_TOKEN_FILE=FILE/,
  );
});

test('standalone BATON_ADMIN_TLS_CERT/KEY: HTTPS verified against the certificate, before and after an upgrade through the API', {
  timeout: 60_000,
}, async (t) => {
  const { current } = deployDir(t, { good: ['v1'] });
  const [port, adminPort] = [await freePort(), await freePort()];
  const app = startStandalone('app.mjs', {
    cwd: current,
    env: {
      PORT: String(port),
      PWD: current,
      BATON_ADMIN: `127.0.0.1:${adminPort}`,
      BATON_ADMIN_TOKEN_FILE: writeTokenFile(t, `${TOKEN}\n`),
      BATON_ADMIN_TLS_CERT: testCertificate.cert,
      BATON_ADMIN_TLS_KEY: testCertificate.key,
    },
  });
  t.after(() => cleanup(app));
  const ca = fs.readFileSync(testCertificate.cert);
  await waitFor(
    async () =>
      (await request(adminPort, 'GET', '/readyz', { ca }).catch(() => /** @type {{ status?: number }} */ ({})))
        .status === 200,
    {
      what: 'the admin API to say ready over HTTPS',
    },
  );
  const r = await request(adminPort, 'POST', '/api/reload', { headers: AUTH, ca });
  assert.deepEqual([r.status, JSON.parse(r.body).ok, JSON.parse(r.body).generation], [200, true, 2], r.body);
  const s = await request(adminPort, 'GET', '/api/status', { headers: AUTH, ca });
  assert.deepEqual(
    [s.status, JSON.parse(s.body).generation, s.cert.subject.CN],
    [200, 2, 'localhost'],
    'the successor serves HTTPS with the certificate',
  );
});
