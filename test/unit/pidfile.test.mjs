// Unit tests for dist/worker/pidfile.js: the pid file is replaced atomically,
// through a temporary file no one could plant a link at, and a failed write
// says why and leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePidFile, removePidFile } from '../../dist/worker/pidfile.js';

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-pidfile-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('writes the pid, replaces it, and removes it only while it names this process', () => {
  const file = path.join(dir, 'app.pid');
  writePidFile(file, 4242);
  assert.equal(fs.readFileSync(file, 'utf8'), '4242\n');
  removePidFile(file);
  assert.ok(fs.existsSync(file), 'another pid: kept');
  writePidFile(file, process.pid);
  assert.equal(fs.readFileSync(file, 'utf8'), `${process.pid}\n`);
  removePidFile(file);
  assert.equal(fs.existsSync(file), false);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a rename that fails (the target is a directory) leaves no temp file behind', () => {
  const sub = fs.mkdtempSync(path.join(dir, 'in-the-way-'));
  const target = path.join(sub, 'app.pid');
  fs.mkdirSync(target);
  const failed = writePidFile(target, 4242); // returned, never thrown into the process
  assert.match(failed, /^cannot write the pid file .*app\.pid: Error: /);
  assert.deepEqual(fs.readdirSync(sub), ['app.pid']);
  assert.ok(fs.statSync(target).isDirectory());
});

test('a link planted at the temporary name a writer could once be predicted to use is not followed', () => {
  const sub = fs.mkdtempSync(path.join(dir, 'planted-'));
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'root-owned\n');
  // The name this process's writer used before: `.<base>.<pid>.tmp`.
  fs.symlinkSync(victim, path.join(sub, `.app.pid.${process.pid}.tmp`));
  assert.equal(writePidFile(path.join(sub, 'app.pid'), 4242), undefined);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'root-owned\n');
  assert.equal(fs.readFileSync(path.join(sub, 'app.pid'), 'utf8'), '4242\n');
});

test('a pid file in a directory that is gone is not written, and says so in one line', () => {
  const failed = writePidFile(path.join(dir, 'no-such-dir', 'app.pid'), 4242);
  assert.match(failed, /^cannot write the pid file .*no-such-dir\/app\.pid: Error: ENOENT: [^\n]*$/);
});
