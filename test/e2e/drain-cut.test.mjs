// Connections still open at the drain timeout are cut, and that is reported:
// the old worker warns with the count, `baton reload` (exit 0) prints it, and
// `baton status --json` keeps it with the reload. A worker killed at its
// deadline before it could say is counted by its last heartbeat.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { alive, freePort, root, waitFor, within } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/raw-hold-app.mjs');
const T = { timeout: 60_000 };
const TOKEN = '5f2c8e1a9b7d4c3e6f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a';

/** Opens a connection and resolves with it once the app has greeted it with its pid. */
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('data', (d) => resolve({ socket, pid: Number(String(d).trim()) }));
  });
}

test(
  'baton run -w 1 --drain-timeout 1s: raw connections held past the timeout are cut and counted, by reload and by stop',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '1', '--drain-timeout', '1s', script], { env: { PORT: String(port) } });
    t.after(() => stopMaster(master));
    const [old] = await readyWorkers(master, 1);
    const held = [];
    t.after(() => held.forEach((c) => c.socket.destroy()));
    for (let i = 0; i < 3; i++) held.push(await connect(port));
    assert.deepEqual(
      held.map((c) => c.pid),
      [old, old, old],
      "the three connections are the old worker's",
    );
    const closed = held.map((c) => new Promise((resolve) => c.socket.once('close', resolve)));

    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /draining generation 1 \(3 open connections\)/, r.stdout);
    assert.match(r.stdout, /^3 connections cut at the drain timeout$/m, `${r.stdout}\n${master.output}`);
    await Promise.all(closed);

    assert.match(
      master.output,
      new RegExp(`baton\\[${old}\\] gen=1 warn: 3 connections cut at the drain timeout`),
      master.output,
    );
    const last = (await status(master)).reloads.at(-1);
    assert.equal(last.ok, true);
    assert.equal(last.cut, 3, JSON.stringify(last));

    const s = await baton(['status', '--control', master.control]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /CUT/, s.stdout);

    // A stop cuts what the new worker holds: the master's 'stopped' line has the total.
    const [next] = await readyWorkers(master, 1);
    for (let i = 0; i < 2; i++) held.push(await connect(port));
    assert.deepEqual(
      held.slice(3).map((c) => c.pid),
      [next, next],
    );
    const stopped = await baton(['stop', '--control', master.control]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(await within(master.exited, 20_000, 'the master to exit'), { code: 0, signal: null });
    // 'exit' may come before the last of its stderr has been read.
    await waitFor(() => / info: stopped /.test(master.output), { what: "the master's stopped line" });
    assert.match(master.output, / info: stopped cut=2$/m, master.output);
  },
);

test(
  "baton run --drain-timeout 1s: a draining worker stopped (SIGSTOP) and killed at its deadline reports its last heartbeat's connections as lost, never 0",
  T,
  async (t) => {
    const port = await freePort();
    const adminPort = await freePort();
    const master = startMaster(
      [
        '-w',
        '1',
        '--drain-timeout',
        '1s',
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--admin-token-file',
        writeTokenFile(t, `${TOKEN}\n`),
        script,
      ],
      {
        env: { PORT: String(port) },
      },
    );
    t.after(() => stopMaster(master));
    const held = [];
    t.after(() => held.forEach((c) => c.socket.destroy()));
    /** Holds `n` connections to the serving worker and stops it once its heartbeat has counted them. */
    const holdAndFreeze = async (n) => {
      const [pid] = await readyWorkers(master, 1);
      for (let i = 0; i < n; i++) held.push(await connect(port));
      await waitFor(async () => (await status(master)).workers[0].connections === n, {
        what: `a heartbeat counting ${n} connections`,
      });
      process.kill(pid, 'SIGSTOP');
      t.after(() => alive(pid) && process.kill(pid, 'SIGCONT'));
      return pid;
    };

    const old = await holdAndFreeze(10);
    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /draining generation 1 \(10 open connections\)/, r.stdout);
    assert.match(r.stdout, /^10 connections cut at the drain timeout$/m, `${r.stdout}\n${master.output}`);
    assert.match(
      master.output,
      new RegExp(`warn: ≥10 connections lost: worker pid ${old} killed at the drain deadline`),
      master.output,
    );
    assert.equal((await status(master)).reloads.at(-1).cut, 10);
    const m = await request(adminPort, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.match(m.body, /^baton_drain_cut_connections_total 10$/m, m.body);

    await holdAndFreeze(2);
    const stopped = await baton(['stop', '--control', master.control]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await within(master.exited, 20_000, 'the master to exit');
    await waitFor(() => / info: stopped /.test(master.output), { what: "the master's stopped line" });
    assert.match(master.output, / info: stopped cut=2$/m, master.output);
  },
);
