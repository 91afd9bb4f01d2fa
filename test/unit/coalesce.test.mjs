// Unit tests for dist/generation/coalesce.js: the Coalescer runs one run at a
// time; requests made while a run is under way join one queued run that gets
// all their arguments; a request within minIntervalMs of the last start waits
// for the interval; a run that rejects does not block the queued one.
//
// Every run is a promise the test settles itself, so nothing here depends on
// how fast the machine is. A queued run starts after a sleep() of 0 ms (a real
// timer), so the tests with real timers wait for it by polling, bounded; the
// interval tests use node:test's mock timers for setTimeout and Date and let
// promise callbacks run with setImmediate (never mocked here).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../dist/generation/coalesce.js';

/** Lets pending promise callbacks run (setImmediate is never mocked here). */
const flush = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Waits until `cond()` holds, looking every ms; fails after `ms` (real timers only). */
async function waitFor(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** With mock timers: lets promise callbacks run, fires the timers due now (no time passes), and again. */
async function settleMocked(t) {
  await flush();
  t.mock.timers.tick(0);
  await flush();
}

/** A run function whose runs the test settles: runs[i] = { args, resolve, reject }. */
function controlledRun() {
  const runs = [];
  let active = 0;
  let maxActive = 0;
  const run = (args) =>
    new Promise((resolve, reject) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const settle = (fn) => (v) => {
        active--;
        fn(v);
      };
      runs.push({ args: [...args], resolve: settle(resolve), reject: settle(reject) });
    });
  return { run, runs, maxActive: () => maxActive };
}

describe('Coalescer', () => {
  test('the first request starts a run at once, with its argument, not queued', async () => {
    const c = controlledRun();
    const co = new Coalescer(c.run);
    const r = co.request('a');
    assert.equal(r.queued, false);
    assert.equal(c.runs.length, 1);
    assert.deepEqual(c.runs[0].args, ['a']);
    c.runs[0].resolve('done-a');
    assert.equal(await r.result, 'done-a');
  });

  test('one run at a time: requests during a run join one queued run that gets all their args', async () => {
    const c = controlledRun();
    const co = new Coalescer(c.run);
    const first = co.request(1);
    const second = co.request(2);
    const third = co.request(3);
    assert.equal(first.queued, false);
    assert.equal(second.queued, true);
    assert.equal(third.queued, true);
    assert.equal(second.result, third.result, 'the queued requests share one result');

    await flush();
    assert.equal(c.runs.length, 1, 'the queued run waits for the running one');

    c.runs[0].resolve('run-1');
    assert.equal(await first.result, 'run-1');
    await waitFor(() => c.runs.length === 2, 'the queued run');
    assert.deepEqual(c.runs[1].args, [2, 3]);

    // A request while the queued run is running opens a new queued run.
    const fourth = co.request(4);
    assert.equal(fourth.queued, true);
    assert.notEqual(fourth.result, second.result);
    await flush();
    assert.equal(c.runs.length, 2);

    c.runs[1].resolve('run-2');
    assert.equal(await second.result, 'run-2');
    assert.equal(await third.result, 'run-2');
    await waitFor(() => c.runs.length === 3, 'the third run');
    assert.deepEqual(c.runs[2].args, [4]);
    c.runs[2].resolve('run-3');
    assert.equal(await fourth.result, 'run-3');

    assert.equal(c.maxActive(), 1, 'never two runs at once');
  });

  test('a request after the run is over (and no interval) starts at once', async () => {
    const c = controlledRun();
    const co = new Coalescer(c.run);
    const first = co.request('a');
    c.runs[0].resolve(1);
    await first.result;
    await flush();
    const second = co.request('b');
    assert.equal(second.queued, false);
    assert.equal(c.runs.length, 2);
    assert.deepEqual(c.runs[1].args, ['b']);
    c.runs[1].resolve(2);
    assert.equal(await second.result, 2);
  });

  test('a request within minIntervalMs of the last start waits for the interval', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const c = controlledRun();
    const co = new Coalescer(c.run, 1000);

    const first = co.request('a');
    assert.equal(first.queued, false);
    c.runs[0].resolve('one');
    assert.equal(await first.result, 'one');

    t.mock.timers.tick(300);
    const second = co.request('b');
    assert.equal(second.queued, true, 'the last start was 300 ms ago');
    const third = co.request('c');
    assert.equal(third.result, second.result);
    await flush();
    assert.equal(c.runs.length, 1);

    t.mock.timers.tick(699);
    await flush();
    assert.equal(c.runs.length, 1, '999 ms after the last start: still waiting');

    t.mock.timers.tick(1);
    await flush();
    assert.equal(c.runs.length, 2, '1000 ms after the last start: the queued run starts');
    assert.deepEqual(c.runs[1].args, ['b', 'c']);
    assert.equal(Date.now(), 1_000_000 + 1000);
    c.runs[1].resolve('two');
    assert.equal(await second.result, 'two');

    // Once the interval since the last start has passed, a request starts at once.
    t.mock.timers.tick(1000);
    const fourth = co.request('d');
    assert.equal(fourth.queued, false);
    assert.equal(c.runs.length, 3);
    c.runs[2].resolve('three');
    assert.equal(await fourth.result, 'three');
  });

  test('a run that takes longer than the interval: the queued run starts as soon as it is over', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 5_000 });
    const c = controlledRun();
    const co = new Coalescer(c.run, 100);
    const first = co.request('a');
    const second = co.request('b');
    assert.equal(second.queued, true);
    t.mock.timers.tick(500);
    await flush();
    assert.equal(c.runs.length, 1);
    c.runs[0].resolve('one');
    await first.result;
    await settleMocked(t);
    assert.equal(c.runs.length, 2, 'no further wait: the interval has long passed');
    c.runs[1].resolve('two');
    assert.equal(await second.result, 'two');
  });

  test("a run that rejects still lets the queued one start; each caller gets its own run's outcome", async () => {
    const c = controlledRun();
    const co = new Coalescer(c.run);
    const first = co.request('a');
    const second = co.request('b');
    const failure = new Error('run failed');
    c.runs[0].reject(failure);
    await assert.rejects(first.result, failure);
    await waitFor(() => c.runs.length === 2, 'the queued run');
    assert.deepEqual(c.runs[1].args, ['b']);
    c.runs[1].resolve('recovered');
    assert.equal(await second.result, 'recovered');

    // And the coalescer is usable afterwards.
    const third = co.request('c');
    assert.equal(third.queued, false);
    c.runs[2].resolve('again');
    assert.equal(await third.result, 'again');
  });

  test('a queued run that rejects rejects every request it served, and the next request starts at once', async () => {
    const c = controlledRun();
    const co = new Coalescer(c.run);
    const first = co.request(1);
    const second = co.request(2);
    const third = co.request(3);
    c.runs[0].resolve('ok');
    await first.result;
    await waitFor(() => c.runs.length === 2, 'the queued run');
    const failure = new Error('queued run failed');
    c.runs[1].reject(failure);
    await assert.rejects(second.result, failure);
    await assert.rejects(third.result, failure);
    await flush();
    const fourth = co.request(4);
    assert.equal(fourth.queued, false);
    assert.equal(c.runs.length, 3);
    c.runs[2].resolve('fine');
    assert.equal(await fourth.result, 'fine');
  });
});
