// Unit tests for parseDuration in dist/protocol/settings.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../dist/protocol/settings.js';

/** @type {[string, number][]} */
const good = [
  ['500ms', 500],
  ['2s', 2000],
  ['1m', 60000],
  ['6h', 21_600_000],
  ['1000', 1000],
  ['0', 0],
  ['0s', 0],
  ['1.5s', 1500],
  ['0.5m', 30000],
  ['1.0004s', 1000],
  [' 2s ', 2000],
];
for (const [value, ms] of good) {
  test(`parseDuration(${JSON.stringify(value)}) = ${ms}`, () => {
    assert.equal(parseDuration(value, 'X'), ms);
  });
}

const bad = ['abc', '-5s', '', '   ', 's', '5 s', '5d', '5S', '1e3', '.5s', '5.s', '5ms5', 'Infinity', 'NaN', '0x10'];
for (const value of bad) {
  test(`parseDuration(${JSON.stringify(value)}) throws, naming the input, on one line`, () => {
    assert.throws(
      () => parseDuration(value, '--ready-timeout'),
      (err) => {
        assert.ok(err instanceof Error);
        assert.ok(err.message.startsWith('--ready-timeout: '), err.message);
        assert.ok(err.message.includes(`'${value}'`), err.message);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
  });
}

test('a duration Node.js timers cannot hold (2^31 ms or more) is refused, naming the input and the ceiling', () => {
  assert.equal(parseDuration('2147483647', 'X'), 2 ** 31 - 1);
  for (const value of ['40000m', '2147483648', '2147484s']) {
    assert.throws(
      () => parseDuration(value, '--drain-timeout'),
      (/** @type {Error} */ err) => {
        assert.match(
          err.message,
          /^--drain-timeout: '\d+m?s?' is longer than Node\.js timers can wait \(at most 2147483647 ms/,
        );
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
  }
});

test('a bare number under 1000 other than 0 is refused in one line: --drain-timeout 30 is far more often meant as 30s', () => {
  for (const value of ['30', '999', '2.5', ' 30 ']) {
    assert.throws(
      () => parseDuration(value, '--drain-timeout'),
      (/** @type {Error} */ err) => {
        const n = value.trim();
        assert.equal(err.message, `--drain-timeout: ${n} is ${n} ms; write ${n}ms or ${n}s`);
        return true;
      },
    );
  }
});
