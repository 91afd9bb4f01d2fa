// The worker API and the standalone options: explicit readiness, PM2's ready
// message, generation and isDraining, the pid file, dropped addresses, and a
// second SIGINT.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { cleanup, freePort, gone, refused, root, startStandalone, tmpDir, upgrade, waitFor } from '../helpers/proc.mjs';

const fixture = path.join(root, 'test/fixtures/api-app.mjs');
const dropFlag = path.join(root, 'test/fixtures/drop-port2');

async function startApi(t, env = {}) {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const app = startStandalone(fixture, { env: { PORT: String(port), ...env } });
  t.after(async () => {
    await cleanup(app);
    fs.rmSync(dropFlag, { force: true });
  });
  const info = async () => JSON.parse((await get(target)).body);
  const first = await waitFor(info, { what: 'the API app to serve' });
  return { app, target, info, first, port };
}

test('BATON_WAIT_READY=1: the hand-over waits for ready(); generation counts up', async (t) => {
  const { app, info, first } = await startApi(t, { BATON_WAIT_READY: '1', READY_AFTER_MS: '700' });
  assert.equal(first.generation, 1);
  const mark = app.output.length;
  const successor = await upgrade(app, first.pid);
  const readyMs = Number(/readyMs=(\d+)/.exec(app.output.slice(mark))[1]);
  assert.ok(readyMs >= 700, `the predecessor waited for ready(): ${readyMs} ms`);
  assert.deepEqual(await info(), { pid: successor, generation: 2, draining: false });
});

test("PM2's process.send('ready') counts as ready", async (t) => {
  const { app, info, first } = await startApi(t, {
    BATON_WAIT_READY: '1',
    READY_STYLE: 'pm2',
    BATON_READY_TIMEOUT: '10s',
  });
  const successor = await upgrade(app, first.pid);
  assert.equal((await info()).pid, successor);
});

test('isDraining() is true in the old process while it finishes a request', async (t) => {
  const { app, target, first } = await startApi(t);
  const slow = get(target, '/?until=draining');
  await waitFor(() => app.output.includes(`waiting until draining in ${first.pid}`), {
    what: 'the request to reach the first process',
  });
  await upgrade(app, first.pid);
  assert.deepEqual(JSON.parse((await slow).body), { pid: first.pid, generation: 1, draining: true });
});

test('BATON_PID_FILE holds the serving pid after each hand-over and is removed at the final stop', async (t) => {
  const pidFile = path.join(tmpDir(), 'app.pid');
  const { app, first } = await startApi(t, { BATON_PID_FILE: pidFile });
  const read = () => Number(fs.readFileSync(pidFile, 'utf8'));
  assert.equal(read(), first.pid);
  const second = await upgrade(app, first.pid);
  assert.equal(read(), second);
  const third = await upgrade(app, second);
  assert.equal(read(), third);
  process.kill(third, 'SIGTERM');
  await waitFor(() => !fs.existsSync(pidFile), { what: 'the pid file to be removed' });
});

test('a pid file that cannot be written fails the upgrade before the hand-over; the old process serves on', async (t) => {
  const dir = tmpDir();
  const pidFile = path.join(dir, 'run', 'app.pid');
  fs.mkdirSync(path.dirname(pidFile));
  const { app, info, first } = await startApi(t, { BATON_PID_FILE: pidFile });
  fs.rmSync(path.dirname(pidFile), { recursive: true }); // as good as a full disk, even for root
  const mark = app.output.length;
  process.kill(first.pid, 'SIGUSR2');
  const line = await waitFor(() => /upgrade failed, still serving: .*/.exec(app.output.slice(mark))?.[0], {
    what: 'the upgrade to fail',
  });
  assert.match(line, /cannot write the pid file .*app\.pid: Error: ENOENT/);
  const successor = Number(/successor spawned successor=(\d+)/.exec(app.output.slice(mark))[1]);
  await waitFor(() => gone(successor), { what: 'the successor to be stopped' });
  assert.equal((await info()).pid, first.pid);
});

test('an address the new release no longer listens on is closed once it is ready', async (t) => {
  const port2 = await freePort();
  const { app, info, first } = await startApi(t, { PORT2: String(port2) });
  /** @type {import('../../dist/testing/load.js').Target} */
  const target2 = { protocol: 'http', host: '127.0.0.1', port: port2 };
  assert.equal(JSON.parse((await get(target2)).body).pid, first.pid);
  fs.writeFileSync(dropFlag, '');
  const successor = await upgrade(app, first.pid);
  assert.equal((await info()).pid, successor);
  await waitFor(
    () => /closed inherited sockets the new code does not listen on sockets=tcp:127\.0\.0\.1:\d+/.test(app.output),
    {
      what: 'the dropped socket to be closed',
    },
  );
  assert.ok(await refused(port2), 'the dropped port refuses connections');
});

test('a second SIGINT stops at once, without waiting for the drain', async (t) => {
  const { app, target, first } = await startApi(t);
  const slow = get(target, '/?until=cut').catch((err) => err);
  await waitFor(() => app.output.includes(`waiting until cut in ${first.pid}`), {
    what: 'the request to reach the process',
  });
  process.kill(first.pid, 'SIGINT');
  await waitFor(() => /draining reason=stop/.test(app.output), { what: 'the drain to start' });
  process.kill(first.pid, 'SIGINT');
  const { code } = await app.exited;
  assert.equal(code, 130);
  assert.ok((await slow) instanceof Error, 'the slow request was cut, as asked');
});
