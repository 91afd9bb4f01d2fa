// Sockets handed over the way systemd socket activation does it (LISTEN_FDS,
// LISTEN_FDNAMES, LISTEN_PID set by a shell that then execs node), and the
// checks on them: wrong pid ignored, malformed or mismatched variables refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { bindUdp } from '../../dist/internals/dgram.js';
import {
  cleanup,
  examples,
  follow,
  freePort,
  register,
  root,
  servingPid,
  tmpDir,
  upgrade,
  waitFor,
} from '../helpers/proc.mjs';

/**
 * Binds without listening, as a .socket unit holds a socket before the service starts.
 * @param {number} port
 */
function holdPort(port) {
  const handle = /** @type {typeof net & import('../helpers/proc.mjs').NetInternals} */ (net)._createServerHandle(
    '127.0.0.1',
    port,
    4,
  );
  assert.equal(typeof handle, 'object', 'bound a test socket');
  return handle;
}

/**
 * `sh -c 'LISTEN_PID=$$ exec node …'`: the pid systemd would set, without systemd.
 * @param {string} script
 * @param {{ fd?: number, env?: Record<string, string>, listenPid?: string }} options
 */
function activate(script, { fd, env = {}, listenPid = '$$' }) {
  const vars = Object.entries(env)
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ');
  return follow(
    spawn(
      'sh',
      ['-c', `LISTEN_PID=${listenPid} ${vars} exec "${process.execPath}" --import "${register}" "${script}"`],
      {
        cwd: root,
        env: { ...process.env, BATON_LOG_FORMAT: 'text' },
        stdio: ['ignore', 'pipe', 'pipe', fd ?? 'ignore'],
      },
    ),
  );
}

test('a socket-activated app listens on the inherited socket (matched by its real address), and upgrades', async (t) => {
  const port = await freePort();
  const handle = holdPort(port);
  t.after(() => handle.close());
  const app = activate(path.join(examples, 'http.mjs'), {
    fd: handle.fd,
    env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'web', PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => cleanup(app));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  // This process still holds the port, so a fresh bind would fail: serving proves the fd was used.
  const pid = await waitFor(() => servingPid(target), { what: 'the activated app to serve' });
  assert.equal(pid, app.child.pid, 'sh exec-ed into node, keeping the pid');
  const successor = await upgrade(app, pid);
  assert.equal(await servingPid(target), successor);
});

test('a socket-activated UDP socket (ListenDatagram=) is read by the app, then by its successor', async (t) => {
  const port = await freePort();
  const handle = bindUdp('127.0.0.1', port);
  assert.ok(!(handle instanceof Error), /** @type {Error} */ (handle)?.message);
  t.after(() => handle.close());
  const app = activate(path.join(examples, 'udp.mjs'), {
    fd: handle.fd,
    env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'dns', PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => cleanup(app));
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  const ask = async (text) => {
    const answer = once(client, 'message');
    client.send(text, port, '127.0.0.1');
    return String((await answer)[0]);
  };
  // This process still holds the port, so a fresh bind would fail: an answer proves the fd was used.
  await waitFor(() => app.output.includes('udp bound'), { what: 'the activated app to bind' });
  assert.equal(await ask('1'), `1 ${app.child.pid}`);
  const successor = await upgrade(app, app.child.pid);
  assert.equal(await ask('2'), `2 ${successor}`);
});

test("LISTEN_PID naming another process: the variables are ignored and removed from the app's environment", async (t) => {
  const app = activate(path.join(root, 'test/fixtures/env-app.mjs'), {
    listenPid: '1',
    env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' },
  });
  t.after(() => cleanup(app));
  assert.equal((await app.exited).code, 0);
  const seen = JSON.parse(app.output.trim().split('\n').pop());
  assert.deepEqual(seen, { LISTEN_FDS: null, LISTEN_FDNAMES: null, LISTEN_PID: null, BATON_PARENT_PID: null });
});

test('inherited fds are checked before use: each bad case is a one-line error and exit 1', async (t) => {
  const port = await freePort();
  const handle = holdPort(port);
  t.after(() => handle.close());
  const file = path.join(tmpDir(), 'not-a-socket');
  fs.writeFileSync(file, 'x');
  const fileFd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(fileFd));
  const cases = [
    { fd: handle.fd, env: { LISTEN_FDS: 'abc' }, says: /LISTEN_FDS='abc' is not a count/ },
    {
      fd: handle.fd,
      env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b' },
      says: /LISTEN_FDNAMES='a:b' names 2 sockets but LISTEN_FDS=1/,
    },
    {
      fd: handle.fd,
      env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'unix%3A/run/app.sock' },
      says: new RegExp(`is really tcp:127\\.0\\.0\\.1:${port}`),
    },
    { fd: fileFd, env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' }, says: /inherited fd 3 \('web'\) is not a socket/ },
    { env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' }, says: /inherited fd 3 \('web'\) is not (open|a socket)/ },
  ];
  for (const c of cases) {
    const app = activate(path.join(examples, 'http.mjs'), {
      fd: c.fd,
      env: { ...c.env, PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => cleanup(app));
    assert.equal((await app.exited).code, 1, `exit 1 for ${JSON.stringify(c.env)}`);
    const errors = app.output.split('\n').filter((l) => / error: /.test(l));
    assert.equal(errors.length, 1, `one error line: ${app.output}`);
    assert.match(errors[0], c.says);
  }
});
