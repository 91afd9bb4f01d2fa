// A standalone app's own children are not baton processes: a helper it forks
// inherits the preload and BATON_*, yet neither takes the pid file nor binds
// BATON_ADMIN's address; the successor baton starts still acts as one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import {
  alive,
  cleanup,
  freePort,
  gone,
  linesOf,
  root,
  startStandalone,
  tmpDir,
  upgrade,
  waitFor,
} from '../helpers/proc.mjs';

const fixture = path.join(root, 'test/fixtures/forking-app.mjs');

test('a forked helper keeps out of the pid file and the admin address; an upgrade still hands over', async (t) => {
  const port = await freePort();
  const adminPort = await freePort();
  const pidFile = path.join(tmpDir(), 'app.pid');
  const app = startStandalone(fixture, {
    env: { PORT: String(port), BATON_ADMIN: `127.0.0.1:${adminPort}`, BATON_PID_FILE: pidFile },
  });
  const helpers = [];
  t.after(async () => {
    await cleanup(app);
    for (const pid of helpers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const info = async () => JSON.parse((await get({ protocol: 'http', host: '127.0.0.1', port })).body);
  const first = await waitFor(info, { what: 'the app to serve' });
  helpers.push(first.helper);
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${first.pid}\n`, 'the pid file names the app, not its helper');
  assert.equal((await get({ protocol: 'http', host: '127.0.0.1', port: adminPort }, '/healthz')).status, 200);

  const successor = await upgrade(app, first.pid);
  const second = await waitFor(
    async () => {
      const i = await info();
      return i.pid === successor ? i : undefined;
    },
    { what: 'the successor to serve' },
  );
  helpers.push(second.helper);
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${successor}\n`);
  await waitFor(() => gone(first.helper), { what: 'the first helper to end with its parent' });
  assert.ok(alive(second.helper), "the successor's helper serves on");
  for (const pid of helpers) assert.deepEqual(linesOf(app, pid, ''), [], `helper ${pid} wrote no baton line`);
});
