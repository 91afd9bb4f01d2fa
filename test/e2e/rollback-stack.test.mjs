// A rollback's reason shows the failed worker's whole uncaught-exception
// stack, message, every frame and its cause, however much it wrote to stderr
// before: in `baton reload`'s output and in the admin API's stderrTail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir } from '../helpers/proc.mjs';

const TOKEN = 'e2e-rollback-stack-token-5e2c8a1f9b3d';

/** The whole stack of test/fixtures/loud-crash-app.mjs's error: its message, its 61 frames in the app, its cause. */
function assertWholeStack(text, where) {
  assert.match(text, /Error: the config is broken\n/, `${where}: the message\n${text}`);
  assert.equal(
    new Set(text.match(/at (?:Array\.)?step\d+ \(file:.*loud-crash-app\.mjs:\d+:\d+\)/g)).size,
    61,
    `${where}: every frame\n${text}`,
  );
  assert.match(text, /\[cause\]: Error: missing SECRET_KEY/, `${where}: the cause\n${text}`);
}

test("a rollback shows the failed worker's whole stack, after 6 KiB of other stderr: baton reload, the API", {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const breakFile = path.join(dir, 'BREAK');
  const [port, adminPort] = [await freePort(), await freePort()];
  const admin = ['--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', writeTokenFile(t, `${TOKEN}\n`)];
  const master = startMaster([...admin, path.join(root, 'test/fixtures/loud-crash-app.mjs')], {
    env: { PORT: String(port), BREAK_FILE: breakFile },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  fs.writeFileSync(breakFile, '');

  const cli = await baton(['reload', '--control', master.control]);
  assert.equal(cli.code, 1, cli.stdout + cli.stderr);
  assertWholeStack(cli.stdout + cli.stderr, 'baton reload');
  const api = await request(adminPort, 'POST', '/api/reload', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(api.status, 500, api.body);
  assertWholeStack(JSON.parse(api.body).stderrTail, 'the API');
});
