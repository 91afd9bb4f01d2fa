// A closed log pipe does not end the app: `baton run … | head` — once the
// reader of the master's stdout (the workers' too) is gone, every write to it
// fails with EPIPE, which Node raises on process.stdout and, unheard, as an
// uncaught exception. The worker serves on, its output dropped, and is no
// crash for the master to restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { cli } from '../helpers/master.mjs';
import { alive, freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

test('baton run with its stdout read by a process that leaves (| head): the worker serves on, nothing crashes', {
  timeout: 30_000,
}, async (t) => {
  const port = await freePort();
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = [cli, 'run', '--control', path.join(dir, 'c.sock'), path.join(root, 'test/fixtures/chatty-app.mjs')];
  const master = spawn(process.execPath, args, {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => master.kill('SIGKILL'));
  let stderr = '';
  master.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  // The first line read, the reader leaves: the pipe's read end is closed.
  const first = await new Promise((resolve) => master.stdout.once('data', (d) => resolve(String(d))));
  master.stdout.destroy();
  const pid = Number(/tick (\d+)/.exec(first)?.[1]);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(async () => Number((await get(target, '/failed')).body) >= 10, {
    what: 'ten writes to have failed on the closed pipe',
  });
  assert.equal(Number((await get(target, '/')).body), pid, stderr);
  assert.ok(alive(pid), 'the worker that wrote into the closed pipe serves on');
  assert.doesNotMatch(stderr, /EPIPE|exited|restarting/, stderr);
});
