// The master over time: no leaks across 20 reloads, crashed workers replaced
// with back-off, no orphans when the master dies, and bad input refused clearly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { baton, childrenOf, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import {
  alive,
  examples,
  fdCount,
  freePort,
  refused,
  root,
  servingPid,
  sleep,
  tmpDir,
  waitFor,
} from '../helpers/proc.mjs';

async function service(t, script, extra = [], env = {}) {
  const port = await freePort();
  const master = startMaster([...extra, script], { env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
  t.after(() => stopMaster(master));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  return { master, target, port };
}

test("20 reloads: the master's fd count and child count stay as after the first", async (t) => {
  const { master } = await service(t, path.join(examples, 'http.mjs'), ['-w', '2']);
  const reload = async () => {
    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  };
  await reload();
  await readyWorkers(master, 2);
  await sleep(300);
  const fds = fdCount(master.child.pid);
  const children = childrenOf(master.child.pid).length;
  for (let i = 1; i < 20; i++) await reload();
  await readyWorkers(master, 2);
  await sleep(300);
  t.diagnostic(
    `master fds ${fds} -> ${fdCount(master.child.pid)}, children ${children} -> ${childrenOf(master.child.pid).length}`,
  );
  assert.equal(fdCount(master.child.pid), fds);
  assert.equal(childrenOf(master.child.pid).length, children);
  assert.equal(children, 2);
});

test('a worker killed with SIGKILL is replaced and the service keeps answering', async (t) => {
  const { master, target } = await service(t, path.join(examples, 'http.mjs'), ['-w', '2']);
  const [victim, other] = await readyWorkers(master, 2);
  process.kill(victim, 'SIGKILL');
  // servingPid throws on any error or non-200: the surviving worker answers while the victim is replaced.
  for (let i = 0; i < 20; i++) assert.ok((await servingPid(target)) > 0);
  const after = await waitFor(
    async () => {
      const pids = await readyWorkers(master, 2);
      return !pids.includes(victim) && pids;
    },
    { what: 'a replacement worker' },
  );
  assert.ok(after.includes(other));
  assert.equal(alive(victim), false);
  assert.match(
    master.output,
    new RegExp(`worker pid ${victim} exited \\(SIGKILL\\); restarting it in \\d+ ms .*worker=${victim}`),
  );
});

test('a crash-looping release backs off instead of spinning', async (t) => {
  const { master } = await service(t, path.join(root, 'test/fixtures/crash-loop.mjs'));
  const delaysSoFar = () => [...master.output.matchAll(/restarting it in (\d+) ms/g)].map((m) => Number(m[1]));
  await waitFor(() => delaysSoFar().length >= 4, { timeoutMs: 60_000, what: 'four restarts of the crashing worker' });
  const delays = delaysSoFar().slice(0, 4);
  t.diagnostic(`restart delays: ${delays.join(', ')}`);
  assert.deepEqual(delays, [100, 200, 400, 800], 'each crash in a row doubles the delay');
  assert.match(master.output, /crashesInARow=3/);
  assert.equal((await status(master)).masterPid, master.child.pid, 'the master stays up');
});

test('master killed with SIGKILL: every worker exits', async (t) => {
  const { master } = await service(t, path.join(examples, 'http.mjs'), ['-w', '2']);
  const workers = await readyWorkers(master, 2);
  process.kill(master.child.pid, 'SIGKILL');
  const killedAt = Date.now();
  await waitFor(() => workers.every((p) => !alive(p)), {
    timeoutMs: 30_000,
    intervalMs: 20,
    what: 'orphaned workers to exit',
  });
  t.diagnostic(`workers gone ${Date.now() - killedAt} ms after the master's SIGKILL`);
});

test('SIGTERM to the master drains the workers and exits 0', async (t) => {
  const { master } = await service(t, path.join(examples, 'http.mjs'), ['-w', '2']);
  const workers = await readyWorkers(master, 2);
  process.kill(master.child.pid, 'SIGTERM');
  assert.deepEqual(await master.exited, { code: 0, signal: null });
  assert.ok(workers.every((p) => !alive(p)));
  assert.equal(fs.existsSync(master.control), false, 'the control socket is removed');
});

test('a stop: once the workers have stopped accepting, a new connection is refused, not queued to be reset at the exit', async (t) => {
  const { master, port } = await service(t, path.join(root, 'test/fixtures/slow-request-app.mjs'), [
    '-w',
    '1',
    '--drain-timeout',
    '60s',
  ]);
  const [worker] = await readyWorkers(master, 1);
  // A request in flight for longer than the test keeps the worker draining (and the master up) throughout.
  const inFlight = http.get({ host: '127.0.0.1', port, path: '/?delay=50000', agent: false });
  inFlight.on('error', () => {}); // cut by the cleanup
  await waitFor(() => master.output.includes(`request arrived pid ${worker} delay 50000`), {
    what: 'the request to be in flight',
  });
  process.kill(master.child.pid, 'SIGTERM');
  await waitFor(() => new RegExp(`baton\\[${worker}\\].*draining reason=stop`).test(master.output), {
    what: 'the worker to stop accepting',
  });
  assert.equal(await refused(port), true, 'a connection after the workers stopped accepting is refused');
  assert.ok(
    alive(master.child.pid) && alive(worker),
    'the master and worker are still there, draining the request in flight',
  );
});

test('bad input: a one-line error naming the problem and a non-zero exit', async (t) => {
  const app = path.join(examples, 'http.mjs');
  const cases = [
    { args: ['run'], says: /script/ },
    { args: ['run', 'no-such-app.js'], says: /no-such-app\.js/ },
    { args: ['run', '-w', '0', app], says: /-w|--workers/ },
    { args: ['run', '-w', 'abc', app], says: /abc/ },
    { args: ['run', '--frobnicate', app], says: /--frobnicate/ },
    { args: ['run', '--control', '/proc/baton-test/control.sock', app], says: /control/ },
    { args: ['frobnicate'], says: /frobnicate/ },
  ];
  for (const c of cases) {
    const r = await baton(c.args, { timeoutMs: 10_000 });
    assert.notEqual(r.code, 0, `non-zero exit for ${c.args.join(' ')}`);
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line for ${c.args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], c.says);
  }

  const port = await freePort();
  const holder = net.createServer().listen(port, '127.0.0.1');
  t.after(() => holder.close());
  await new Promise((r) => holder.once('listening', r));
  const taken = startMaster(['--listen', `127.0.0.1:${port}`, app]);
  t.after(() => stopMaster(taken));
  const { code } = await taken.exited;
  assert.notEqual(code, 0);
  assert.match(taken.output, new RegExp(`--listen 127\\.0\\.0\\.1:${port}: EADDRINUSE`));

  const inUse = startMaster([app], { env: { PORT: String(port), HOST: '127.0.0.1' } });
  t.after(() => stopMaster(inUse));
  assert.equal((await inUse.exited).code, 1);
  assert.match(inUse.output, /the app failed to start: .*EADDRINUSE/);
});

test('baton reload with no master running: exit 2 and a one-line message', async () => {
  const r = await baton(['reload', '--control', path.join(tmpDir(), 'nobody.sock')]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /no baton master is running/);
});

test('baton reload to a frozen master gives up in one line, exit 2, after 10 s; the reload it left is not run when the master resumes', {
  timeout: 60_000,
}, async (t) => {
  const { master } = await service(t, path.join(examples, 'http.mjs'));
  const pid = master.child.pid;
  process.kill(pid, 'SIGSTOP');
  let r;
  try {
    r = await baton(['reload', '--control', master.control]);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^the master at \S+ did not answer within 10s \(is it stopped or frozen\?\); the reload will not run when it resumes\n$/,
  );
  await waitFor(() => master.output.includes('reload not run: its client left before it started'), {
    what: 'the master to drop the reload',
  });
  assert.equal((await status(master)).generation, 1);
});

test('-w 64 on a few CPUs warns; SIGINT while the workers start stops cleanly, every worker drained', {
  timeout: 60_000,
}, async (t) => {
  const workers = 64;
  const port = await freePort();
  const master = startMaster(['-w', String(workers), '--drain-timeout', '5s', path.join(examples, 'http.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => stopMaster(master));
  const pid = master.child.pid;
  await waitFor(() => childrenOf(pid).length > 0, { intervalMs: 5, what: 'the first worker to be spawned' });
  process.kill(pid, 'SIGINT');
  const exit = await master.exited;
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, master.output);
  assert.match(master.output, /info: stopping: draining all workers/);
  assert.match(master.output, /info: stopped cut=0/);
  if (workers > 4 * os.availableParallelism()) {
    assert.match(master.output, /warn: -w 64 is more than 4 workers per CPU \(\d+ CPUs?\): they compete for the CPUs/);
  }
});
