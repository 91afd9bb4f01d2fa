// Unit tests for dist/worker/pidfile.js: the pid file is replaced atomically,
// and a failed write leaves nothing behind.
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
  writePidFile(target, 4242); // logs the failure; never throws into the process
  assert.deepEqual(fs.readdirSync(sub), ['app.pid']);
  assert.ok(fs.statSync(target).isDirectory());
});
