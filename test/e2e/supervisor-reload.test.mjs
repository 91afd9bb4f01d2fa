// `baton run` with 2 workers under load: reloads with zero failed requests,
// rollback of broken releases, and a burst of reload signals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { examples, freePort, servingPid, sleep, tmpDir, waitFor } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

async function startService(t, { extra = [], env = {} } = {}) {
  const dir = tmpDir();
  fs.copyFileSync(path.join(examples, 'http.mjs'), path.join(dir, 'app.mjs'));
  const port = await freePort();
  const master = startMaster(['-w', '2', ...extra, path.join(dir, 'app.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1', ...env },
  });
  t.after(() => stopMaster(master));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  const pids = await readyWorkers(master, 2);
  return { dir, master, target, pids };
}

function loads(target) {
  return [
    startLoad({ target, mode: 'keepalive', concurrency: 16 }),
    startLoad({ target, mode: 'close', concurrency: 16 }),
  ];
}

async function stopLoads(running) {
  for (const l of running) await l.stop();
  const [k, c] = running.map((l) => l.stats);
  assert.equal(k.failed, 0, describeFailures('keep-alive', k));
  assert.equal(c.failed, 0, describeFailures('per-request', c));
  assert.ok(k.ok > 0 && c.ok > 0);
  return [k, c];
}

test('2 workers under load: 10 reloads, each exits 0 with new pids, 0 failed requests', async (t) => {
  const { master, target, pids: first } = await startService(t);
  const running = loads(target);
  const seen = new Set(first);
  const times = [];
  try {
    let before = first;
    for (let i = 0; i < 10; i++) {
      await sleep(200);
      const r = await baton(['reload', '--control', master.control]);
      assert.equal(r.code, 0, `reload ${i + 1} exits 0: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /spawned generation \d+/);
      assert.match(r.stdout, /draining generation \d+ \(\d+ open connections?\)/);
      times.push(Number(/reload took (\d+) ms/.exec(r.stdout)?.[1]));
      const after = await readyWorkers(master, 2);
      for (const pid of after)
        assert.ok(!before.includes(pid) && !seen.has(pid), `worker pid ${pid} is new after reload ${i + 1}`);
      after.forEach((p) => seen.add(p));
      before = after;
    }
    await sleep(200);
  } finally {
    const [k, c] = await stopLoads(running);
    t.diagnostic(
      `keep-alive ${k.ok} ok / ${k.failed} failed; per-request ${c.ok} ok / ${c.failed} failed; reload times (ms): ${times.join(' ')}`,
    );
  }
});

// A release that throws or exits is decided by its exit, so its ready timeout is long: a busy machine
// must not turn the exit into a timeout. Only the release that is never ready waits out a short one,
// and under that timeout no good release is reloaded afterwards: on a busy machine its start could
// take longer than 1.5 s, and a rollback of it would be the machine's doing, not baton's.
const ROLLBACKS = [
  {
    name: 'a release that throws or exits',
    readyTimeout: '60s',
    cases: [
      {
        example: 'broken-throws.mjs',
        says: /exited before it was ready \(code 1\): Error: release is broken: missing config/,
      },
      {
        example: 'broken-exits.mjs',
        says: /exited before it was ready \(code 3\)/,
        tail: /\| cannot connect to database/,
      },
    ],
  },
  {
    name: 'a release that is never ready',
    readyTimeout: '1500ms',
    goodAfter: false,
    cases: [{ example: 'never-ready.mjs', says: /was not ready within 1500 ms/ }],
  },
];

for (const { name, readyTimeout, cases, goodAfter = true } of ROLLBACKS) {
  test(`rollback: ${name}; old workers keep serving${goodAfter ? '; then a good release reloads' : ''}`, async (t) => {
    const { dir, master, target, pids } = await startService(t, {
      extra: ['--ready-timeout', readyTimeout, '--drain-timeout', '2s'],
    });
    const running = loads(target);
    try {
      for (const c of cases) {
        fs.copyFileSync(path.join(examples, c.example), path.join(dir, 'app.mjs'));
        const r = await baton(['reload', '--control', master.control]);
        assert.equal(r.code, 1, `reload of ${c.example} exits 1: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout + r.stderr, c.says);
        if (c.tail) assert.match(r.stdout + r.stderr, c.tail);
        assert.deepEqual(await readyWorkers(master, 2), pids, `the old workers still serve after ${c.example}`);
        assert.ok(pids.includes(await servingPid(target)));
      }
      if (goodAfter) {
        fs.copyFileSync(path.join(examples, 'http.mjs'), path.join(dir, 'app.mjs'));
        const good = await baton(['reload', '--control', master.control]);
        assert.equal(good.code, 0, good.stdout + good.stderr);
      }
      const s = await status(master);
      assert.deepEqual(
        s.reloads.map((r) => r.ok),
        [...cases.map(() => false), ...(goodAfter ? [true] : [])],
      );
    } finally {
      await stopLoads(running);
    }
  });
}

test('a burst of 20 reload signals in a second: the master stays healthy, at most 2 generations start, 0 failed', async (t) => {
  const { master, target } = await startService(t);
  const { generation: before } = await status(master);
  const running = loads(target);
  try {
    // Within a second, as the rule goes (a request within 1 s of a reload's start joins the next one):
    // a burst that ran longer could rightly start a third generation. The gaps block this thread
    // rather than wait on its event loop, which the load clients keep busy.
    const gap = new Int32Array(new SharedArrayBuffer(4));
    const first = Date.now();
    for (let i = 0; i < 20; i++) {
      process.kill(master.child.pid, i % 2 ? 'SIGHUP' : 'SIGUSR2');
      Atomics.wait(gap, 0, 0, 20);
    }
    const span = Date.now() - first;
    assert.ok(span < 1000, `the burst took ${span} ms`);
    const started = () => master.output.match(/reload: spawned/g)?.length ?? 0;
    await waitFor(async () => started() >= 1 && (await status(master)).reloads.length === started(), {
      timeoutMs: 20_000,
      what: 'every reload that started to finish',
    });
    await sleep(1000);
    const s = await status(master);
    const spawned = started();
    assert.ok(spawned >= 1 && spawned <= 2, `${spawned} generations started`);
    assert.ok(s.generation > before && s.generation <= before + 2, `generation ${before} -> ${s.generation}`);
    assert.equal((await readyWorkers(master, 2)).length, 2);
  } finally {
    await stopLoads(running);
  }
});
