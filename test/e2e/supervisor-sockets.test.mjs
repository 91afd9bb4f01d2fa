// Where the master's sockets come from: pre-bound with --listen, or handed to
// it by systemd socket activation (LISTEN_FDS), matched by real address.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, cli, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import {
  examples,
  follow,
  freePort,
  refused,
  root,
  servingPid,
  tmpDir,
  waitFor,
  waitForLine,
} from '../helpers/proc.mjs';

test('--listen NAME=ADDR is bound before the workers start and serves across a reload', async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', '--listen', `web=127.0.0.1:${port}`, path.join(examples, 'http.mjs')], {
    env: { PORT: String(port), HOST: '127.0.0.1' },
  });
  t.after(() => stopMaster(master));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(() => servingPid(target), { what: 'the service to answer' });
  assert.deepEqual((await status(master)).listeners, ['web']);
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok((await readyWorkers(master, 2)).includes(await servingPid(target)));
});

test('systemd socket activation: the master takes LISTEN_FDS and its workers serve on that socket', async (t) => {
  const port = await freePort();
  // Bound but not listening, as a .socket unit holds it; while it is held here a fresh bind would fail.
  const handle = /** @type {typeof net & import('../helpers/proc.mjs').NetInternals} */ (net)._createServerHandle(
    '127.0.0.1',
    port,
    4,
  );
  t.after(() => handle.close());
  const control = path.join(tmpDir(), 'control.sock');
  const child = spawn(
    'sh',
    [
      '-c',
      `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web exec "${process.execPath}" "${cli}" run -w 2 --control "${control}" "${path.join(examples, 'http.mjs')}"`,
    ],
    {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe', handle.fd],
    },
  );
  const master = Object.assign(follow(child), { control, dir: path.dirname(control) });
  t.after(() => stopMaster(master));
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(() => servingPid(target), { what: 'the socket-activated service to answer' });
  assert.deepEqual((await status(master)).listeners, ['web']);
  const r = await baton(['reload', '--control', control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok((await readyWorkers(master, 2)).includes(await servingPid(target)));
});

test('a socket the new generation no longer listens on is closed once the reload is done', async (t) => {
  const [port, port2] = [await freePort(), await freePort()];
  const dropFlag = path.join(root, 'test/fixtures/drop-port2');
  const master = startMaster(['-w', '2', path.join(root, 'test/fixtures/api-app.mjs')], {
    env: { PORT: String(port), PORT2: String(port2) },
  });
  t.after(async () => {
    await stopMaster(master);
    fs.rmSync(dropFlag, { force: true });
  });
  /** @type {import('../../dist/testing/load.js').Target} */
  const target2 = { protocol: 'http', host: '127.0.0.1', port: port2 };
  await waitFor(async () => (await get(target2)).status === 200, { what: 'the second port to answer' });
  await readyWorkers(master, 2);
  assert.equal((await status(master)).listeners.length, 2);

  fs.writeFileSync(dropFlag, '');
  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // The new workers give up their inherited copies once in service (300 ms after ready, with no crash window); the master closes its own then.
  await waitForLine(
    master,
    (l) =>
      l.text.startsWith(`closed sockets the serving generation does not listen on sockets=tcp:127.0.0.1:${port2}`) ||
      undefined,
  );
  assert.deepEqual((await status(master)).listeners, [`tcp:127.0.0.1:${port}`]);
  await waitFor(() => refused(port2), { what: 'the dropped port to refuse connections' });
});
