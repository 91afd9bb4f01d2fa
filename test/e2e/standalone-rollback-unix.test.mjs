// A successor that fails to become ready is stopped, and it must leave the unix
// socket path to the process still serving on it: removing it would refuse
// every new client while the old process keeps running.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { alive, cleanup, examples, startStandalone, tmpDir, waitFor } from '../helpers/proc.mjs';

test('a successor rolled back (never ready) leaves the unix socket path in place; the old process serves on', async (t) => {
  const dir = tmpDir();
  const socketPath = path.join(dir, 'app.sock');
  // With BATON_WAIT_READY=1 an app that never calls ready() is never ready: every upgrade rolls back at the ready timeout.
  const app = startStandalone(path.join(examples, 'unix.mjs'), {
    env: { SOCKET: socketPath, BATON_WAIT_READY: '1', BATON_READY_TIMEOUT: '1s' },
  });
  t.after(async () => {
    await cleanup(app);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', socketPath };
  const pid = app.child.pid;
  await waitFor(async () => (await get(target)).body.trim() === String(pid), { what: 'the first process to serve' });

  const mark = app.output.length;
  process.kill(pid, 'SIGUSR2');
  await waitFor(() => /upgrade failed, still serving: .*was not ready within 1000 ms/.test(app.output.slice(mark)), {
    what: 'the rollback',
  });
  const successor = Number(/successor spawned successor=(\d+)/.exec(app.output.slice(mark))[1]);
  await waitFor(() => !alive(successor), { what: 'the failed successor to be gone' });

  assert.ok(fs.statSync(socketPath).isSocket(), 'the socket path is still there');
  const { status, body } = await get(target);
  assert.equal(status, 200);
  assert.equal(body.trim(), String(pid), 'the old process still serves new clients on the path');
});
