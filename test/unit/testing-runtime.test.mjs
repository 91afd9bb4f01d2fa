// Unit tests for dist/testing/runtime.js, batonjs/testing's stub runtime: an
// app's onDrain and onShutdown hooks run as baton would run them, against a
// deadline, and isDraining() turns true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDraining, onDrain, onShutdown } from '../../dist/index.js';
import { installTestRuntime } from '../../dist/testing/runtime.js';

test('drain() runs the onDrain hooks with the reason and the time left; shutdown() then runs only the onShutdown hooks', async (t) => {
  const runtime = installTestRuntime();
  t.after(() => runtime.restore());
  const ran = [];
  onDrain(({ reason, msLeft }) => {
    ran.push(['drain', reason, msLeft > 0 && msLeft <= 2000]);
  });
  onShutdown(({ reason, connections }) => {
    ran.push(['shutdown', reason, connections.length]);
  });
  assert.equal(isDraining(), false);
  await runtime.drain({ reason: 'upgrade', deadlineMs: 2000 });
  assert.equal(isDraining(), true);
  assert.deepEqual(ran, [['drain', 'upgrade', true]]);
  await runtime.shutdown({ reason: 'upgrade' });
  assert.deepEqual(ran, [
    ['drain', 'upgrade', true],
    ['shutdown', 'upgrade', 0],
  ]);
});

test('shutdown() alone runs the onDrain hooks first, as baton does; restore() forgets every hook', async (t) => {
  const runtime = installTestRuntime();
  const ran = [];
  onShutdown(() => {
    ran.push('shutdown');
  });
  onDrain(() => {
    ran.push('drain');
  });
  await runtime.shutdown();
  assert.deepEqual(ran, ['drain', 'shutdown']);
  runtime.restore();
  const next = installTestRuntime();
  t.after(() => next.restore());
  await next.shutdown();
  assert.deepEqual(ran, ['drain', 'shutdown'], 'the hooks of the last test are gone');
});
