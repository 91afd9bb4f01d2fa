// A worker past --max-memory is replaced while it serves: a new worker first,
// then the old one drains, with no request failed, under keep-alive and
// per-request load; and a replacement that cannot start leaves the old worker
// serving until one can. A standalone process with BATON_MAX_MEMORY upgrades
// onto a new process of itself. (--max-age, one at a time, and never beside a
// reload: the Master's unit tests.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { startLoad } from '../helpers/load.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { alive, cleanup, freePort, root, startStandalone, tmpDir, waitFor } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/leaky-app.mjs');

/**
 * `baton run -w 2 --max-memory 200M` on the leaky app, one of whose workers leaks from its start, under keep-alive
 * and per-request load. `failing`: replacements cannot start until the test says.
 */
async function leakyMaster(t, { failing = false } = {}) {
  const { dir, env, port } = await leakyEnv(t);
  const master = startMaster(['-w', '2', '--max-memory', '200M', script], { env });
  t.after(() => stopMaster(master));
  const workers = await readyWorkers(master, 2);
  if (failing) fs.writeFileSync(env.FAIL_FILE, '');
  const claimed = fs.readdirSync(dir).find((f) => f.startsWith('leak.'));
  const leaker = Number(claimed?.slice('leak.'.length));
  assert.ok(workers.includes(leaker), `one of ${workers} leaks (${fs.readdirSync(dir)})`);
  return { master, leaker, allowStart: () => fs.rmSync(env.FAIL_FILE), ...underLoad(t, port) };
}

/** The leaky app's environment: the first process to start leaks. */
async function leakyEnv(t) {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const env = {
    PORT: String(port),
    LEAK_FILE: path.join(dir, 'leak'),
    LEAK_MAX_MB: '320',
    FAIL_FILE: path.join(dir, 'fail'),
  };
  fs.writeFileSync(env.LEAK_FILE, '');
  return { dir, env, port };
}

/** Keep-alive and per-request load on `port`; stopLoads() asserts that none failed. */
function underLoad(t, port) {
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 8 }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));
  const stopLoads = async () => {
    const [k, c] = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(k.failed + c.failed, 0, `failed: ${JSON.stringify({ keepalive: k.failures, close: c.failures })}`);
    assert.ok(k.ok > 0 && c.ok > 0);
  };
  return { stopLoads };
}

/** The log line that says `leaker` was replaced, and the pid that replaced it. */
async function replacement(master, leaker) {
  const line = await waitForLine(master, (l) =>
    l.text.startsWith(`replaced pid ${leaker} by pid `) ? l.text : undefined,
  );
  assert.match(line, /: rss \d+\.\d MiB > 200\.0 MiB for 3 heartbeats; draining worker pid \d+/);
  return Number(/by pid (\d+)/.exec(line)?.[1]);
}

test('baton run --max-memory 200M: a leaking worker is replaced under load, 0 failed', {
  timeout: 60_000,
}, async (t) => {
  const { master, leaker, stopLoads } = await leakyMaster(t);
  const fresh = await replacement(master, leaker);
  await waitFor(() => !alive(leaker), { what: 'the leaking worker to be gone' });
  await stopLoads();
  const s = await status(master);
  assert.ok(
    s.workers.some((w) => w.pid === fresh && w.state === 'ready'),
    JSON.stringify(s.workers),
  );
  assert.deepEqual(
    s.replacements?.map((r) => [r.pid, r.by, r.reason]),
    [[leaker, fresh, 'memory']],
  );
});

test('baton run --max-memory: a replacement that cannot start leaves the leaking worker serving, and is tried again', {
  timeout: 60_000,
}, async (t) => {
  const { master, leaker, stopLoads, allowStart } = await leakyMaster(t, { failing: true });
  await waitForLine(master, (l) =>
    l.text.startsWith(`could not replace worker pid ${leaker}:`) && l.text.includes('it serves on') ? l : undefined,
  );
  assert.ok(
    (await status(master)).workers.some((w) => w.pid === leaker && w.state === 'ready'),
    'the leaking worker serves on',
  );
  allowStart();
  await replacement(master, leaker);
  await waitFor(() => !alive(leaker), { what: 'the leaking worker to be gone' });
  await stopLoads();
});

test('standalone, BATON_MAX_MEMORY=200M: a leaking process upgrades onto a new one of itself under load, 0 failed', {
  timeout: 60_000,
}, async (t) => {
  const { env, port } = await leakyEnv(t);
  const app = startStandalone(script, { env: { ...env, BATON_MAX_MEMORY: '200M' } });
  t.after(() => cleanup(app));
  const handing = waitForLine(app, (l) => (l.text.startsWith('handing over') ? l : undefined), { timeoutMs: 30_000 });
  await waitFor(() => app.output.includes('listening, leaking'), { what: 'the app to listen' });
  const { stopLoads } = underLoad(t, port);
  const line = await handing;
  assert.match(
    app.output,
    /rss \d+\.\d MiB > 200\.0 MiB for 3 heartbeats \(BATON_MAX_MEMORY\): upgrading onto a new process/,
  );
  await waitFor(() => !alive(line.pid), { what: 'the leaking process to be gone' });
  await stopLoads();
});

test('baton run -w 2 --max-requests 300: workers replaced one at a time under load, each old one gone before the next starts, 0 failed', {
  timeout: 60_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', '--max-requests', '300', script], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  const { stopLoads } = underLoad(t, port);
  const replaced = () => master.output.match(/replaced pid \d+ by pid \d+: \d+ requests ≥ --max-requests 300/g) ?? [];
  await waitFor(() => replaced().length >= 4, { what: 'four replacements', timeoutMs: 30_000 });
  await stopLoads();
  // In the log's order: a replacement starts, then its old worker drains and exits, and only then the next one starts.
  const events = [...master.output.matchAll(/replacing worker pid (\d+)|baton\[(\d+)\][^\n]*drained, exiting/g)].map(
    (m) => (m[1] ? { start: Number(m[1]) } : { gone: Number(m[2]) }),
  );
  const starts = events.flatMap((e, i) => ('start' in e ? [i] : []));
  for (const [k, i] of starts.slice(0, -1).entries()) {
    const old = /** @type {{ start: number }} */ (events[i]).start;
    const goneAt = events.findIndex((e) => 'gone' in e && e.gone === old);
    assert.ok(goneAt > i && goneAt < starts[k + 1], `replacement ${k + 1} (pid ${old}) over before the next began`);
  }
});
