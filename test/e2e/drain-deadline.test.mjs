// One deadline for the drain and the shutdown hooks. The drain timeout (3 s)
// is set when the drain begins; a request in flight takes 2 s of it, so the
// app's hook, which wants 3 s, is told about 1 s is left and is cut off at the
// deadline: the old process exits by itself then, not 3 s after its hook began
// (which under `baton run` would be past the master's kill). And a duration
// longer than Node's timers can hold is refused up front, with one line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import {
  cleanup,
  freePort,
  gone,
  register,
  root,
  servingPid,
  startStandalone,
  upgrade,
  waitFor,
  within,
} from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/deadline-app.mjs');
const MAX_TIMER_MS = 2147483647;
/** Per test: a hung process fails the test (and its t.after cleanup runs) instead of hanging the run. */
const T = { timeout: 90_000 };

/** The app's own lines (deadline-app.mjs) that `pid` wrote, with what follows `prefix`. */
function appLines(output, pid, prefix) {
  const re = new RegExp(`^${prefix}(.*) pid=${pid}$`);
  return output.split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m ? [m[1]] : [];
  });
}

/** baton's lines written by `pid` whose message starts with `prefix`: the message of each. */
function batonLines(output, pid, prefix) {
  return output.split('\n').flatMap((l) => {
    const m = / baton\[(\d+)\] gen=\d+ (?:info|warn|error): (.*)$/.exec(l);
    return m && Number(m[1]) === pid && m[2].startsWith(prefix) ? [m[2]] : [];
  });
}

/** Starts GET /slow and waits until the app has it (it answers 2 s after the drain begins); `slow` is its outcome. */
async function slowRequest(app, target, pid) {
  const slow = get(target, '/slow', 30_000).then(
    (r) => r,
    (err) => ({ error: err.code ?? err.message }),
  );
  await waitFor(() => appLines(app.output, pid, 'slow request arrived').length === 1, {
    what: `pid ${pid} to have the slow request`,
  });
  return { slow };
}

/** What both modes must show once the old process `pid` has exited. */
async function checkDeadline(t, app, pid, slow) {
  assert.deepEqual(
    await slow,
    { status: 200, body: `${pid}\n` },
    `the request in flight completes, from the old process; output:\n${app.output}`,
  );
  await waitFor(() => appLines(app.output, pid, 'app exit code=').length === 1, { what: `pid ${pid}'s exit line` });
  const out = app.output;

  const given = appLines(out, pid, 'hook msLeft=');
  assert.equal(given.length, 1, `the hook ran once: ${JSON.stringify(given)}`);
  const msLeft = Number(given[0]);
  assert.ok(
    msLeft > 0 && msLeft <= 1500,
    `the hook was told what is left of the 3 s after the 2 s request (about 1000 ms), not a fresh timeout: msLeft=${msLeft}`,
  );
  assert.ok(msLeft < 3000);

  assert.equal(
    batonLines(out, pid, 'shutdown hook still running at the drain deadline').length,
    1,
    'the hook was cut off at the deadline',
  );
  assert.deepEqual(appLines(out, pid, 'hook done'), [], 'the process exited before the hook had its 3 s');
  assert.deepEqual(appLines(out, pid, 'app exit code='), ['0'], 'it exited by itself, with code 0');
  assert.doesNotMatch(out, /outlived its drain deadline/, 'nobody had to kill it');

  const drained = batonLines(out, pid, 'drained, exiting');
  assert.equal(drained.length, 1, 'it drained once');
  const ms = Number(/ ms=(\d+)/.exec(drained[0])?.[1]);
  // 3000 by the deadline; the hook's own 3 s from the 2 s mark would make it about 5000.
  assert.ok(ms >= 2000 && ms < 4000, `the drain took about the 3 s timeout: ${drained[0]}`);
  t.diagnostic(`pid ${pid}: hook told msLeft=${msLeft}; drained in ${ms} ms`);
  await waitFor(() => gone(pid), { what: `pid ${pid} to be reaped` });
}

test(
  'baton run --drain-timeout 3s: the hook gets what the 2 s request left of the deadline, and the old worker exits by itself at the deadline',
  T,
  async (t) => {
    const port = await freePort();
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    const master = startMaster(['--drain-timeout', '3s', script], { env: { PORT: String(port), HOST: '127.0.0.1' } });
    t.after(() => stopMaster(master));
    const old = await waitFor(() => servingPid(target), { what: 'the first worker to serve' });
    // Ready, not only listening: a worker still starting would be stopped by SIGTERM instead of told to drain.
    assert.deepEqual(await readyWorkers(master, 1), [old]);
    const { slow } = await slowRequest(master, target, old);

    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /draining generation 1 \(1 open connection\)/, master.output);
    assert.match(r.stdout, /done: generation 2 serving/);
    await checkDeadline(t, master, old, slow);
    const next = await servingPid(target);
    assert.notEqual(next, old, 'the new worker serves');
  },
);

test(
  'standalone BATON_DRAIN_TIMEOUT=3s: the hook gets what the 2 s request left of the deadline, and the old process exits by itself at the deadline',
  T,
  async (t) => {
    const port = await freePort();
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    const app = startStandalone(script, { env: { PORT: String(port), HOST: '127.0.0.1', BATON_DRAIN_TIMEOUT: '3s' } });
    t.after(() => cleanup(app));
    const old = await waitFor(() => servingPid(target), { what: 'generation 1 to serve' });
    const { slow } = await slowRequest(app, target, old);

    const successor = await upgrade(app, old, { untilExit: false });
    assert.deepEqual(
      await within(app.exited, 20_000, 'the old process to exit'),
      { code: 0, signal: null },
      'the old process exits 0',
    );
    await checkDeadline(t, app, old, slow);
    assert.equal(await servingPid(target), successor, 'the successor serves');
  },
);

test(
  'baton run --drain-timeout / --ready-timeout 40000m: exit 2, one line naming the option and the ceiling',
  T,
  async () => {
    for (const option of ['--drain-timeout', '--ready-timeout']) {
      const r = await baton(['run', option, '40000m', script]);
      assert.equal(r.code, 2, `${option}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.ok(
        lines[0].includes(option) && lines[0].includes(String(MAX_TIMER_MS)),
        `names ${option} and ${MAX_TIMER_MS}: ${lines[0]}`,
      );
    }
  },
);

test(
  'BATON_DRAIN_TIMEOUT=40000m node --import batonjs/register: exit 1, one line naming the variable, no stack; the app never runs',
  T,
  async (t) => {
    const child = spawn(process.execPath, ['--import', register, script], {
      cwd: root,
      env: { ...process.env, PORT: String(await freePort()), BATON_LOG_FORMAT: 'text', BATON_DRAIN_TIMEOUT: '40000m' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const [code, signal] = await within(
      new Promise((resolve) => child.once('close', (c, s) => resolve([c, s]))),
      20_000,
      'the process to exit',
    );
    assert.equal(signal, null);
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '', 'the app never ran (it would have said listening)');
    const lines = stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line: ${stderr}`);
    assert.match(lines[0], /baton\[\d+\] gen=1 error: BATON_DRAIN_TIMEOUT: /);
    assert.ok(lines[0].includes(String(MAX_TIMER_MS)), `names the ceiling: ${lines[0]}`);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack');
  },
);
