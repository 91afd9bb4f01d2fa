// A reload no longer waits behind the previous generation's drain: the next
// one starts as soon as the serving generation is in service, `baton status`
// shows each draining generation with its open connections, and past
// --max-draining the oldest draining generation is ended (its connections cut
// and counted in its reload's result).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { baton, cli, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, root, waitFor, within } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/raw-hold-app.mjs');
const T = { timeout: 90_000 };

/** A connection the app greeted with its pid, and whether it has closed. */
function connect(t, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const c = { socket, closed: false };
    t.after(() => socket.destroy());
    socket.once('close', () => (c.closed = true));
    socket.once('error', reject);
    socket.once('data', (d) => resolve(Object.assign(c, { pid: Number(String(d).trim()) })));
  });
}

/** `baton reload` in the background: its output so far, and its exit code once it ends. */
function reloadInBackground(t, master) {
  const child = spawn(process.execPath, [cli, 'reload', '--control', master.control], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.exitCode === null && child.kill());
  const r = { out: '', code: new Promise((resolve) => child.once('close', resolve)) };
  child.stdout.on('data', (d) => (r.out += d));
  child.stderr.on('data', (d) => (r.out += d));
  return r;
}

test(
  'baton run: a second reload while the first generation drains is not held up by it; status shows the draining generation',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', '--drain-timeout', '60s', '--crash-window', '0', script], {
      env: { PORT: String(port) },
    });
    t.after(() => stopMaster(master));
    const [first] = await readyWorkers(master, 1);
    const held = [await connect(t, port), await connect(t, port)];
    assert.deepEqual(
      held.map((c) => c.pid),
      [first, first],
    );

    const slow = reloadInBackground(t, master);
    await waitFor(() => /draining generation 1 \(2 open connections\)/.test(slow.out), {
      what: 'the first reload to drain generation 1',
      timeoutMs: 20_000,
    });
    const hotfix = await baton(['reload', '--control', master.control]);
    assert.equal(hotfix.code, 0, hotfix.stdout + hotfix.stderr);
    assert.match(hotfix.stdout, /done: generation 3 serving/);
    assert.deepEqual(
      held.map((c) => c.closed),
      [false, false],
      'generation 1 still drains its connections',
    );
    assert.equal(
      await Promise.race([slow.code, 'running']),
      'running',
      'the first reload reports once generation 1 is gone',
    );

    const s = await waitFor(
      async () => {
        const now = await status(master);
        const old = now.workers.find((w) => w.generation === 1);
        return old?.state === 'draining' && old.connections === 2 && now;
      },
      { what: 'status to show generation 1 draining with 2 connections' },
    );
    assert.equal(s.generation, 3);
    const text = await baton(['status', '--control', master.control]);
    assert.match(text.stdout, /^draining\s+generation 1 \(2 open connections\)$/m, text.stdout);

    held.forEach((c) => c.socket.destroy());
    assert.equal(await within(slow.code, 20_000, 'the first reload to end'), 0, slow.out);
    assert.match(slow.out, /done: generation 2 serving/, slow.out);
  },
);

test(
  'baton run --max-draining 1: a reload past the cap ends the oldest draining generation; its reload counts the cut',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(
      ['-w', '1', '--drain-timeout', '60s', '--crash-window', '0', '--max-draining', '1', script],
      {
        env: { PORT: String(port) },
      },
    );
    t.after(() => stopMaster(master));
    const [first] = await readyWorkers(master, 1);
    const oldest = [await connect(t, port), await connect(t, port)];
    assert.deepEqual(
      oldest.map((c) => c.pid),
      [first, first],
    );
    const firstReload = reloadInBackground(t, master);
    await waitFor(() => /draining generation 1/.test(firstReload.out), {
      what: 'generation 1 to drain',
      timeoutMs: 20_000,
    });
    const [second] = await readyWorkers(master, 1);
    const newer = await connect(t, port);
    assert.equal(newer.pid, second);

    const secondReload = reloadInBackground(t, master);
    assert.equal(await within(firstReload.code, 20_000, 'the first reload to end'), 0, firstReload.out);
    assert.match(firstReload.out, /^2 connections cut at the drain timeout$/m, firstReload.out);
    await waitFor(() => oldest.every((c) => c.closed), { what: "generation 1's connections to be cut" });
    assert.match(
      master.output,
      /warn: more than 1 generations draining: ending generation 1's drain now/,
      master.output,
    );
    assert.equal(newer.closed, false, 'generation 2 drains on, with its full drain time');
    const s = await status(master);
    assert.deepEqual(s.workers.map((w) => [w.generation, w.state]).sort(), [
      [2, 'draining'],
      [3, 'ready'],
    ]);
    newer.socket.destroy();
    assert.equal(await within(secondReload.code, 20_000, 'the second reload to end'), 0, secondReload.out);
    assert.doesNotMatch(secondReload.out, /cut/, secondReload.out);
  },
);
