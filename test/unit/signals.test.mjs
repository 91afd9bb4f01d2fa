// The upgrade signal is baton's: an app's own listeners for it are held back
// until the hand-over, then run once with the signal's name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onUpgradeSignal } from '../../dist/signals.js';

test('an app listener for the upgrade signal does not run at the signal, only when the held listeners are run', async (t) => {
  const signal = 'SIGWINCH';
  let upgrades = 0;
  let upgraded;
  const upgrade = () => {
    upgrades++;
    upgraded?.();
  };
  const runHeld = onUpgradeSignal(signal, upgrade);
  const calls = [];
  const app = (s) => calls.push(s);
  const appOnce = (s) => calls.push(`once ${s}`);
  process.on(signal, app);
  process.once(signal, appOnce);
  t.after(() => {
    process.removeListener(signal, upgrade);
    process.removeListener(signal, app);
    process.removeListener(signal, appOnce);
  });
  await null;
  assert.deepEqual(process.listeners(signal).filter((l) => l === app || l === appOnce), [], 'taken off the process');

  // A signal handle does not keep the event loop alive: the safety net's timer does.
  await new Promise((resolve, reject) => {
    const net = setTimeout(() => reject(new Error('the signal never reached baton\'s listener')), 10_000);
    upgraded = () => resolve(clearTimeout(net));
    process.kill(process.pid, signal);
  });
  assert.equal(upgrades, 1);
  assert.deepEqual(calls, [], 'the app heard nothing at the signal');

  runHeld();
  assert.deepEqual(calls, [signal, `once ${signal}`], 'each app listener ran once, with the signal, in order');
  runHeld();
  assert.equal(calls.length, 2, 'and only once');
});
