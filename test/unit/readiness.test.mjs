// Unit tests for dist/worker/readiness.js: when a new process counts as ready.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readiness } from '../../dist/worker/readiness.js';

/**
 * A Readiness whose onReady resolves `whenReady` and counts calls.
 * @param {{ waitReady?: boolean, settleMs?: number, inheritedCount?: number, unadopted?: () => number }} [options]
 */
function make({ waitReady = false, settleMs = 30, inheritedCount = 0, unadopted = () => 0 } = {}) {
  const state = { calls: 0 };
  let resolve;
  state.whenReady = new Promise((r) => {
    resolve = r;
  });
  state.readiness = new Readiness({
    waitReady,
    settleMs,
    inheritedCount,
    unadopted,
    onReady: () => {
      state.calls += 1;
      resolve();
    },
  });
  return state;
}

/** Resolves true when `promise` settles within `ms`, false otherwise; the timer is ref'd so the loop stays up. */
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Readiness (real timers, bounded)', () => {
  test('not ready before anything happens, and no timer runs without a listen', async () => {
    const s = make({ settleMs: 20 });
    assert.equal(s.readiness.isReady, false);
    assert.equal(await within(s.whenReady, 100), false);
    assert.equal(s.calls, 0);
  });

  test('waitReady: listened() is ignored; only declare() makes it ready', async () => {
    const s = make({ waitReady: true, settleMs: 20, inheritedCount: 1, unadopted: () => 0 });
    s.readiness.listened();
    s.readiness.listened();
    assert.equal(s.readiness.isReady, false, 'even with every inherited socket adopted');
    assert.equal(await within(s.whenReady, 120), false, 'nor after the settle time');
    assert.equal(s.calls, 0);
    s.readiness.declare();
    assert.equal(s.readiness.isReady, true);
    assert.equal(s.calls, 1);
  });

  test('every inherited socket adopted: ready at once on listened()', () => {
    let left = 2;
    const s = make({ settleMs: 60_000, inheritedCount: 2, unadopted: () => left });
    left = 1;
    s.readiness.listened();
    assert.equal(s.readiness.isReady, false, 'one inherited socket is still unadopted');
    left = 0;
    s.readiness.listened();
    assert.equal(s.readiness.isReady, true, 'synchronously, without waiting for the 60 s settle timer');
    assert.equal(s.calls, 1);
  });

  test('inheritedCount 0: ready once settleMs has passed after listened()', async () => {
    const settleMs = 30;
    const s = make({ settleMs, inheritedCount: 0 });
    const t0 = performance.now();
    s.readiness.listened();
    assert.equal(s.readiness.isReady, false, 'not synchronously');
    assert.equal(await within(s.whenReady, 5000), true, 'ready within the bound');
    const elapsed = performance.now() - t0;
    assert.ok(
      elapsed >= settleMs - 2,
      `ready after ${elapsed.toFixed(1)} ms, not before the ${settleMs} ms settle time`,
    );
    assert.equal(s.readiness.isReady, true);
    assert.equal(s.calls, 1);
  });

  test('fewer listens than inherited sockets: ready after the settle time', async () => {
    const s = make({ settleMs: 30, inheritedCount: 2, unadopted: () => 1 });
    s.readiness.listened();
    assert.equal(s.readiness.isReady, false);
    assert.equal(await within(s.whenReady, 5000), true);
    assert.equal(s.calls, 1);
  });

  test('onReady runs exactly once: declare() twice, listened() after, timer after declare()', async () => {
    const s = make({ settleMs: 20, inheritedCount: 0 });
    s.readiness.listened();
    s.readiness.declare();
    s.readiness.declare();
    s.readiness.listened();
    assert.equal(s.calls, 1);
    await sleep(80); // past the settle timer that declare() must have cleared
    assert.equal(s.calls, 1);
    assert.equal(s.readiness.isReady, true);
  });
});

describe('Readiness (mock timers)', () => {
  test('repeated listened() restarts the settle timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const s = make({ settleMs: 100, inheritedCount: 0 });
    s.readiness.listened();
    t.mock.timers.tick(90);
    assert.equal(s.readiness.isReady, false);
    s.readiness.listened(); // restart: now due at 190
    t.mock.timers.tick(90); // 180: the first timer would have fired at 100
    assert.equal(s.readiness.isReady, false, 'the first timer was cancelled');
    assert.equal(s.calls, 0);
    s.readiness.listened(); // due at 280
    t.mock.timers.tick(99);
    assert.equal(s.readiness.isReady, false);
    t.mock.timers.tick(1);
    assert.equal(s.readiness.isReady, true);
    assert.equal(s.calls, 1);
    t.mock.timers.tick(1000);
    assert.equal(s.calls, 1, 'no stale timer fires later');
  });

  test('adopting the last inherited socket while the settle timer runs: ready at once, timer dropped', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let left = 2;
    const s = make({ settleMs: 100, inheritedCount: 2, unadopted: () => left });
    left = 1;
    s.readiness.listened();
    t.mock.timers.tick(50);
    assert.equal(s.readiness.isReady, false);
    left = 0;
    s.readiness.listened();
    assert.equal(s.readiness.isReady, true);
    t.mock.timers.tick(500);
    assert.equal(s.calls, 1);
  });

  test('waitReady never arms a timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const s = make({ waitReady: true, settleMs: 10, inheritedCount: 0 });
    s.readiness.listened();
    t.mock.timers.tick(10_000);
    assert.equal(s.readiness.isReady, false);
    assert.equal(s.calls, 0);
  });
});
