// The benchmark harness (bench/run.mjs), run tiny: real processes, real load
// (wrk if it is installed, else autocannon; never installed from here), and
// the report files it writes. Asserts what the numbers must be, not speed.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { alive, root, tmpDir } from '../helpers/proc.mjs';

function runBench(args, env = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bench/run.mjs'), ...args],
      {
        cwd: root,
        env: { ...process.env, ...env },
        timeout: 300_000,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }),
    );
  });
}

function readResult(out) {
  const files = fs.readdirSync(path.join(out, 'results'));
  const json = files.find((f) => f.endsWith('.json'));
  const svg = files.find((f) => f.endsWith('.svg'));
  assert.ok(json, `a results/<date>.json in ${files.join(', ')}`);
  assert.ok(svg, `a results/<date>.svg in ${files.join(', ')}`);
  assert.match(
    fs.readFileSync(path.join(out, 'results', svg), 'utf8'),
    /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\n$/,
  );
  return JSON.parse(fs.readFileSync(path.join(out, 'results', json), 'utf8'));
}

function assertNothingLeft(result) {
  const pids = [...result.rows.flatMap((r) => r.pids ?? []), ...(result.soak?.pids ?? [])];
  assert.ok(pids.length > 0, 'the result lists the pids the bench started');
  const left = pids.filter(alive);
  assert.deepEqual(left, [], `processes still alive after the bench: ${left.join(', ')}`);
}

test('bench: a tiny run of bare node, naive restart, baton run -w 2 and PM2 cluster, with a soak; then a soak alone merged into it, then rows on the heavy app and a named node', {
  timeout: 900_000,
}, async (t) => {
  const out = tmpDir('baton-bench-test-');
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = await runBench([
    '--duration',
    '2',
    '--only',
    'bare,naive,baton-run-2,pm2-cluster',
    '--handlers',
    '0',
    '--soak',
    '3',
    '--ab-rounds',
    '1',
    '--out',
    out,
    '--no-install',
  ]);
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('['))) t.diagnostic(line);
  assert.equal(r.code, 0, `bench exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  const result = readResult(out);
  const wrkInstalled = spawnSync('sh', ['-c', 'command -v wrk']).status === 0;
  assert.match(
    result.machine.loadGenerator,
    wrkInstalled ? /^wrk / : /^autocannon /,
    'wrk when it is installed (CI installs it)',
  );

  const ids = result.rows.map((row) => row.id).sort();
  assert.deepEqual(ids, [
    'bare/0ms/steady/close',
    'bare/0ms/steady/keepalive',
    'baton-run-2/0ms/restart/close',
    'baton-run-2/0ms/restart/keepalive',
    'baton-run-2/0ms/steady/close',
    'baton-run-2/0ms/steady/keepalive',
    'naive/0ms/restart/close',
    'naive/0ms/restart/keepalive',
    'pm2-cluster/0ms/restart/close',
    'pm2-cluster/0ms/restart/keepalive',
    'pm2-cluster/0ms/steady/close',
    'pm2-cluster/0ms/steady/keepalive',
  ]);
  for (const row of result.rows) {
    assert.ok(row.requests > 0 && row.rps > 0, `${row.id}: requests served (${row.requests})`);
    assert.ok(row.probe.requests > 0, `${row.id}: the probe ran`);
    assert.ok(
      row.timeline.perSecond.some((s) => s.responses > 0),
      `${row.id}: a per-second timeline`,
    );
    if (row.scenario === 'restart') {
      assert.ok(row.restarts >= 1, `${row.id}: restarted under load`);
      assert.deepEqual(row.restartsFailed, [], `${row.id}: every restart succeeded`);
      assert.ok(row.reload.medianMs > 0, `${row.id}: a reload time`);
    }
  }
  for (const row of result.rows.filter((x) => x.group === 'baton-run-2' && x.scenario === 'restart')) {
    assert.equal(row.failed, 0, `${row.id}: failed ${JSON.stringify(row.errors)}`);
    assert.equal(row.refused, 0, `${row.id}: refused ${JSON.stringify(row.errors)}`);
    assert.equal(row.probe.failed + row.probe.refused, 0, `${row.id}: probe ${JSON.stringify(row.probe.failures)}`);
  }
  // The counters are not vacuous: killing the only process under load loses requests.
  const naive = result.rows.filter((x) => x.group === 'naive');
  assert.ok(
    naive.every((x) => x.failed + x.refused > 0),
    `naive restart loses requests: ${naive.map((x) => JSON.stringify(x.errors)).join(' ')}`,
  );

  for (const mode of ['keepalive', 'close']) {
    const ab = result.overhead.modes[mode];
    assert.ok(
      ab.bare.length === 1 && ab.baton.length === 1 && ab.bare[0] > 0 && ab.baton[0] > 0,
      `A/B ${mode}: ${JSON.stringify(ab)}`,
    );
    assert.equal(ab.ratio, ab.baton[0] / ab.bare[0]);
  }
  assert.equal(result.soak.reloadsOk, 3);
  for (const k of ['fds', 'rssKb', 'children']) {
    assert.ok(result.soak.start[k] > 0 && result.soak.end[k] > 0, `soak: master ${k} at start and end`);
  }
  for (const k of ['heapUsedBytes', 'heapTotalBytes']) {
    assert.ok(result.soak.start[k] > 0 && result.soak.end[k] > 0, `soak: master ${k} at start and end`);
  }
  assert.ok(
    result.soak.samples.some((x) => x.reloads === result.soak.heapReferenceAt),
    `soak: a sample at the heap's reference, ${result.soak.heapReferenceAt} reloads`,
  );
  assert.equal(result.soak.failed, 0, `soak: ${JSON.stringify(result.soak.outcomes)}`);
  assert.ok(result.appStart.medianMs > 0);
  assert.ok(result.machine.cpu && result.machine.node === process.version);

  const md = fs.readFileSync(path.join(out, 'RESULTS.md'), 'utf8');
  for (const s of [
    '## Headline',
    '## Targets',
    '## Machine',
    '## 1 worker against bare node, loaded at once',
    '## Soak',
    '## Exact commands',
    '| baton run -w 2, restart every 2 s |',
    '](results/',
    '| master heap used at the end of the soak within 2 MB of its value after a tenth of it (after a full GC) |',
  ]) {
    assert.ok(md.includes(s), `RESULTS.md has ${s}`);
  }
  assert.match(r.stdout, /req\/s\s+failed\s+refused/, 'the table is printed');
  // PM2's daemon is among the pids checked below: two instances, their
  // replacements after each reload, and the daemon.
  const pm2Pids = new Set(result.rows.filter((x) => x.group === 'pm2-cluster').flatMap((x) => x.pids));
  assert.ok(pm2Pids.size >= 3, `PM2's daemon and instances are tracked: ${[...pm2Pids].join(', ')}`);
  assertNothingLeft(result);

  // The soak alone, into that run's results: its rows kept, the soak replaced, RESULTS.md naming both runs.
  const base = fs.readdirSync(path.join(out, 'results')).find((f) => f.endsWith('.json'));
  const m = await runBench(['--only', 'soak', '--soak', '2', '--merge', path.join(out, 'results', base), '--out', out]);
  assert.equal(m.code, 0, `soak-only bench exited ${m.code}: ${m.stderr.slice(-2000)}${m.stdout.slice(-2000)}`);
  const mergedFile = fs
    .readdirSync(path.join(out, 'results'))
    .find((f) => f.startsWith(`${path.basename(base, '.json')}-soak-`) && f.endsWith('.json'));
  assert.ok(mergedFile, 'the merged results beside the earlier ones');
  const merged = JSON.parse(fs.readFileSync(path.join(out, 'results', mergedFile), 'utf8'));
  assert.deepEqual(merged.rows, result.rows);
  assert.deepEqual(merged.overhead, result.overhead);
  assert.equal(merged.soak.reloadsOk, 2);
  assert.equal(merged.settings.soakReloads, 2);
  assert.deepEqual(merged.soakRun.argv.slice(0, 4), ['--only', 'soak', '--soak', '2']);
  const mergedMd = fs.readFileSync(path.join(out, 'RESULTS.md'), 'utf8');
  assert.ok(
    mergedMd.includes('The soak is from a later run, `npm run bench -- --only soak --soak 2 --merge '),
    "RESULTS.md names the soak's run",
  );
  assert.ok(mergedMd.includes('| baton run -w 2, restart every 2 s |'), 'RESULTS.md keeps the rows');
  assert.ok(mergedMd.includes(`](results/${mergedFile})`), 'RESULTS.md links the merged results');
  assertNothingLeft(merged);
  const refused = await runBench(['--only', 'soak', '--out', out]);
  assert.notEqual(refused.code, 0, 'a soak alone without --merge is refused');

  // Rows of another run merged in: the heavy app's and baton run -w 1's keep-alive restart, on a node named with --node.
  const rowsRun = await runBench([
    '--duration',
    '2',
    '--only',
    'heavy-run-1,baton-run-1',
    '--handlers',
    '0',
    '--modes',
    'keepalive',
    '--scenarios',
    'restart',
    '--soak',
    '0',
    '--node',
    process.execPath,
    '--merge',
    path.join(out, 'results', mergedFile),
    '--out',
    out,
    '--no-install',
  ]);
  assert.equal(
    rowsRun.code,
    0,
    `rows bench exited ${rowsRun.code}: ${rowsRun.stderr.slice(-2000)}${rowsRun.stdout.slice(-2000)}`,
  );
  const plusFile = fs
    .readdirSync(path.join(out, 'results'))
    .find((f) => f.startsWith(`${path.basename(mergedFile, '.json')}-plus-`) && f.endsWith('.json'));
  assert.ok(plusFile, 'the results with the rows merged in, beside the earlier ones');
  const plus = JSON.parse(fs.readFileSync(path.join(out, 'results', plusFile), 'utf8'));
  const added = [
    `baton-run-1/0ms/restart/keepalive@node-${process.version}`,
    `heavy-run-1/0ms/restart/keepalive@node-${process.version}`,
  ];
  assert.deepEqual(
    plus.rows.map((row) => row.id),
    [...result.rows.map((row) => row.id), ...added],
  );
  assert.deepEqual(plus.soak, merged.soak, 'the soak kept');
  for (const row of plus.rows.slice(-2)) {
    assert.equal(row.node, process.version);
    assert.ok(row.restarts >= 1 && row.restartsFailed.length === 0, `${row.id}: restarted`);
    assert.equal(
      row.failed + row.refused + row.probe.failed + row.probe.refused,
      0,
      `${row.id}: ${JSON.stringify(row.errors)} ${JSON.stringify(row.probe.failures)}`,
    );
    assert.ok(
      row.reload.readyMs.length >= 1 && row.reload.afterReadyMs >= 0,
      `${row.id}: the new generation's start, as baton timed it: ${JSON.stringify(row.reload)}`,
    );
    assert.ok(
      row.reload.drainedAfterReadyMs >= 0 && row.reload.exitMs >= 0,
      `${row.id}: the old generation drained, then exited, as baton timed it: ${JSON.stringify(row.reload)}`,
    );
  }
  assert.equal(plus.rows.at(-1).app, 'heavy');
  const heavyStart = plus.heavyApp.starts[process.version];
  assert.ok(
    heavyStart.medianMs > 0 && plus.rows.at(-1).appStartMs === heavyStart.medianMs,
    "the heavy app's own start, against which its reloads count",
  );
  assert.deepEqual(
    plus.runs.map((x) => x.measured),
    [[...added, `the heavy app's start on ${process.version}`]],
  );
  const plusMd = fs.readFileSync(path.join(out, 'RESULTS.md'), 'utf8');
  for (const s of [
    'Merged in from a later run, `npm run bench -- --duration 2 --only heavy-run-1,baton-run-1',
    '## The heavy app',
    `| heavy app (NestJS), baton run -w 1 (Node ${process.version}), restart every 2 s |`,
  ]) {
    assert.ok(plusMd.includes(s), `RESULTS.md has ${s}`);
  }
  assertNothingLeft(plus);
});

test('bench: the autocannon fallback (BENCH_LOADGEN=autocannon)', { timeout: 360_000 }, async (t) => {
  const out = tmpDir('baton-bench-test-');
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = await runBench(
    ['--duration', '2', '--only', 'baton-run-2', '--handlers', '0', '--soak', '0', '--out', out],
    { BENCH_LOADGEN: 'autocannon' },
  );
  assert.equal(r.code, 0, `bench exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  const result = readResult(out);
  assert.match(result.machine.loadGenerator, /^autocannon /);
  assert.equal(result.rows.length, 4);
  for (const row of result.rows) {
    assert.equal(row.tool, 'autocannon');
    assert.ok(row.requests > 0, `${row.id}: requests served`);
    if (row.scenario === 'restart') {
      assert.ok(row.restarts >= 1);
      assert.equal(row.failed + row.refused, 0, `${row.id}: ${JSON.stringify(row.errors)}`);
    }
  }
  assert.equal(result.soak, null);
  assertNothingLeft(result);
});
