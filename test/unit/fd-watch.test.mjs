// Unit tests for dist/worker/fd-watch.js: reading the limit from
// /proc/self/limits, what counts as near it, and that the watch never keeps a
// process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { exhaustionLine, nearLimit, parseOpenFilesLimit } from '../../dist/worker/fd-watch.js';

const watchUrl = new URL('../../dist/worker/fd-watch.js', import.meta.url).href;

// As Linux writes it: padded columns, the soft limit first.
const limits = (soft, hard) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             96364                96364                processes ',
    `Max open files            ${soft.padEnd(21)}${hard.padEnd(21)}files     `,
    'Max locked memory         8388608              8388608              bytes     ',
    '',
  ].join('\n');

test('the soft limit on open files is read from /proc/self/limits', () => {
  assert.equal(parseOpenFilesLimit(limits('1024', '524288')), 1024);
  assert.equal(parseOpenFilesLimit(limits('64', '64')), 64);
  assert.equal(parseOpenFilesLimit(limits('1048576', '1048576')), 1048576);
});

test('no limit is read where there is none to warn about, or no such line', () => {
  assert.equal(parseOpenFilesLimit(limits('unlimited', 'unlimited')), undefined);
  assert.equal(
    parseOpenFilesLimit('Limit  Soft Limit  Hard Limit  Units\nMax processes  100  100  processes\n'),
    undefined,
  );
  assert.equal(parseOpenFilesLimit(''), undefined);
});

test("this process's own limit reads as a number", { skip: process.platform !== 'linux' && 'no /proc' }, async () => {
  const fs = await import('node:fs');
  const limit = parseOpenFilesLimit(fs.readFileSync('/proc/self/limits', 'utf8'));
  assert.ok(Number.isInteger(limit) && limit > 0, String(limit));
});

test('near the limit: within 2 % of it, and at least 16', () => {
  assert.equal(nearLimit(47, 64), false);
  assert.equal(nearLimit(48, 64), true);
  assert.equal(nearLimit(64, 64), true);
  assert.equal(nearLimit(1002, 1024), false);
  assert.equal(nearLimit(1003, 1024), true);
  assert.equal(nearLimit(1027603, 1048576), false);
  assert.equal(nearLimit(1027604, 1048576), true);
});

test('the warning says what it costs and the fix', () => {
  const fix = '(raise the limit with ulimit -n, or LimitNOFILE= under systemd)';
  assert.equal(
    exhaustionLine(1017, 1024),
    `file descriptors nearly exhausted: new connections are reset while none are free ${fix}`,
  );
  assert.equal(
    exhaustionLine(1024, 1024),
    `file descriptors exhausted: new connections are reset while none are free ${fix}`,
  );
});

test('a process that watches its fds still exits once it has nothing else to do', () => {
  // A timer that kept it alive would hold it until the spawn's timeout.
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `(await import(${JSON.stringify(watchUrl)})).watchFds();`],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(r.error, undefined, `the process did not exit: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
});
