// until(): the drain's wait for its connections to close. It looks again as
// each closes (the wait ends with the event), and on a poll for what no event
// announces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../../dist/time.js';

const T = { timeout: 10_000 };

test('until looks again when woken: with a poll longer than the test, only the wake can end the wait', T, async () => {
  let held = false;
  /** @type {() => void} */
  let look;
  const waiting = until(() => held, Date.now() + 60_000, { pollMs: 60_000, wake: (fn) => (look = fn) });
  await new Promise(setImmediate);
  look(); // woken while it does not hold yet: it waits on
  await new Promise(setImmediate);
  held = true;
  look();
  assert.equal(await waiting, true);
});

test('until gives up at its deadline, false, when nothing makes it hold', T, async () => {
  let looks = 0;
  const held = await until(
    () => {
      looks++;
      return false;
    },
    Date.now() + 50,
    { pollMs: 10 },
  );
  assert.equal(held, false);
  assert.ok(looks >= 2, `looked ${looks} times`);
});
