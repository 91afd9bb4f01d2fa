// Node's module compile cache in the workers of `baton run`: on by default
// where Node has one (22.1 and later), in a directory beside the control
// socket, written once the worker is ready (a reload's new generation starts
// from it, not only the generation after); off with --no-compile-cache; a
// NODE_COMPILE_CACHE of the user's is theirs; on Node 20 nothing is set.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

const app = path.join(root, 'test/fixtures/compile-cache-app.mjs');
const [major, minor] = process.versions.node.split('.').map(Number);
const nodeHasCache = major > 22 || (major === 22 && minor >= 1);

/** `baton run <args>` on the fixture; resolves once a worker is ready, to what it sees. */
async function start(t, args, env = {}) {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster([...args, app], { env: { PORT: String(port), ...env } });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const seen = () => waitFor(async () => JSON.parse((await get(target)).body), { what: 'the worker to answer' });
  return { master, seen };
}

test('baton run: the workers use a compile cache beside the control socket, written as each is ready', {
  timeout: 60_000,
}, async (t) => {
  const { master, seen } = await start(t, []);
  const first = await seen();
  if (!nodeHasCache) {
    assert.deepEqual(
      [first.env, first.dir],
      [null, null],
      `Node ${process.version} has no compile cache: nothing is set`,
    );
    return;
  }
  const dir = path.join(master.dir, 'control.compile-cache');
  assert.equal(first.env, dir);
  if (first.dir === null) return; // Node 22.1 to 22.7: the cache is on, but Node cannot say where, nor be told to write it
  assert.ok(first.dir.startsWith(`${dir}${path.sep}`), `${first.dir} in ${dir}`);
  assert.ok(
    fs.readdirSync(first.dir).length > 0,
    'the ready worker wrote its cache (Node writes it otherwise only at exit)',
  );
  assert.equal(fs.statSync(path.dirname(dir)).mode & 0o077, 0, 'in a directory only its owner can reach');

  assert.equal((await baton(['reload', '--control', master.control])).code, 0);
  const next = await waitFor(
    async () => {
      const s = await seen();
      return s.pid !== first.pid && s;
    },
    { what: 'the new generation to answer' },
  );
  assert.equal(next.dir, first.dir, 'the next generation uses the same cache');
});

test("baton run --no-compile-cache, and a NODE_COMPILE_CACHE of the user's: baton sets none", {
  timeout: 60_000,
}, async (t) => {
  const off = await start(t, ['--no-compile-cache']);
  assert.deepEqual([(await off.seen()).env, (await off.seen()).dir], [null, null]);

  const own = tmpDir('baton-own-cache-');
  t.after(() => fs.rmSync(own, { recursive: true, force: true }));
  const theirs = await start(t, [], { NODE_COMPILE_CACHE: own });
  const seen = await theirs.seen();
  assert.equal(seen.env, own);
  if (nodeHasCache && seen.dir !== null) assert.ok(seen.dir.startsWith(`${own}${path.sep}`), `${seen.dir} in ${own}`);
});
