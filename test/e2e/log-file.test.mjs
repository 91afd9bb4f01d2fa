// baton run --log-file PATH: the master's lines and its workers' stdout and
// stderr, each line with its time, pid and generation, appended to PATH;
// SIGUSR1 reopens it, as logrotate's postrotate asks, and the renamed file
// grows no more.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

test('baton run --log-file: master and workers line by line, by pid and generation; SIGUSR1 reopens it', {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'baton.log');
  const port = await freePort();
  const master = startMaster(['--log-file', file, path.join(root, 'test/fixtures/chatty-app.mjs')], {
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  const [worker] = await readyWorkers(master, 1);
  const mpid = /** @type {number} */ (master.child.pid);
  const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  await waitFor(() => read(file).includes(`stdout[${worker}] gen=1 tick ${worker}`), { what: "the worker's output" });
  assert.match(read(file), new RegExp(`baton\\[${mpid}\\] gen=1 info: started workers=1`), "the master's own lines");

  // logrotate: the file renamed, then SIGUSR1; the new file takes every line from then on.
  const rotated = `${file}.1`;
  fs.renameSync(file, rotated);
  process.kill(mpid, 'SIGUSR1');
  await waitFor(() => read(file).includes('info: log file reopened'), { what: 'the file reopened' });
  const left = read(rotated).length;
  assert.equal((await baton(['reload', '--control', master.control])).code, 0);
  await waitFor(() => /stdout\[\d+\] gen=2 tick/.test(read(file)), { what: "the new generation's output" });
  await waitFor(() => read(file).includes(`stderr[${worker}] gen=1`), {
    what: "the old worker's stderr (its own drain lines)",
  });
  assert.equal(read(rotated).length, left, 'the renamed file grows no more');
});
