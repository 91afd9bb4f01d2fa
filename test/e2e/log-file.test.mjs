// baton run --log-file PATH: the master's lines and its workers' stdout and
// stderr, each line with its time, pid and generation, appended to PATH;
// SIGUSR1 reopens it, as logrotate's postrotate asks, and the renamed file
// grows no more. Under load, a move and SIGUSR1 lose and double no line; after
// logrotate's copytruncate the file (opened for append) goes on from its start.
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

test('logrotate under load: a move and SIGUSR1 lose and double no line; after copytruncate the file goes on from 0', {
  timeout: 90_000,
}, async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [file, moved, copied, stop] = ['baton.log', 'baton.log.1', 'baton.log.2', 'STOP'].map((f) => path.join(dir, f));
  const master = startMaster(['-w', '2', '--log-file', file, path.join(root, 'test/fixtures/numbered-app.mjs')], {
    env: { PORT: String(await freePort()), STOP_FILE: stop },
  });
  t.after(() => stopMaster(master));
  const workers = await readyWorkers(master, 2);
  const read = (f) => fs.readFileSync(f, 'utf8');
  /** Each worker's numbers in `text`. */
  const numbers = (text) =>
    workers.map((pid) =>
      [...text.matchAll(new RegExp(`stdout\\[${pid}\\] gen=1 n ${pid} (\\d+)$`, 'gm'))].map((m) => Number(m[1])),
    );
  const each = (f, n) => () => numbers(read(f)).every((ns) => ns.length >= n);

  // Moved while both write, as logrotate's default does, then SIGUSR1 (its postrotate).
  await waitFor(each(file, 1000), { what: '1000 lines of each worker' });
  fs.renameSync(file, moved);
  process.kill(/** @type {number} */ (master.child.pid), 'SIGUSR1');
  await waitFor(() => fs.existsSync(file) && each(file, 1000)(), { what: '1000 more lines of each in the new file' });
  fs.writeFileSync(stop, '');
  const done = workers.map((pid) => new RegExp(`gen=1 done ${pid} (\\d+)$`, 'm'));
  await waitFor(() => done.every((re) => re.test(read(file))), { what: 'both workers done' });
  const [before, after] = [numbers(read(moved)), numbers(read(file))];
  workers.forEach((pid, w) => {
    const last = Number(done[w].exec(read(file))?.[1]);
    const all = [...before[w], ...after[w]].sort((a, b) => a - b);
    assert.ok(before[w].length > 0 && after[w].length > 0, `worker ${pid} wrote on through the move`);
    assert.deepEqual(
      all,
      Array.from({ length: last + 1 }, (_, i) => i),
      `worker ${pid}: each of 0..${last} once`,
    );
  });

  // copytruncate: copied, then cut to 0 in place; the master's next lines begin at 0, with no hole of NULs.
  fs.copyFileSync(file, copied);
  fs.truncateSync(file, 0);
  assert.equal((await baton(['reload', '--control', master.control])).code, 0);
  await waitFor(() => read(file).includes('info: reload: done'), { what: "the reload's lines" });
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.indexOf(0), -1, 'no NUL byte');
  assert.match(
    bytes.toString('utf8'),
    /^\d{4}-\d\d-\d\dT[\d:.]+Z (baton|stdout|stderr)\[\d+\] gen=\d /,
    'from offset 0 on',
  );
});
