// Next.js from the registry, as users run it: `next build`, then `next start`
// under baton. Its own SIGTERM handler calls server.close(), prints what that
// throws, and exits: under baton that printed ERR_SERVER_NOT_RUNNING with its
// stack at every stop, and exited before the requests in flight were
// answered. Now its handler runs as any drain starts, server.close() waits for
// baton's drain, and a stop or a reload prints no error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get, startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { cleanup, freePort, root, startStandalone, waitFor } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const T = { timeout: 180_000 };
const app = path.join(root, 'test/fixtures/next-app');
const next = path.join(root, 'node_modules/next/dist/bin/next');
const env = { NEXT_TELEMETRY_DISABLED: '1' };

/** `next build` once for the file; the build is left out of git (.gitignore). */
function build(t) {
  const r = spawnSync(process.execPath, [next, 'build'], {
    cwd: app,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  t.after(() => {
    for (const made of ['.next', 'cache', 'next-env.d.ts'])
      fs.rmSync(path.join(app, made), { recursive: true, force: true });
  });
}

/** No error Next.js printed, and no stack of one. */
function assertQuiet(output) {
  assert.doesNotMatch(output, /ERR_SERVER_NOT_RUNNING|Error \[|\n\s+at /, output.slice(-3000));
}

test('next start under baton run -w 2: a reload under load fails nothing, and a stop prints no error', T, async (t) => {
  build(t);
  const port = await freePort();
  const master = startMaster(['-w', '2', next, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: app,
    env: { ...env, PWD: app },
  });
  t.after(() => stopMaster(master));
  const before = await readyWorkers(master, 2, { timeoutMs: 60_000 });
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const expect = (status, body) => status === 200 && body.includes('served by');
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 4, expect }),
  );
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitFor(async () => (await readyWorkers(master, 2)).every((pid) => !before.includes(pid)), {
    what: 'the new workers alone',
  });
  for (const load of loads) {
    const s = await load.stop();
    assert.equal(s.failed, 0, describeFailures('next', s));
    assert.ok(s.ok > 0);
  }
  const stop = await baton(['stop', '--control', master.control]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const exit = await master.exited;
  assert.equal(exit.code, 0);
  assertQuiet(master.output);
});

test(
  'next start standalone: SIGTERM with a request in flight answers it, and Next exits as it does alone, printing no error',
  T,
  async (t) => {
    build(t);
    const port = await freePort();
    const proc = startStandalone(next, {
      cwd: app,
      args: ['start', '-p', String(port), '-H', '127.0.0.1'],
      env: { ...env, PWD: app },
    });
    t.after(() => cleanup(proc));
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    await waitFor(async () => (await get(target)).status === 200, { timeoutMs: 60_000, what: 'next start to answer' });
    const slow = get(target, '/slow');
    await waitFor(() => proc.output.includes('slow request begun'), { what: 'the slow request to begin' });
    process.kill(proc.child.pid, 'SIGTERM');
    assert.deepEqual(await slow, { status: 200, body: 'slow request done' }, 'the request in flight is answered');
    const exit = await proc.exited;
    assert.equal(
      exit.code,
      143,
      `Next's own SIGTERM exit (128 + 15), once baton's drain has ended: ${proc.output.slice(-2000)}`,
    );
    assertQuiet(proc.output);
  },
);
