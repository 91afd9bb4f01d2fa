// A release that passes readiness and crashes soon after: within the crash
// window the reload is reported as failed (exit 1, with the reason), the
// previous release's workers, never told to drain, serve on, and no worker is
// left running the crashing release.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { deployDir, releaseOf, switchTo } from '../helpers/releases.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { alive, freePort, servingPid, waitFor } from '../helpers/proc.mjs';

const CRASHES_LATER = `import http from 'node:http';
http.createServer((req, res) => res.end('v2\\n')).listen(Number(process.env.PORT), '127.0.0.1', () => {
  setTimeout(() => { throw new Error('v2 dies after it started'); }, 500);
});
`;

test('baton run: a new generation that crashes 500 ms after it is ready is rolled back to the previous release', {
  timeout: 60_000,
}, async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1'] });
  fs.mkdirSync(path.join(dir, 'releases', 'v2'));
  fs.writeFileSync(path.join(dir, 'releases', 'v2', 'app.mjs'), CRASHES_LATER);
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(['-w', '2', '--crash-window', '3s', 'app.mjs'], {
    cwd: current,
    env: { PORT: String(port), PWD: current },
  });
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'release v1 to serve' });
  const before = await readyWorkers(master, 2);

  switchTo(dir, 'v2');
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /generation 2 ready after/, r.stdout);
  assert.match(
    r.stdout + r.stderr,
    /rollback: generation 2 failed: worker pid \d+ exited \(code 1\) \d+ ms after it was ready \(crash window 3000 ms\)/,
  );
  assert.match(r.stderr, /^reload failed: /m);

  const s = await status(master);
  assert.equal(s.generation, 1, 'generation 1 serves on');
  assert.deepEqual(await readyWorkers(master, 2), before, 'in the same workers: they were never told to drain');
  for (let i = 0; i < 10; i++) assert.equal(await releaseOf(target), 'v1');
  const v2 = s.workers.filter((w) => w.generation === 2).map((w) => w.pid);
  await waitFor(() => v2.every((pid) => !alive(pid)), { what: 'generation 2 to be gone' });
  assert.deepEqual(
    s.reloads.map((h) => [h.generation, h.ok]),
    [[2, false]],
  );
  assert.match(s.reloads[0].reason, /after it was ready/);
});
