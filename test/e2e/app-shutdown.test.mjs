// The app's own shutdown code runs when baton drains it, as it would under
// Kubernetes: its SIGTERM listeners run once as the drain starts, for a
// reload as for a stop; its server.close() waits for baton's drain, without
// an error; an exit in its listener with requests in flight is said.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { get, startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { alive, cleanup, freePort, root, startStandalone, waitFor, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';
import { startSink } from '../helpers/sink.mjs';

const fixture = (name) => path.join(root, 'test/fixtures', name);
const T = { timeout: 60_000 };

test(
  'baton run -w 2: an app that counts hits in memory and flushes them on SIGTERM loses none over 3 reloads and a stop',
  T,
  async (t) => {
    const sink = await startSink();
    t.after(() => sink.close());
    const port = await freePort();
    const master = startMaster(['-w', '2', fixture('hits-app.mjs')], {
      env: { PORT: String(port), SINK_PORT: String(sink.port) },
    });
    t.after(() => stopMaster(master));
    await readyWorkers(master, 2);
    const load = startLoad({ target: { protocol: 'http', host: '127.0.0.1', port }, concurrency: 8 });
    for (let i = 0; i < 3; i++) {
      const r = await baton(['reload', '--control', master.control]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    assert.ok(load.stats.ok > 0);
    assert.equal(load.stats.failed, 0, describeFailures('load through the reloads', load.stats));
    const stopped = await baton(['stop', '--control', master.control]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await within(master.exited, 20_000, 'the master to exit');
    const stats = await load.stop();
    // 2 workers, then 2 more per reload: each flushes once, as it goes.
    await waitFor(() => sink.flushes.length === 8, { what: '8 flushes' });
    // At the stop, what is refused (or reset in the listen queue as the last copy of the socket closes) was never accepted, nor counted.
    assert.equal(sink.total(), stats.ok, `the app counted ${sink.total()} hits; clients got ${stats.ok} answers`);
    assert.doesNotMatch(master.output, /ERR_SERVER_NOT_RUNNING/);
  },
);

test(
  "standalone, Next.js's own SIGTERM handler (server.close(), its error printed, then exit): no error, and the request in flight is answered first",
  T,
  async (t) => {
    const port = await freePort();
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    const app = startStandalone(fixture('next-shutdown-app.mjs'), { env: { PORT: String(port) } });
    t.after(() => cleanup(app));
    await waitFor(
      () =>
        get(target).then(
          (r) => r.status === 200,
          () => false,
        ),
      { what: 'the app to serve' },
    );
    const slow = get(target, '/slow?ms=1500');
    await waitFor(() => app.output.includes('request arrived'), { what: 'the request to arrive' });
    app.child.kill('SIGTERM');
    const r = await slow;
    assert.equal(r.status, 200);
    assert.deepEqual(await within(app.exited, 20_000, 'the app to exit'), { code: 0, signal: null });
    assert.doesNotMatch(app.output, /ERR_SERVER_NOT_RUNNING|Server is not running|\n\s+at /, app.output);
  },
);

test(
  'baton run: an app that exits in its SIGTERM listener with a request in flight: one warning with the count',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', fixture('exit-on-sigterm-app.mjs')], { env: { PORT: String(port) } });
    t.after(() => stopMaster(master));
    const [old] = await readyWorkers(master, 1);
    const slow = get({ protocol: 'http', host: '127.0.0.1', port }, '/?ms=20000', 30_000).catch((err) => err);
    await waitFor(() => master.output.includes('request arrived'), { what: 'the request to arrive' });
    const warned = waitForLine(master, (l) => (l.pid === old && l.level === 'warn' ? l.text : undefined));
    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await warned, 'the app exited during the drain with 1 request in flight: lost, as without baton');
    await slow;
  },
);

test('baton run --drain-timeout 60s: a SIGTERM listener that begins no shutdown of its own runs once, and the old worker is not kept for it', {
  timeout: 30_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '1', '--drain-timeout', '60s', fixture('sigterm-logger-app.mjs')], {
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  const [old] = await readyWorkers(master, 1);
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitFor(() => !alive(old), { what: 'the old worker to exit' });
  assert.equal(master.output.split(`pid ${old} heard SIGTERM`).length - 1, 1, master.output);
});
