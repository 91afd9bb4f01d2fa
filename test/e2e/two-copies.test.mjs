// A worker can load two copies of baton: `baton run` preloads the master's,
// and the app imports its own from its release's node_modules. The app's
// ready() and onShutdown() must reach the runtime the preload installed, or
// --wait-ready never sees ready and the hooks never run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

const APP = `import http from 'node:http';
import { onShutdown, ready } from 'batonjs';
onShutdown(() => console.log('hook ran in ' + process.pid));
http.createServer((req, res) => res.end(process.pid + '\\n')).listen(Number(process.env.PORT), '127.0.0.1', () => ready());
`;

test("baton run --wait-ready with the app's own copy of baton: its ready() and onShutdown() reach the preloaded runtime", {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir('baton-two-copies-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'node_modules', 'batonjs');
  fs.cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  fs.writeFileSync(path.join(dir, 'app.mjs'), APP);

  const port = await freePort();
  const master = startMaster(['-w', '1', '--wait-ready', '--crash-window', '0', path.join(dir, 'app.mjs')], {
    cwd: dir,
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  const [first] = await readyWorkers(master, 1, { timeoutMs: 20_000 });

  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitFor(() => master.output.includes(`hook ran in ${first}`), { what: "the old worker's hook to run" });
});
