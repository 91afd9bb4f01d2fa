// Unmodified apps on frameworks from the registry, as a new user would write
// them: Koa 3, Hono (@hono/node-server) and NestJS (with enableShutdownHooks(),
// as its docs recommend), standalone and under baton run -w 2, each reloaded
// under keep-alive and connection-per-request load with 0 failed requests.
// Nest also listens for SIGUSR2, closes its app and re-raises the signal: one
// signal must still give exactly one upgrade, and the old process must drain
// and exit 0.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { startLoad } from '../helpers/load.mjs';
import {
  alive,
  cleanup,
  examples,
  freePort,
  linesOf,
  reloadUnderLoad,
  servingPid,
  sleep,
  startStandalone,
  tmpDir,
  upgrade,
  waitFor,
  within,
} from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const RELOADS = 3;
const T = { timeout: 180_000 };

/** RELOADS reloads under both loads: every request served, every reload exits 0. */
async function reloadsUnderLoad(t, app, port) {
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const r = await reloadUnderLoad({
    app,
    target,
    reloads: RELOADS,
    concurrency: 8,
    expect: 'pid',
    startTimeoutMs: 60_000,
    reloadTimeoutMs: 90_000,
  });
  for (const [mode, stats] of Object.entries(r.byMode)) {
    t.diagnostic(`${mode}: ${stats.ok} ok, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, describeFailures(mode, stats));
    assert.ok(stats.ok > 0, `${mode} was served`);
  }
  t.diagnostic(`reload exit codes: ${r.reloads.map((x) => x.code).join(' ')}`);
  assert.deepEqual(
    r.reloads.map((x) => x.code),
    Array(RELOADS).fill(0),
    r.reloads.map((x) => x.output).join('\n'),
  );
  return r;
}

for (const name of ['koa', 'hono', 'nest']) {
  const script = path.join(examples, `${name}.mjs`);
  const env = (port) => ({ PORT: String(port), HOST: '127.0.0.1' });

  test(
    `${name}, standalone: ${RELOADS} upgrades under load, one generation per signal, 0 failed requests`,
    T,
    async (t) => {
      const port = await freePort();
      const app = startStandalone(script, { env: env(port) });
      t.after(() => cleanup(app));
      const first = app.child.pid;
      const r = await reloadsUnderLoad(t, app, port);
      const pids = [first, ...r.reloads.map((x) => x.pid)];
      assert.equal(new Set(pids).size, RELOADS + 1, `a new process per upgrade: ${pids}`);
      assert.deepEqual(
        await within(app.exited, 30_000, 'the first process to exit'),
        { code: 0, signal: null },
        'it drained and exited 0',
      );

      // The observation ends on an event: the last process stopped and gone, so every line it would write is in.
      const last = app.serving;
      process.kill(last, 'SIGTERM');
      await waitFor(() => !alive(last), { timeoutMs: 30_000, what: `the last process (${last}) to stop` });
      const spawned = pids.map((pid) => linesOf(app, pid, 'successor spawned').length);
      t.diagnostic(`successors spawned per process: ${spawned.join(' ')}`);
      assert.deepEqual(
        spawned,
        [...Array(RELOADS).fill(1), 0],
        'exactly one successor per signal, none after the last',
      );
      for (const pid of pids.slice(0, -1))
        assert.equal(linesOf(app, pid, 'drained, exiting').length, 1, `pid ${pid} drained`);
      // Nest re-raises the signal once its app has closed during the drain (unless the process exited first): ignored.
      const ignored = pids.map((pid) => linesOf(app, pid, 'already handed over: ignoring').length);
      t.diagnostic(`re-raised signals ignored per process: ${ignored.join(' ')}`);
      assert.ok(
        ignored.every((n) => n <= (name === 'nest' ? 1 : 0)),
        `ignored: ${ignored}`,
      );
    },
  );

  test(
    `${name} under baton run -w 2: ${RELOADS} reloads under load, one generation each, 0 failed requests`,
    T,
    async (t) => {
      const port = await freePort();
      const master = startMaster(['-w', '2', script], { env: env(port) });
      t.after(() => stopMaster(master));
      await readyWorkers(master, 2, { timeoutMs: 60_000 });
      await reloadsUnderLoad(t, master, port);
      const s = await status(master);
      assert.equal(s.generation, 1 + RELOADS, 'one new generation per reload');
      assert.equal(s.workers.filter((w) => w.state === 'ready').length, 2);
    },
  );
}

test(
  'nest, standalone: an upgrade to a release that throws is rolled back and Nest, not told to shut down, serves on; 0 failed requests',
  T,
  async (t) => {
    const dir = tmpDir('baton-nest-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    // A link, as a deploy switches releases: Node runs the file it points at, whose imports resolve from examples/.
    const link = path.join(dir, 'app.mjs');
    const pointTo = (example) => {
      fs.rmSync(link, { force: true });
      fs.symlinkSync(path.join(examples, example), link);
    };
    pointTo('nest.mjs');
    const port = await freePort();
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    const app = startStandalone(link, { env: { PORT: String(port), HOST: '127.0.0.1' } });
    t.after(() => cleanup(app));
    const first = await waitFor(() => servingPid(target), { timeoutMs: 60_000, what: 'Nest to serve' });
    const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) => ({
      mode,
      load: startLoad({ target, mode, concurrency: 8 }),
    }));
    try {
      pointTo('broken-throws.mjs');
      await assert.rejects(
        upgrade(app, first, { timeoutMs: 60_000 }),
        /upgrade failed, still serving: .*release is broken/,
      );
      await sleep(300);
      assert.equal(await servingPid(target), first, 'the first process serves on');
      pointTo('nest.mjs');
      const second = await upgrade(app, first, { timeoutMs: 60_000 });
      assert.equal(await servingPid(target), second);
      await sleep(300);
    } finally {
      for (const { load } of loads) await load.stop();
    }
    for (const {
      mode,
      load: { stats },
    } of loads) {
      t.diagnostic(`${mode}: ${stats.ok} ok, ${stats.failed} failed`);
      assert.equal(stats.failed, 0, describeFailures(mode, stats));
    }
    assert.deepEqual(await within(app.exited, 30_000, 'the first process to exit'), { code: 0, signal: null });
    assert.equal(
      linesOf(app, first, 'successor spawned').length,
      2,
      'two signals, two successors: the broken one and the good one',
    );
  },
);
