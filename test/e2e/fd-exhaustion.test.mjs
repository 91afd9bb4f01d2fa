// A worker out of file descriptors: libuv closes the connections it cannot
// accept and Node says nothing, so baton does. Under `ulimit -n 64`, idle
// connections fill a worker's fds; at its next sample (every 5 s) it warns
// with the count and the limit; the master lives on, and once the connections
// close the worker serves again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { get } from '../helpers/load.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { alive, fdCount, freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

const LIMIT = 64;
const script = path.join(root, 'test/fixtures/slow-request-app.mjs');
const T = { timeout: 90_000, skip: process.platform !== 'linux' && 'the fds are counted in /proc' };
const LINE =
  /^file descriptors (nearly exhausted|exhausted): new connections are reset while none are free \(raise the limit with ulimit -n, or LimitNOFILE= under systemd\) open=(\d+) limit=(\d+)$/;

/** `baton run -w 1` under `ulimit -n LIMIT`, soft and hard, so that Node cannot raise it back at start-up. */
async function startUnderLimit(t) {
  const dir = tmpDir('baton-fd-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = path.join(dir, 'node');
  const execPath = `'${process.execPath.replaceAll("'", "'\\''")}'`;
  fs.writeFileSync(node, `#!/bin/sh\nulimit -n ${LIMIT} && exec ${execPath} "$@"\n`, { mode: 0o755 });
  const port = await freePort();
  const master = startMaster(['-w', '1', script], { node, env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  const [worker] = await readyWorkers(master, 1);
  const warning = waitForLine(master, (l) => (l.pid === worker && LINE.test(l.text) ? LINE.exec(l.text) : undefined), {
    timeoutMs: 30_000,
    what: "the worker's warning that its fds run out",
  });
  return { master, worker, port, warning };
}

/** `n` connections that never send a byte; `closedByServer` counts those closed before close() was called. */
function idleConnections(t, port, n) {
  const sockets = [];
  let closing = false;
  const held = {
    closedByServer: 0,
    close: () => {
      closing = true;
      sockets.forEach((s) => s.destroy());
    },
  };
  t.after(held.close);
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => {
      if (!closing) held.closedByServer++;
    });
    sockets.push(s);
  }
  return held;
}

test(
  `baton run under ulimit -n ${LIMIT}: a worker within 16 fds of its limit says so, with the count it has open`,
  T,
  async (t) => {
    const { worker, port, warning } = await startUnderLimit(t);
    // One short of near, then the one connection that makes it near: a sample sees the one count or the other.
    const near = LIMIT - 16;
    const held = [idleConnections(t, port, near - 1 - fdCount(worker))];
    await waitFor(() => fdCount(worker) === near - 1, { what: `the worker to hold ${near - 1} fds` });
    held.push(idleConnections(t, port, 1));
    const [line, state, open, limit] = await warning;
    t.diagnostic(line);
    assert.equal(state, 'nearly exhausted', line);
    assert.equal(Number(limit), LIMIT, line);
    assert.equal(Number(open), near, line);
    assert.equal(fdCount(worker), near, 'the count the worker gives is the one /proc shows');
    assert.deepEqual(
      held.map((h) => h.closedByServer),
      [0, 0],
      'every connection was accepted',
    );
  },
);

test(
  `baton run under ulimit -n ${LIMIT}: a worker out of fds says so with the count and the limit, and serves again once they are free`,
  T,
  async (t) => {
    const { master, worker, port, warning } = await startUnderLimit(t);
    // More connections than the worker has fds: those it cannot accept are closed unanswered.
    const held = idleConnections(t, port, LIMIT + 16);
    const [line, state, open, limit] = await warning;
    t.diagnostic(line);
    assert.equal(state, 'exhausted', line);
    assert.equal(Number(limit), LIMIT, line);
    assert.equal(Number(open), LIMIT, line);
    await waitFor(() => held.closedByServer > 0, { what: 'a connection the worker could not accept to be closed' });
    t.diagnostic(`${held.closedByServer} of ${LIMIT + 16} connections closed unanswered`);

    assert.ok(alive(master.child.pid), 'the master lives on');
    const s = await status(master);
    assert.deepEqual(
      s.workers.map((w) => [w.pid, w.state]),
      [[worker, 'ready']],
      'the same worker, still ready',
    );

    held.close();
    const body = await waitFor(async () => (await get({ protocol: 'http', host: '127.0.0.1', port })).body.trim(), {
      what: 'the worker to serve again',
    });
    assert.equal(body, String(worker));
  },
);
