// The node binary a generation runs on (generation/node-binary.ts): checked
// before anything starts, each refusal one line naming the path and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MIN_NODE_MAJOR, nodeVersion } from '../../dist/generation/node-binary.js';
import { tmpDir } from '../helpers/proc.mjs';

/** An executable script at DIR/name that says `text` and exits `code`. */
function script(t, body, mode = 0o755) {
  const dir = tmpDir('baton-node-bin-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'node');
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode });
  return file;
}

test('the node that runs the tests: its version', () => {
  assert.deepEqual(nodeVersion(process.execPath), { version: process.version });
});

test('refused, each in one line naming the path: not absolute, missing, not runnable, a directory', (t) => {
  assert.deepEqual(nodeVersion('bin/node'), { error: "node 'bin/node' is not an absolute path" });
  assert.deepEqual(nodeVersion('/nonexistent/node'), {
    error: "node '/nonexistent/node' does not exist (give the path of a node binary)",
  });
  const plain = script(t, 'echo v22.0.0', 0o644);
  assert.deepEqual(nodeVersion(plain), {
    error: `node '${plain}' cannot be run (EACCES; chmod +x it, or give another)`,
  });
  const dir = path.dirname(plain);
  assert.deepEqual(nodeVersion(dir), { error: `node '${dir}' is not a file (give the path of a node binary)` });
});

test('refused: a binary that fails, one that is no node, one too old', (t) => {
  const failing = script(t, 'exit 1');
  assert.deepEqual(nodeVersion(failing), { error: `node '${failing}' --version failed (exit 1): not a node binary` });
  const other = script(t, 'echo 3.12.1');
  assert.deepEqual(nodeVersion(other), { error: `node '${other}' --version said '3.12.1': not a node binary` });
  const old = script(t, 'echo v18.20.4');
  assert.deepEqual(nodeVersion(old), {
    error: `node '${old}' is Node.js v18.20.4; baton's workers need ${MIN_NODE_MAJOR} or later`,
  });
});

test('asked again when the binary is replaced in place', (t) => {
  const file = script(t, 'echo v22.1.0');
  assert.deepEqual(nodeVersion(file), { version: 'v22.1.0' });
  fs.writeFileSync(file, '#!/bin/sh\necho v24.11.0 # a longer file: another size\n');
  assert.deepEqual(nodeVersion(file), { version: 'v24.11.0' });
});
