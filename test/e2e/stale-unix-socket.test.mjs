// A unix socket path left behind by a baton killed with SIGKILL (no chance to
// remove it) is taken over by the next start; a path a live server answers on
// is never taken: the new baton gets EADDRINUSE, as Node alone would.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { cleanup, examples, gone, servingPid, startStandalone, tmpDir, waitFor, within } from '../helpers/proc.mjs';

const unixApp = path.join(examples, 'unix.mjs');
const STALE = /removed a stale socket file path=(\S+)/;

/** SIGKILLs `pid` and waits until it and `others` (its workers) are gone: nothing answers on the path any more. */
async function killHard(app, pid, others = []) {
  process.kill(pid, 'SIGKILL');
  await within(app.exited, 10_000, `pid ${pid} to exit`);
  await waitFor(() => others.every(gone), { what: `workers ${others.join(',')} to exit after their master` });
}

/** app.sock in a fresh directory, removed when the test ends. */
function socketIn(t) {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'app.sock');
}

/** A plain net server on `socketPath`, closed when the test ends. */
async function liveServer(t, socketPath) {
  // baton's probe hangs up at once: the reply then fails with EPIPE, which is no failure of the test.
  const server = net.createServer((sock) => sock.on('error', () => {}).end('live\n'));
  await /** @type {Promise<void>} */ (
    new Promise((resolve, reject) => server.once('error', reject).listen(socketPath, resolve))
  );
  t.after(() => new Promise((resolve) => server.close(resolve)));
}

function answers(socketPath) {
  return new Promise((resolve, reject) => {
    let data = '';
    net
      .connect(socketPath)
      .on('data', (d) => (data += d))
      .once('end', () => resolve(data))
      .once('error', reject);
  });
}

for (const how of ['the app listening on it', '--listen']) {
  test(`supervised (${how}): after the master is SIGKILLed, the next baton run removes the stale socket and serves`, async (t) => {
    const socketPath = socketIn(t);
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', socketPath };
    const args = [...(how === '--listen' ? ['--listen', socketPath] : []), '-w', '2', unixApp];
    const first = startMaster(args, { env: { SOCKET: socketPath } });
    t.after(() => stopMaster(first));
    const workers = await readyWorkers(first, 2);
    await killHard(first, first.child.pid, workers);
    assert.ok(fs.lstatSync(socketPath).isSocket(), 'SIGKILL leaves the path behind');

    const second = startMaster(args, { env: { SOCKET: socketPath } });
    t.after(() => stopMaster(second));
    const pids = await readyWorkers(second, 2);
    assert.ok(pids.includes(await servingPid(target)));
    assert.equal(second.output.match(STALE)?.[1], socketPath);
  });
}

test('supervised: --listen on a path a live server answers on fails with EADDRINUSE and leaves the server alone', async (t) => {
  const socketPath = socketIn(t);
  await liveServer(t, socketPath);
  const master = startMaster(['-w', '1', '--listen', socketPath, unixApp], { env: { SOCKET: socketPath } });
  t.after(() => stopMaster(master));
  const { code } = await within(master.exited, 20_000, 'baton run to exit');
  assert.equal(code, 1, master.output);
  assert.match(master.output, /EADDRINUSE/);
  assert.doesNotMatch(master.output, STALE);
  assert.equal(await answers(socketPath), 'live\n');
});

test('standalone: after the process is SIGKILLed, the next start removes the stale socket and serves', async (t) => {
  const socketPath = socketIn(t);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', socketPath };
  const first = startStandalone(unixApp, { env: { SOCKET: socketPath } });
  t.after(() => cleanup(first));
  await waitFor(() => servingPid(target), { what: 'the first process to answer' });
  await killHard(first, first.child.pid);
  assert.ok(fs.lstatSync(socketPath).isSocket(), 'SIGKILL leaves the path behind');

  const second = startStandalone(unixApp, { env: { SOCKET: socketPath } });
  t.after(() => cleanup(second));
  assert.equal(await waitFor(() => servingPid(target), { what: 'the second process to answer' }), second.child.pid);
  assert.equal(second.output.match(STALE)?.[1], socketPath);
});

test('standalone: a path a live server answers on fails with EADDRINUSE and leaves the server alone', async (t) => {
  const socketPath = socketIn(t);
  await liveServer(t, socketPath);
  const app = startStandalone(unixApp, { env: { SOCKET: socketPath } });
  t.after(() => cleanup(app));
  const { code } = await within(app.exited, 20_000, 'the app to exit');
  assert.equal(code, 1, app.output);
  assert.match(app.output, /EADDRINUSE/);
  assert.doesNotMatch(app.output, STALE);
  assert.equal(await answers(socketPath), 'live\n');
});
