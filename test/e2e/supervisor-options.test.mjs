// The options of `baton run` beyond the defaults, each seen from outside:
// JSON logs beside the app's own untouched output, --wait-ready, --node-args,
// -w auto, --drain-timeout cutting off what outlives it, and --shutdown-delay.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { examples, freePort, gone, root, servingPid, sleep, waitFor } from '../helpers/proc.mjs';

const apiApp = path.join(root, 'test/fixtures/api-app.mjs');

async function start(t, args, env = {}) {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(args, { env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
  t.after(() => stopMaster(master));
  return { master, target };
}

test("--log-format json: every line of baton's is a JSON object with time, level, pid and generation; the app's output passes through", async (t) => {
  const { master, target } = await start(t, ['-w', '2', '--log-format', 'json', path.join(examples, 'http.mjs')]);
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  const [a, b] = await readyWorkers(master, 2);
  assert.equal((await baton(['reload', '--control', master.control])).code, 0);
  process.kill(master.child.pid, 'SIGTERM');
  assert.equal((await master.exited).code, 0);

  const lines = master.output.split('\n').filter(Boolean);
  const app = lines.filter((l) => l.startsWith('listening on '));
  assert.deepEqual(
    app.slice(0, 2).sort(),
    [a, b].map((pid) => `listening on 127.0.0.1:${target.port} pid ${pid}`).sort(),
    "the app's own lines, untouched",
  );
  const events = lines.filter((l) => !l.startsWith('listening on ')).map((l) => JSON.parse(l));
  assert.ok(events.length >= 8, `${events.length} events`);
  for (const e of events) {
    assert.ok(
      !Number.isNaN(Date.parse(e.time)) &&
        ['info', 'warn', 'error'].includes(e.level) &&
        e.pid > 0 &&
        e.gen >= 1 &&
        e.msg,
      JSON.stringify(e),
    );
  }
  const pids = new Set(events.map((e) => e.pid));
  assert.ok(pids.has(master.child.pid) && pids.has(a) && pids.has(b), 'the master and the workers both log as JSON');
  assert.ok(events.some((e) => e.msg === 'reload: done' && e.gen === 2));
});

test("--wait-ready: listening is not enough, only ready() or process.send('ready') is", async (t) => {
  const { master, target } = await start(t, ['--wait-ready', '--ready-timeout', '1s', apiApp], { READY_STYLE: 'pm2' });
  const first = await waitFor(async () => JSON.parse((await get(target)).body), { what: 'the app to answer' });
  await readyWorkers(master, 1);

  const late = await start(t, ['--wait-ready', apiApp], { READY_AFTER_MS: '60000' });
  await waitFor(async () => JSON.parse((await get(late.target)).body), { what: 'the never-ready app to listen' });
  await sleep(1000); // well past the 300 ms settle time that readiness without --wait-ready uses
  const s = await status(late.master);
  assert.deepEqual(
    s.workers.map((w) => w.state),
    ['starting'],
    'it listens, yet is not ready',
  );

  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stderr);
  const next = JSON.parse((await get(target)).body);
  assert.notEqual(next.pid, first.pid, "process.send('ready') made the new worker ready");
});

test("--node-args reach every worker's node; -w auto starts one worker per CPU", async (t) => {
  const { master, target } = await start(t, [
    '-w',
    'auto',
    '--node-args',
    '--max-old-space-size=96 --no-warnings',
    path.join(examples, 'http.mjs'),
  ]);
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  const workers = await readyWorkers(master, os.availableParallelism());
  for (const pid of workers) {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('--max-old-space-size=96') && argv.includes('--no-warnings'), argv.join(' '));
  }
});

test("--drain-timeout: an old worker's request that outlives it is cut off, and the worker exits", async (t) => {
  const { master, target } = await start(t, ['--drain-timeout', '500ms', path.join(examples, 'http.mjs')]);
  const old = await waitFor(() => servingPid(target), { what: 'the service to answer' });
  const slow = get(target, '/?delay=10000').then(
    () => 'answered',
    (err) => err.code ?? err.message,
  );
  await sleep(200);
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /draining generation 1 \(1 open connection\)/);
  assert.equal(await slow, 'ECONNRESET', 'the request still open at the drain timeout was cut off');
  await waitFor(() => gone(old), { what: `old worker ${old} to be reaped` });
  assert.notEqual(await servingPid(target), old);
});

test('--shutdown-delay: after baton stop the master serves on and baton status says so; a second baton stop drains at once', {
  timeout: 60_000,
}, async (t) => {
  const { master, target } = await start(t, ['-w', '2', '--shutdown-delay', '10m', path.join(examples, 'http.mjs')]);
  const workers = await readyWorkers(master, 2);
  const stop = () => baton(['stop', '--control', master.control]);
  assert.equal((await stop()).code, 0);
  const shown = await baton(['status', '--control', master.control]);
  assert.match(
    shown.stdout,
    /^stopping\s+not ready \(\/readyz 503\), serving on; draining in \d+m \d+s \(shutdown delay\)$/m,
    shown.stdout,
  );
  assert.ok(workers.includes(await servingPid(target)), 'the workers still serve');
  assert.equal((await stop()).code, 0);
  // A 10 minute delay not cut short would outlast the test's 60 s timeout.
  assert.deepEqual(await master.exited, { code: 0, signal: null });
  assert.match(master.output, /stop requested again: ending the shutdown delay, draining now/);
});
