// The upgrade signal is baton's: an app's own listeners for it are held back
// until the hand-over, then run once with the signal's name; its SIGTERM and
// SIGINT listeners are run by the drain, once, whatever started it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onStopSignals, onUpgradeSignal } from '../../dist/signals.js';

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
  assert.deepEqual(
    process.listeners(signal).filter((l) => l === app || l === appOnce),
    [],
    'taken off the process',
  );

  // A signal handle does not keep the event loop alive: the safety net's timer does.
  await new Promise((resolve, reject) => {
    const net = setTimeout(() => reject(new Error("the signal never reached baton's listener")), 10_000);
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

test("the app's SIGTERM and SIGINT listeners stay on the process but run only when the drain runs them, each once", async (t) => {
  const stops = [];
  let stopped;
  const listeners = onStopSignals(
    (signal) => {
      stops.push(signal);
      stopped?.();
    },
    () => {},
  );
  const calls = [];
  const both = (s) => calls.push(`both ${s}`);
  const term = (s) => calls.push(`term ${s}`);
  const removed = () => calls.push('removed');
  process.on('SIGTERM', both);
  process.on('SIGINT', both);
  process.once('SIGTERM', term);
  process.on('SIGTERM', removed);
  await null;
  process.removeListener('SIGTERM', removed);
  t.after(() => ['SIGTERM', 'SIGINT'].forEach((s) => process.removeAllListeners(s)));
  assert.deepEqual(process.listeners('SIGTERM').slice(-2), [both, term], 'the app sees its own listeners');

  await new Promise((resolve, reject) => {
    const net = setTimeout(() => reject(new Error("the signal never reached baton's listener")), 10_000);
    stopped = () => resolve(clearTimeout(net));
    process.kill(process.pid, 'SIGINT');
  });
  assert.deepEqual(stops, ['SIGINT']);
  assert.deepEqual(calls, [], 'the app heard nothing at the signal itself');
  assert.equal(listeners.listens('SIGTERM'), true);

  listeners.run('SIGINT');
  assert.deepEqual(calls, ['both SIGTERM', 'term SIGTERM'], "SIGTERM's then SIGINT's, a function on both once");
  listeners.run('SIGINT');
  assert.equal(calls.length, 2, 'and only once');
  process.removeListener('SIGTERM', both);
  process.removeListener('SIGTERM', term);
  assert.equal(
    listeners.listens('SIGTERM'),
    false,
    'an app that takes its listeners off (to re-raise the signal) no longer listens',
  );
});
