// `baton run --releases DIR`: a reload names a release, a direct
// subdirectory of DIR, and `DIR/current` follows the release in service. A
// real master with 2 workers and its admin listener: a reload to v2 under load
// fails no request and moves `current`; a release that throws at start is
// rolled back through the API with its reason, and `current` stays; names
// that reach out of DIR are refused before anything starts; `baton releases`
// and GET /api/releases agree; a DIR without a usable `current` is refused at
// start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeFailures } from '../helpers/scenario.mjs';
import { startLoad } from '../helpers/load.mjs';
import { releaseOf, releasesDir } from '../helpers/releases.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, sleep, tmpDir } from '../helpers/proc.mjs';
import { request } from '../helpers/http.mjs';
const cwdOf = (pid) => fs.readlinkSync(`/proc/${pid}/cwd`);

test('baton run --releases: reload --release under load, a rollback through the API, names out of DIR refused', {
  timeout: 120_000,
}, async (t) => {
  const dir = releasesDir(t, { good: ['v1', 'v2'], broken: ['broken'] });
  const outside = tmpDir('baton-outside-');
  t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
  fs.symlinkSync(outside, path.join(dir, 'escape'));
  const [port, adminPort] = [await freePort(), await freePort()];
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const master = startMaster(['-w', '2', '--admin', `127.0.0.1:${adminPort}`, '--releases', dir, 'app.mjs'], {
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  assert.equal(await releaseOf(target), 'v1', 'started on what current points to');
  assert.equal((await status(master)).release, 'v1');

  // A named release under keep-alive and per-request load: no request fails.
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 8 }),
  );
  let r;
  try {
    await sleep(250);
    r = await baton(['reload', '--release', 'v2', '--control', master.control]);
    await sleep(250);
  } finally {
    for (const l of loads) await l.stop();
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^spawned generation 2 \(release v2\) on node v[\d.]+: pids \d+, \d+$/m);
  for (const [i, l] of loads.entries()) {
    assert.equal(l.stats.failed, 0, describeFailures(['keep-alive', 'per-request'][i], l.stats));
    assert.ok(l.stats.ok > 0);
  }
  const serving = await readyWorkers(master, 2);
  for (let i = 0; i < 6; i++) assert.equal(await releaseOf(target), 'v2', 'every new worker runs v2');
  for (const pid of serving) assert.equal(cwdOf(pid), fs.realpathSync(path.join(dir, 'v2')), 'from its directory');
  assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'v2', 'current follows the release in service');
  let s = await status(master);
  assert.deepEqual([s.generation, s.release], [2, 'v2']);
  assert.match((await baton(['status', '--control', master.control])).stdout, /^release +v2$/m);

  // A release that throws at start, through the API: rolled back with its reason; v2 serves on, current stays.
  r = await request(adminPort, 'POST', '/api/reload', {
    headers: { 'content-type': 'application/json' },
    body: '{"release":"broken"}',
  });
  const failed = JSON.parse(r.body);
  assert.deepEqual([r.status, failed.ok], [500, false], r.body);
  assert.match(failed.reason, /exited before it was ready/);
  assert.match(`${failed.reason}\n${failed.stderrTail}`, /release broken is broken/);
  assert.equal(await releaseOf(target), 'v2');
  assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'v2', 'a rollback leaves current as it was');
  s = await status(master);
  assert.deepEqual([s.generation, s.release], [2, 'v2']);

  // Names that reach out of DIR, or name nothing: 400 / exit 2, and nothing is started.
  const before = s.reloads.length;
  for (const name of ['..', 'a/b', 'escape', '/etc', 'current', 'v9']) {
    r = await request(adminPort, 'POST', '/api/reload', { body: JSON.stringify({ release: name }) });
    assert.equal(r.status, 400, `${name}: ${r.body}`);
    assert.match(JSON.parse(r.body).error, /^release .* give the name of a directory in /);
    if (!['..', 'escape'].includes(name)) continue; // each CLI call is a node process: two make the point
    const cli = await baton(['reload', '--release', name, '--control', master.control]);
    assert.equal(cli.code, 2, `${name}: ${cli.stderr}`);
    assert.equal(cli.stderr.trim(), JSON.parse(r.body).error, 'the same one line');
  }
  s = await status(master);
  assert.deepEqual([s.generation, s.reloads.length], [2, before], 'no reload was started');
  assert.deepEqual(
    s.workers.map((w) => w.pid).sort((a, b) => a - b),
    serving,
    'the same workers serve',
  );

  // The list: the same through the control socket and the API; `current` itself and links out of DIR are no release.
  const listed = await baton(['releases', '--json', '--control', master.control]);
  assert.equal(listed.code, 0, listed.stderr);
  r = await request(adminPort, 'GET', '/api/releases');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(listed.stdout), JSON.parse(r.body));
  assert.deepEqual(JSON.parse(r.body), {
    dir,
    current: 'v2',
    serving: 'v2',
    releases: [
      { name: 'broken', current: false, serving: false },
      { name: 'v1', current: false, serving: false },
      { name: 'v2', current: true, serving: true },
    ],
  });
  assert.deepEqual((await baton(['releases', '--control', master.control])).stdout.split('\n'), [
    'broken',
    'v1',
    'v2      current, serving',
    '',
  ]);

  // A plain reload runs what current points to now.
  fs.rmSync(path.join(dir, 'current'));
  fs.symlinkSync('v1', path.join(dir, 'current'));
  r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await releaseOf(target), 'v1');
  assert.equal((await status(master)).release, 'v1');
});

// Without --releases a release cannot be named: test/unit/master.test.mjs, control.test.mjs and admin.test.mjs.
test('a --releases DIR whose current link is missing or leads out of DIR is refused at start, in one line', {
  timeout: 30_000,
}, async (t) => {
  const dir = releasesDir(t);
  fs.rmSync(path.join(dir, 'current'));
  let r = await baton(['run', '--releases', dir, 'app.mjs']);
  assert.deepEqual(
    [r.code, r.stderr],
    [2, `baton: --releases ${dir}: ${dir}/current is missing; point it at a release: ln -sfn v1 ${dir}/current\n`],
  );
  const outside = tmpDir('baton-outside-');
  t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
  fs.symlinkSync(outside, path.join(dir, 'current'));
  r = await baton(['run', '--releases', dir, 'app.mjs']);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `baton: --releases ${dir}: ${dir}/current points to ${outside}, which is not in ${dir}; point it at a release: ln -sfn v1 ${dir}/current\n`,
  );
});
