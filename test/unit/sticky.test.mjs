// The warning that socket.io's polling transport needs sticky sessions, said
// by baton run with more than one worker when the app depends on socket.io.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { warnStickySessions } from '../../dist/supervisor/sticky.js';
import { captureLog } from '../helpers/log.mjs';

/** An app directory with `pkg` as its package.json and the script in src/; the script's path. */
function app(t, pkg) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-sticky-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  fs.mkdirSync(path.join(dir, 'src'));
  return { dir, script: path.join(dir, 'src', 'server.js') };
}

test('an app that depends on socket.io, under -w 2: one warning naming its package.json and the fixes', (t) => {
  const { dir, script } = app(t, { dependencies: { 'socket.io': '^4.8.0' } });
  const lines = captureLog(t);
  warnStickySessions(script, 2);
  assert.equal(lines.length, 1, lines.join(''));
  assert.match(
    lines[0],
    /warn: socket\.io's polling transport needs sticky sessions, which baton has no proxy to give: with -w 2 its clients fail; connect them with transports: \['websocket'\], or run -w 1/,
  );
  assert.ok(lines[0].includes(`package=${path.join(dir, 'package.json')}`), lines[0]);
});

test('nothing with one worker, without socket.io, with socket.io only in devDependencies, or with an unreadable package.json', (t) => {
  const lines = captureLog(t);
  warnStickySessions(app(t, { dependencies: { 'socket.io': '^4.8.0' } }).script, 1);
  warnStickySessions(app(t, { dependencies: { express: '^5.0.0' } }).script, 4);
  warnStickySessions(app(t, { devDependencies: { 'socket.io': '^4.8.0' } }).script, 4);
  const broken = app(t, {});
  fs.writeFileSync(path.join(broken.dir, 'package.json'), '{ not json');
  warnStickySessions(broken.script, 4);
  assert.deepEqual(lines, []);
});
