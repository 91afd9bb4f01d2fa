// Sizes as --max-memory and BATON_MAX_MEMORY read them, and the default
// --max-memory drawn from a container's memory limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { formatSize, parseSize } from '../../dist/protocol/settings.js';
import { defaultMaxMemory } from '../../dist/generation/limits.js';

const MiB = 2 ** 20;

for (const [text, bytes] of /** @type {[string, number][]} */ ([
  ['512M', 512 * MiB],
  ['512m', 512 * MiB],
  ['300MiB', 300 * MiB],
  ['1.5G', 1.5 * 1024 * MiB],
  ['2GB', 2 * 1024 * MiB],
  ['4096K', 4 * MiB],
  ['0', 0],
  ['1048576', MiB],
  ['1536B', 1536],
  [' 64M ', 64 * MiB],
])) {
  test(`parseSize(${JSON.stringify(text)}) = ${bytes}`, () => assert.equal(parseSize(text, 'X'), bytes));
}

for (const text of ['', 'M', '512 X', '-5M', '5T', '1e9', 'lots', '512']) {
  test(`parseSize(${JSON.stringify(text)}) throws one line naming the input`, () =>
    assert.throws(
      () => parseSize(text, '--max-memory'),
      (err) => err instanceof Error && err.message.startsWith('--max-memory: ') && !err.message.includes('\n'),
    ));
}

test('a bare number under 1 MiB is refused with the fix: 512 means 512M', () => {
  assert.throws(() => parseSize('512', '--max-memory'), { message: '--max-memory: 512 is 512 bytes; write 512M' });
});

test('formatSize reads back as parseSize parses it', () => {
  for (const bytes of [512 * MiB, 2 * 1024 * MiB, 4 * 1024, 1536 * MiB, 3 * MiB + 1])
    assert.equal(parseSize(formatSize(bytes), 'X'), bytes);
  assert.equal(formatSize(512 * MiB), '512M');
  assert.equal(formatSize(2 * 1024 * MiB), '2G');
});

test('default --max-memory: the container limit shared so that a reload (both generations) fits; none without one', () => {
  assert.equal(defaultMaxMemory(2, 2048 * MiB), 512 * MiB);
  assert.equal(defaultMaxMemory(1, 1024 * MiB), 512 * MiB);
  assert.equal(defaultMaxMemory(2, undefined), 0, 'no limit known');
  assert.equal(defaultMaxMemory(2, 0), 0, 'no limit (newer Node says 0)');
  assert.equal(defaultMaxMemory(2, 2 ** 64), 0, 'cgroup "max": more than the machine has');
  assert.equal(defaultMaxMemory(2, os.totalmem()), 0);
});
