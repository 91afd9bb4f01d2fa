// Unmodified framework apps: Express under baton run, and Fastify on
// `localhost`, which it serves on every address the name resolves to — here
// 127.0.0.1 and ::1, each of which must pass to the next generation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import {
  cleanup,
  examples,
  freePort,
  gone,
  servingPid,
  sleep,
  startStandalone,
  tmpDir,
  upgrade,
  waitFor,
} from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const ROUNDS = 5;

/**
 * A `node` that runs in a mount namespace of its own whose /etc/hosts maps
 * localhost to both ::1 and 127.0.0.1 (this machine's maps it to 127.0.0.1
 * only), so Fastify really listens twice. Needs root and unshare(1).
 */
function nodeWithDualLocalhost(t) {
  const dir = tmpDir('baton-hosts-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost\n');
  const wrapper = path.join(dir, 'node');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nexec unshare --mount sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' '${hosts}' '${process.execPath}' "$@"\n`,
    { mode: 0o755 },
  );
  return wrapper;
}

const namespaces =
  process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('unshare', ['--mount', 'true']).status === 0;
const needsNamespaces = !namespaces && 'needs root and unshare(1) to give localhost two addresses';

/** Runs `step` ROUNDS times under keep-alive and per-request load on `targets`; asserts that no request failed. */
async function roundsUnderLoad(t, targets, step) {
  const loads = targets.flatMap((target) =>
    /** @type {const} */ (['keepalive', 'close']).map((mode) => ({
      target,
      mode,
      load: startLoad({ target, mode, concurrency: 8 }),
    })),
  );
  try {
    for (let i = 0; i < ROUNDS; i++) {
      await sleep(300);
      await step();
    }
    await sleep(300);
  } finally {
    for (const l of loads) await l.load.stop();
  }
  for (const {
    target,
    mode,
    load: { stats },
  } of loads) {
    t.diagnostic(`${target.host} ${mode}: ${stats.ok} ok, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, describeFailures(`${target.host} ${mode}`, stats));
    assert.ok(stats.ok > 0, `${target.host} ${mode} was served`);
  }
}

/** `baton reload`, which must succeed; returns the new generation's workers. */
async function reload(master) {
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stderr);
  return readyWorkers(master, 2);
}

/**
 * @param {number} port
 * @returns {import('../../dist/testing/load.js').TcpTarget[]}
 */
const dualTargets = (port) => [
  { protocol: 'http', host: '127.0.0.1', port },
  { protocol: 'http', host: '::1', port },
];

test('Express under baton run -w 2: reloads under load, 0 failed requests', async (t) => {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(['-w', '2', path.join(examples, 'express.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'the Express app to serve' });
  let workers = await readyWorkers(master, 2);
  await roundsUnderLoad(t, [target], async () => {
    const next = await reload(master);
    assert.ok(
      next.every((pid) => !workers.includes(pid)),
      `new workers: ${next} after ${workers}`,
    );
    workers = next;
  });
});

test('Fastify on localhost, standalone: 127.0.0.1 and ::1 both pass to each successor; 0 failed requests', {
  skip: needsNamespaces,
}, async (t) => {
  const port = await freePort();
  const targets = dualTargets(port);
  const app = startStandalone(path.join(examples, 'fastify.mjs'), {
    node: nodeWithDualLocalhost(t),
    env: { PORT: String(port) },
  });
  t.after(() => cleanup(app));
  let pid = await waitFor(() => servingPid(targets[1]), { what: 'Fastify to serve on ::1' });
  assert.equal(await servingPid(targets[0]), pid, 'and on 127.0.0.1');
  await roundsUnderLoad(t, targets, async () => {
    const old = pid;
    pid = await upgrade(app, old);
    for (const target of targets)
      assert.equal(await servingPid(target), pid, `${target.host} is served by the successor`);
    await waitFor(() => gone(old), { what: `old pid ${old} to be reaped` });
  });
  assert.doesNotMatch(app.output, /EADDRINUSE|closed inherited sockets/, 'no address was bound anew or left behind');
});

test('Fastify on localhost under baton run: the master holds both addresses and a reload keeps both', {
  skip: needsNamespaces,
}, async (t) => {
  const port = await freePort();
  const targets = dualTargets(port);
  const master = startMaster(['-w', '2', path.join(examples, 'fastify.mjs')], {
    node: nodeWithDualLocalhost(t),
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(targets[1]), { what: 'Fastify to serve on ::1' });
  await readyWorkers(master, 2);
  await roundsUnderLoad(t, targets, async () => {
    const workers = await reload(master);
    for (const target of targets)
      assert.ok(workers.includes(await servingPid(target)), `${target.host} is served by the new generation`);
  });
  assert.deepEqual((await status(master)).listeners.sort(), [`tcp:127.0.0.1:${port}`, `tcp:[::1]:${port}`]);
});
