// The deploy layout `current -> releases/vN`: the app is started from
// `current` with a relative script path, the link is switched, and the next
// generation (standalone upgrade or supervisor reload) runs the new release.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { deployDir, releaseOf, switchTo } from '../helpers/releases.mjs';
import { baton, startMaster, stopMaster } from '../helpers/master.mjs';
import { cleanup, freePort, servingPid, startStandalone, upgrade, waitFor } from '../helpers/proc.mjs';

const cwdOf = (pid) => fs.readlinkSync(`/proc/${pid}/cwd`);

test('standalone: after the link switch, SIGUSR2 starts the new release (relative script, cwd through the link)', async (t) => {
  const { dir, current } = deployDir(t);
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  // A shell started in `current` exports PWD=<dir>/current; getcwd() says releases/v1.
  const app = startStandalone('app.mjs', { cwd: current, env: { PORT: String(port), PWD: current } });
  t.after(() => cleanup(app));
  const first = await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  assert.equal(await releaseOf(target), 'v1');

  switchTo(dir, 'v2');
  const second = await upgrade(app, first);
  assert.equal(await servingPid(target), second);
  assert.equal(await releaseOf(target), 'v2', 'the successor loaded the release the link now names');
  assert.equal(cwdOf(second), fs.realpathSync(path.join(dir, 'releases/v2')), 'and runs in its directory');

  switchTo(dir, 'v1');
  await upgrade(app, second);
  assert.equal(await releaseOf(target), 'v1', 'switching back works the same way');
});

test('baton run: after the link switch, baton reload starts the new release', async (t) => {
  const { dir, current } = deployDir(t);
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(['-w', '2', 'app.mjs'], { cwd: current, env: { PORT: String(port), PWD: current } });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  assert.equal(await releaseOf(target), 'v1');

  switchTo(dir, 'v2');
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 10; i++)
    assert.equal(await releaseOf(target), 'v2', 'every worker of the new generation runs v2');
  const pid = await servingPid(target);
  assert.equal(cwdOf(pid), fs.realpathSync(path.join(dir, 'releases/v2')));
});
