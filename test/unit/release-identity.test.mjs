// Which code a release is (supervisor/release-identity.ts): package.json's version; a REVISION file's first line, else
// the commit its .git checks out (detached, a loose branch, a packed one); nothing for what cannot be read. And its
// metric, baton_release_info, with a version that needs escaping.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { Metrics } from '../../dist/admin/metrics.js';
import { identify } from '../../dist/supervisor/release-identity.js';
import { tmpDir } from '../helpers/proc.mjs';

const SHA = '3f2c1a9b0d4e5f60718293a4b5c6d7e8f9012345';

/** A directory holding `files` (path → text), removed after the test. */
function dirWith(t, files) {
  const dir = tmpDir('baton-identity-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

test('a release is known by its version and its REVISION, else its git commit', (t) => {
  const pkg = { 'package.json': JSON.stringify({ name: 'app', version: '1.4.0' }) };
  assert.deepEqual(identify(dirWith(t, { ...pkg, REVISION: 'build-812\nmore' })), {
    version: '1.4.0',
    revision: 'build-812',
  });
  assert.deepEqual(identify(dirWith(t, { '.git/HEAD': `${SHA}\n` })), { revision: SHA }, 'detached');
  const branch = { '.git/HEAD': 'ref: refs/heads/main\n' };
  assert.deepEqual(identify(dirWith(t, { ...branch, '.git/refs/heads/main': `${SHA}\n` })), { revision: SHA });
  const packed = `# pack-refs with: peeled\n${SHA} refs/heads/main\n`;
  assert.deepEqual(identify(dirWith(t, { ...branch, '.git/packed-refs': packed })), { revision: SHA }, 'packed');
  assert.deepEqual(identify(dirWith(t, { 'package.json': '{ not json', REVISION: '\n' })), {}, 'nothing readable');
  assert.deepEqual(identify(path.join(dirWith(t, {}), 'gone')), {});
});

test('baton_release_info: the serving release, its version and revision as labels, escaped (read back whole by a Prometheus parser)', () => {
  const status = {
    name: 'x',
    masterPid: 1,
    uptimeMs: 1,
    generation: 2,
    release: 'v2',
    releaseIdentity: { version: '1.4.0-"rc"', revision: SHA },
    workers: [],
    listeners: [],
    reloads: [],
  };
  const text = new Metrics().render(status);
  const [info] = parsePrometheus(text).filter((f) => f.name === 'baton_release_info');
  assert.deepEqual(info.metrics, [{ labels: { release: 'v2', version: '1.4.0-"rc"', revision: SHA }, value: '1' }]);
  assert.doesNotMatch(new Metrics().render({ ...status, release: undefined }), /baton_release_info/);
});
