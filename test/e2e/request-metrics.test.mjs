// Each worker counts its requests and sends them with its heartbeat: `baton
// status --json` and /metrics have them per generation, by status class, with
// a request its client gave up on counted as unanswered. Counts, never timings.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { cleanup, freePort, root, startStandalone, waitFor } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/status-app.mjs');
const TOKEN = 'e2e-request-metrics-7c1d9e0f2a3b4c5d6e7f';
const T = { timeout: 60_000 };
const EXPECTED = { '2xx': 6, '3xx': 0, '4xx': 0, '5xx': 3, unanswered: 1 };
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** GET /hang, given up on (the socket destroyed) once the app has said it holds it. */
async function abandoned(port, master) {
  const req = http.request({ host: '127.0.0.1', port, path: '/hang', agent: false });
  req.on('error', () => {});
  req.end();
  const before = (master.output.match(/^hang \d+$/gm) ?? []).length;
  await waitFor(() => (master.output.match(/^hang \d+$/gm) ?? []).length > before, { what: 'the app to hold /hang' });
  req.destroy();
}

test('baton run -w 2: requests counted by class per generation in status --json and /metrics', T, async (t) => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const master = startMaster(
    ['-w', '2', '--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile, script],
    { env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  const pids = await readyWorkers(master, 2);

  for (const p of [...Array(6).fill('/ok'), ...Array(3).fill('/fail')]) {
    const r = await request(port, 'GET', p);
    assert.equal(r.status, p === '/ok' ? 200 : 500);
  }
  await abandoned(port, master);

  // The counts come with the workers' next heartbeats.
  const s = await waitFor(
    async () => {
      const s = await status(master);
      const codes = s.requests?.find((g) => g.generation === 1)?.total.codes;
      return codes && Object.values(codes).reduce((n, c) => n + c, 0) === 10 && s;
    },
    { what: '10 requests counted in status' },
  );
  const gen = s.requests.find((g) => g.generation === 1);
  assert.deepEqual(gen.total.codes, EXPECTED, JSON.stringify(gen));
  assert.equal(gen.total.connections, 0);
  assert.equal(
    gen.total.buckets.reduce((n, c) => n + c, 0),
    9,
    'every answer in a latency bucket',
  );
  const byWorker = s.workers.filter((w) => pids.includes(w.pid)).map((w) => w.requests);
  for (const code of Object.keys(EXPECTED)) {
    assert.equal(
      byWorker.reduce((n, c) => n + (c?.[code] ?? 0), 0),
      EXPECTED[code],
      `workers' ${code}`,
    );
  }
  assert.equal(typeof gen.recent.perSecond, 'number');

  const text = await baton(['status', '--control', master.control]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^requests {4}generation 1: .*\/s, 5xx .* %, unanswered .* %, p50 .*, p99 .* \(last 10 s\)$/m,
  );

  const r = await request(adminPort, 'GET', '/metrics', { headers: AUTH });
  assert.equal(r.status, 200, r.body);
  const families = Object.fromEntries(parsePrometheus(r.body).map((f) => [f.name, f]));
  const requests = families.baton_http_requests_total.metrics.filter((m) => m.labels.generation === '1');
  assert.deepEqual(Object.fromEntries(requests.map((m) => [m.labels.code, Number(m.value)])), EXPECTED);
  // The parser drops a histogram's labels other than le: its samples are read from the text.
  assert.equal(families.baton_http_request_duration_seconds.type, 'HISTOGRAM');
  assert.match(r.body, /^baton_http_request_duration_seconds_bucket\{generation="1",le="\+Inf"\} 9$/m);
  assert.match(r.body, /^baton_http_request_duration_seconds_count\{generation="1"\} 9$/m);
  const restarts = families.baton_worker_slot_restarts.metrics.filter((m) => pids.includes(Number(m.labels.pid)));
  assert.deepEqual(
    restarts.map((m) => Number(m.value)),
    [0, 0],
  );
  const rss = families.baton_worker_resident_memory_bytes.metrics.map((m) => Number(m.labels.pid));
  assert.deepEqual(
    rss.filter((pid) => pids.includes(pid)).sort((a, b) => a - b),
    pids,
  );
});

test(
  "baton run --no-request-metrics: the workers count nothing: status lists no generation's requests",
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', '--no-request-metrics', script], { env: { PORT: String(port) } });
    t.after(() => stopMaster(master));
    await readyWorkers(master, 1);
    assert.equal((await request(port, 'GET', '/ok')).status, 200);
    const answered = Date.now();
    // A heartbeat after the answer: it would have carried the count.
    const s = await waitFor(
      async () => {
        const asked = Date.now();
        const s = await status(master);
        const age = s.workers[0]?.heartbeatAgeMs;
        return typeof age === 'number' && asked - age > answered && s;
      },
      { what: 'a heartbeat after the request' },
    );
    assert.deepEqual(s.requests, []);
    assert.equal(s.workers[0].requests, undefined);
  },
);

test('standalone with BATON_ADMIN: its own requests in /api/status and /metrics', T, async (t) => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const app = startStandalone(script, {
    env: {
      PORT: String(port),
      BATON_ADMIN: `127.0.0.1:${adminPort}`,
      BATON_ADMIN_TOKEN_FILE: writeTokenFile(t, `${TOKEN}\n`),
    },
  });
  t.after(() => cleanup(app));
  await waitFor(async () => (await request(adminPort, 'GET', '/readyz')).status === 200, { what: 'ready' });
  for (const p of ['/ok', '/ok', '/fail']) await request(port, 'GET', p);
  const gen = await waitFor(
    async () => {
      const s = JSON.parse((await request(adminPort, 'GET', '/api/status', { headers: AUTH })).body);
      const g = s.requests?.find((x) => x.generation === 1);
      return g?.total.codes['5xx'] === 1 && g;
    },
    { what: 'the requests in /api/status' },
  );
  assert.deepEqual(gen.total.codes, { '2xx': 2, '3xx': 0, '4xx': 0, '5xx': 1, unanswered: 0 });
  const r = await request(adminPort, 'GET', '/metrics', { headers: AUTH });
  assert.match(r.body, /^baton_http_requests_total\{generation="1",code="2xx"\} 2$/m);
});
