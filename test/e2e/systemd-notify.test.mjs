// What systemd hears over NOTIFY_SOCKET (sd_notify(3)), from a master and from
// a standalone process, through reloads and upgrades that succeed and fail.
// The socket is the test's own (test/helpers/notify-socket.mjs); each step
// waits for its datagrams to arrive and asserts every one that came.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, cli, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { notifySocket, received } from '../helpers/notify-socket.mjs';
import {
  alive,
  cleanup,
  examples,
  follow,
  freePort,
  root,
  startStandalone,
  tmpDir,
  tool,
  upgrade,
  waitFor,
  within,
} from '../helpers/proc.mjs';
import { deployDir, switchTo } from '../helpers/releases.mjs';

const fieldsOf = (messages) => messages.map((m) => m.fields);

/** RELOADING=1 stamped with CLOCK_MONOTONIC: at most a minute before the receiver read it on the same clock. */
function assertReloading(m, status) {
  assert.deepEqual(Object.keys(m.fields), ['RELOADING', 'MONOTONIC_USEC', 'STATUS']);
  assert.equal(m.fields.STATUS, status);
  const age = m.at - Number(m.fields.MONOTONIC_USEC);
  assert.ok(age >= 0 && age < 60e6, `MONOTONIC_USEC=${m.fields.MONOTONIC_USEC} read at ${m.at}`);
}

const environOf = (pid) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

test('baton run: READY=1 at start; RELOADING=1 then READY=1 around a reload; a rollback exits 1 and READY=1 names the old generation; STOPPING=1', async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1', 'v2'], broken: ['bad'] });
  const sock = await notifySocket(t, path.join(dir, 'notify.sock'));
  const port = await freePort();
  const master = startMaster(['-w', '2', 'app.mjs'], {
    cwd: current,
    env: { PORT: String(port), PWD: current, NOTIFY_SOCKET: sock.address },
  });
  t.after(() => stopMaster(master));

  assert.deepEqual(fieldsOf(await received(sock, 1, 'READY=1 at start')), [
    { READY: '1', STATUS: 'generation 1 serving' },
  ]);
  for (const pid of await readyWorkers(master, 2)) {
    assert.equal(
      environOf(pid).some((v) => v.startsWith('NOTIFY_SOCKET=')),
      false,
      `worker ${pid} cannot speak for the service`,
    );
  }

  switchTo(dir, 'v2');
  const ok = await baton(['reload', '--control', master.control]);
  assert.equal(ok.code, 0, ok.stderr);
  const [, reloading, ready] = await received(sock, 3, 'RELOADING=1 and READY=1 around the reload');
  assertReloading(reloading, 'reloading: generation 2 starting, generation 1 serving');
  assert.deepEqual(ready.fields, { READY: '1', STATUS: 'generation 2 serving' });

  switchTo(dir, 'bad');
  const rolledBack = await baton(['reload', '--control', master.control]);
  assert.equal(rolledBack.code, 1, 'ExecReload=baton reload fails the reload in systemd');
  const [, , , again, back] = await received(sock, 5, 'RELOADING=1 and READY=1 around the rolled-back reload');
  assertReloading(again, 'reloading: generation 3 starting, generation 2 serving');
  assert.deepEqual(Object.keys(back.fields), ['READY', 'STATUS']);
  assert.match(
    back.fields.STATUS,
    /^generation 2 serving; generation 3 failed: worker pid \d+ exited before it was ready \(code 1\)/,
  );

  const stop = await baton(['stop', '--control', master.control]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await master.exited).code, 0);
  const all = await received(sock, 6, 'STOPPING=1');
  assert.deepEqual(all[5].fields, { STOPPING: '1', STATUS: 'stopping: draining' });
  assert.equal(sock.messages.length, 6, 'the master waited for STOPPING=1 to go out, and said nothing after it');
  t.diagnostic(
    `datagrams (sender pid ${all.map((m) => m.pid).join(', ')}; master ${master.child.pid}): ${JSON.stringify(all.map((m) => m.text))}`,
  );
});

test('standalone, on an abstract socket: READY=1; a failed upgrade, then MAINPID=<successor> with READY=1 as it takes over; STOPPING=1 at the stop', async (t) => {
  const { dir, current } = deployDir(t, { good: ['v1', 'v2'], broken: ['bad'] });
  const sock = await notifySocket(t, `@baton-e2e-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const run = tmpDir('baton-run-');
  t.after(() => fs.rmSync(run, { recursive: true, force: true }));
  const pidFile = path.join(run, 'app.pid');
  const port = await freePort();
  const app = startStandalone('app.mjs', {
    cwd: current,
    env: { PORT: String(port), PWD: current, NOTIFY_SOCKET: sock.address, BATON_PID_FILE: pidFile },
  });
  t.after(() => cleanup(app));
  const first = app.child.pid;

  assert.deepEqual(fieldsOf(await received(sock, 1, 'READY=1 at start')), [
    { READY: '1', STATUS: 'generation 1 serving' },
  ]);

  switchTo(dir, 'bad');
  await assert.rejects(upgrade(app, first), /upgrade failed/);
  const [, reloading, failed] = await received(sock, 3, 'RELOADING=1 and READY=1 around the failed upgrade');
  assertReloading(reloading, 'reloading: generation 2 starting, generation 1 serving');
  assert.match(
    failed.fields.STATUS,
    /^generation 1 serving; generation 2 failed: successor pid \d+ exited before it was ready \(code 1\)/,
  );
  assert.deepEqual(Object.keys(failed.fields), ['READY', 'STATUS']);

  switchTo(dir, 'v2');
  const successor = await upgrade(app, first);
  const [, , , again, handover] = await received(sock, 5, 'RELOADING=1, then MAINPID= with READY=1');
  assertReloading(again, 'reloading: generation 2 starting, generation 1 serving');
  assert.deepEqual(handover.fields, { MAINPID: String(successor), READY: '1', STATUS: 'generation 2 serving' });
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${successor}\n`, 'PIDFile= names the successor too');

  process.kill(successor, 'SIGTERM');
  await waitFor(() => !alive(successor), { what: 'the successor to stop' });
  const all = await received(sock, 6, 'STOPPING=1 from the successor');
  assert.deepEqual(all[5].fields, { STOPPING: '1', STATUS: 'stopping: draining' });
  assert.equal(sock.messages.length, 6, 'nothing after STOPPING=1');
  t.diagnostic(
    `datagrams (sender pid ${all.map((m) => m.pid).join(', ')}; first ${first}, successor ${successor}): ${JSON.stringify(all.map((m) => m.text))}`,
  );
});

test('the socket-unit variant, under systemd-socket-activate: the first connection starts the master, which serves it, says READY=1, reloads and stops', async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = await notifySocket(t, path.join(dir, 'notify.sock'));
  const port = await freePort();
  const control = path.join(dir, 'control.sock');
  // Like a .socket unit: systemd-socket-activate binds, and on the first connection execs the service with LISTEN_FDS and only the -E variables.
  const vars = { PORT: port, HOST: '127.0.0.1', NOTIFY_SOCKET: sock.address, BATON_LOG_FORMAT: 'text' };
  const child = spawn(
    tool('systemd-socket-activate'),
    [
      '-l',
      `127.0.0.1:${port}`,
      ...Object.entries(vars).flatMap(([k, v]) => ['-E', `${k}=${v}`]),
      process.execPath,
      cli,
      'run',
      '-w',
      '2',
      '--control',
      control,
      path.join(examples, 'http.mjs'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const master = Object.assign(follow(child), { control, dir });
  t.after(() => stopMaster(master));
  await within(
    new Promise((resolve) => child.stderr.on('data', () => master.output.includes('Listening on') && resolve())),
    20_000,
    'systemd-socket-activate to listen',
  );

  const first = await get({ protocol: 'http', host: '127.0.0.1', port });
  assert.equal(first.status, 200, 'the connection that started the service waited in the queue and was served');
  assert.deepEqual(fieldsOf(await received(sock, 1, 'READY=1 at start')), [
    { READY: '1', STATUS: 'generation 1 serving' },
  ]);
  const r = await baton(['reload', '--control', control]);
  assert.equal(r.code, 0, r.stderr);
  const [, reloading, ready] = await received(sock, 3, 'RELOADING=1 and READY=1 around the reload');
  assertReloading(reloading, 'reloading: generation 2 starting, generation 1 serving');
  assert.deepEqual(ready.fields, { READY: '1', STATUS: 'generation 2 serving' });
  child.kill('SIGTERM');
  assert.equal((await master.exited).code, 0, 'the master, exec-ed by systemd-socket-activate, drained and exited 0');
  const all = await received(sock, 4, 'STOPPING=1');
  assert.deepEqual(all[3].fields, { STOPPING: '1', STATUS: 'stopping: draining' });
  assert.equal(sock.messages.length, 4);
});
