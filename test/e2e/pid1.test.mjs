// baton as PID 1, as in a container: each test runs in a PID namespace of its
// own (unshare --pid --fork), where the process started is PID 1. Its log
// shows pids as the namespace sees them, so cleanup here is by host pid only:
// unshare's own, and --kill-child takes the namespace down with it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { baton, childrenOf, cli } from '../helpers/master.mjs';
import {
  alive,
  examples,
  freePort,
  register,
  servingPid,
  sleep,
  tmpDir,
  tool,
  waitFor,
  zombies,
} from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const namespaces =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
const skip = !namespaces && 'needs root and unshare(1) for a PID namespace';

/** Starts `args` (after node) as PID 1 of a new PID namespace. */
function asPid1(t, args, env) {
  const child = spawn(tool('unshare'), ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, ...args], {
    env: { ...process.env, BATON_LOG_FORMAT: 'text', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = {
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    /** The host pid of the namespace's PID 1: unshare's only child. */
    init: () => waitFor(() => childrenOf(child.pid)[0], { what: 'PID 1 of the namespace' }),
  };
  child.stdout.on('data', (d) => (run.output += d));
  child.stderr.on('data', (d) => (run.output += d));
  t.after(async () => {
    if (alive(child.pid)) child.kill('SIGKILL');
    await run.exited;
  });
  return run;
}

test('baton run as PID 1: reloads under load, workers reaped, baton upgrade refused, SIGTERM from outside drains and exits 0', {
  skip,
}, async (t) => {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const dir = tmpDir('baton-pid1-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const control = path.join(dir, 'control.sock');
  const run = asPid1(t, [cli, 'run', '-w', '2', '--control', control, path.join(examples, 'http.mjs')], {
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const master = await run.init();
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  assert.match(run.output, /baton\[1\] .*running as PID 1: baton reaps its workers/);

  const loads = [
    startLoad({ target, mode: 'keepalive', concurrency: 8 }),
    startLoad({ target, mode: 'close', concurrency: 8 }),
  ];
  try {
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      const r = await baton(['reload', '--control', control]);
      assert.equal(r.code, 0, r.stderr);
    }
    await sleep(200);
  } finally {
    for (const l of loads) await l.stop();
  }
  for (const { stats } of loads) assert.equal(stats.failed, 0, describeFailures('load', stats));
  const upgrade = await baton(['upgrade', '--control', control]);
  assert.equal(upgrade.code, 2, upgrade.stdout + upgrade.stderr);
  assert.match(upgrade.stderr, /^baton is .*PID 1, whose pid cannot change: roll the container instead .*\n$/);
  const children = await waitFor(
    () => {
      const c = childrenOf(master);
      return c.length === 2 && c;
    },
    { what: 'the master to have its 2 workers and nothing else' },
  );
  assert.deepEqual(zombies(children), [], "no zombie among the master's children");

  process.kill(master, 'SIGTERM');
  const { code } = await run.exited;
  assert.equal(code, 0, run.output.slice(-2000));
  assert.match(run.output, /baton\[1\] .*info: stopped/);
});

test('standalone as PID 1: one line says to use baton run, and an upgrade signal is refused while it serves on', {
  skip,
}, async (t) => {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const run = asPid1(t, ['--import', register, path.join(examples, 'http.mjs')], {
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const pid = await run.init();
  await waitFor(() => servingPid(target), { what: 'the app to answer' });
  assert.match(run.output, /baton\[1\] .*running as PID 1: .*in containers use `baton run`/);

  process.kill(pid, 'SIGUSR2');
  await waitFor(() => /refusing a standalone upgrade as PID 1/.test(run.output), { what: 'the refusal in the log' });
  assert.equal(await servingPid(target), 1, 'the same process, PID 1 in its namespace, still serves');
  assert.doesNotMatch(run.output, /successor spawned/);

  process.kill(pid, 'SIGTERM');
  assert.equal((await run.exited).code, 0);
});
