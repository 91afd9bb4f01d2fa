// The health gate's verdict (supervisor/health.ts) on counts as the master
// adds them up from heartbeats (supervisor/requests.ts), and a reload's steps
// (supervisor/rollout.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparison, judge } from '../../dist/supervisor/health.js';
import { rolloutOf, stepsOf } from '../../dist/supervisor/rollout.js';
import { batchSize, parseBatch } from '../../dist/protocol/control.js';
import { RequestHistory } from '../../dist/supervisor/requests.js';
import { CODES, LATENCY_BOUNDS_MS, emptyCounts } from '../../dist/protocol/requests.js';

const T0 = 1_700_000_000_000;
const rules = {
  maxErrorIncrease: 20,
  minJudgedRequests: 20,
  unjudged: /** @type {const} */ ('proceed'),
  maxLatencyRatio: 2,
};

/** A history where, in each of the seconds from T0, `generation` answered `per` requests by class. */
function history(...gens) {
  const h = new RequestHistory();
  for (const { generation, per, seconds = 3, at = T0 } of gens) {
    for (let s = 0; s < seconds; s++) {
      const c = emptyCounts();
      for (const [code, n] of Object.entries(per))
        c.codes[CODES.indexOf(/** @type {import('../../dist/protocol/requests.js').Code} */ (code))] = n;
      h.add(generation * 100, generation, c, at + s * 1000);
    }
  }
  return h;
}
const window = { next: 2, old: 1, fromMs: T0, toMs: T0 + 2500 };

test('a generation answering 5xx to everything fails beside one that does not, with both shares', () => {
  const h = history({ generation: 1, per: { '2xx': 10 } }, { generation: 2, per: { '5xx': 10 } });
  assert.deepEqual(judge(h, window, rules), {
    ok: false,
    text: 'generation 2 answered 5xx or nothing to 100 % of 30 requests (generation 1: 0 % of 30)',
  });
});

test('unanswered requests count as failed; a small excess passes, one of the margin fails', () => {
  const small = history(
    { generation: 1, per: { '2xx': 9, '5xx': 1 } },
    { generation: 2, per: { '2xx': 8, unanswered: 2 } },
  );
  assert.equal(judge(small, window, rules).ok, true, '20 % against 10 %');
  const big = history(
    { generation: 1, per: { '2xx': 9, '5xx': 1 } },
    { generation: 2, per: { '2xx': 7, unanswered: 3 } },
  );
  assert.deepEqual(judge(big, window, rules), {
    ok: false,
    text: 'generation 2 answered 5xx or nothing to 30 % of 30 requests (generation 1: 10 % of 30)',
  });
});

test('an old generation failing as much (a dependency down for both) does not fail the new one', () => {
  const h = history({ generation: 1, per: { '5xx': 10 } }, { generation: 2, per: { '5xx': 10 } });
  assert.equal(judge(h, window, rules).ok, true);
});

test('too few requests to judge: said, and --unjudged decides', () => {
  const h = history({ generation: 1, per: { '2xx': 5 } }, { generation: 2, per: { '5xx': 5 } });
  const text =
    'generation 2 was sent 15 requests in its crash window, fewer than the 20 it is judged on (--unjudged proceed)';
  assert.deepEqual(judge(h, window, rules), { ok: true, text });
  assert.equal(judge(h, window, { ...rules, unjudged: 'rollback' }).ok, false);
});

test('only the seconds of the window count', () => {
  const h = history(
    { generation: 1, per: { '2xx': 10 } },
    { generation: 2, per: { '5xx': 50 }, seconds: 1, at: T0 - 5000 },
    { generation: 2, per: { '2xx': 10 } },
  );
  assert.equal(judge(h, window, rules).ok, true, 'the 5xx before the window are not its');
});

/** A history where each of 3 seconds from T0, `generation` answered `n` requests, all in the bucket ending at `boundMs`. */
function timed(...gens) {
  const h = new RequestHistory();
  for (const { generation, n, boundMs, failed = 0 } of gens) {
    for (let s = 0; s < 3; s++) {
      const c = emptyCounts();
      c.codes[CODES.indexOf('2xx')] = n - failed;
      c.codes[CODES.indexOf('5xx')] = failed;
      c.buckets[LATENCY_BOUNDS_MS.indexOf(boundMs)] = n;
      h.add(generation * 100, generation, c, T0 + s * 1000);
    }
  }
  return h;
}
const canary = { ...window, canary: true };

test('a canary is judged on its p99 too: past --max-latency-ratio times the old one, it fails, with both', () => {
  const slow = timed({ generation: 1, n: 20, boundMs: 10 }, { generation: 2, n: 10, boundMs: 100 });
  assert.deepEqual(judge(slow, canary, rules), {
    ok: false,
    text: 'generation 2 answered slower than 2 × generation 1: p99 100 ms of 30 answers (generation 1: 9.9 ms of 60)',
  });
  assert.equal(judge(slow, window, rules).ok, true, 'a crash window is not judged on latency');
  assert.equal(judge(slow, canary, { ...rules, maxLatencyRatio: 0 }).ok, true, '0 turns it off');
  assert.equal(judge(slow, canary, { ...rules, maxLatencyRatio: 11 }).ok, true);
  const same = timed({ generation: 1, n: 20, boundMs: 10 }, { generation: 2, n: 10, boundMs: 10 });
  assert.deepEqual(judge(same, canary, rules), {
    ok: true,
    text: 'generation 2 answered 5xx or nothing to 0 % of 30 requests (generation 1: 0 % of 60); p99 9.9 ms of 30 answers (generation 1: 9.9 ms of 60)',
  });
});

test("a canary's errors are judged first; an old generation with too few answers leaves latency unjudged", () => {
  const failing = timed({ generation: 1, n: 20, boundMs: 10 }, { generation: 2, n: 10, boundMs: 100, failed: 10 });
  assert.match(judge(failing, canary, rules).text, /^generation 2 answered 5xx or nothing to 100 % of 30 requests/);
  const quietOld = timed({ generation: 1, n: 5, boundMs: 10 }, { generation: 2, n: 10, boundMs: 100 });
  assert.equal(judge(quietOld, canary, rules).ok, true, 'the old p99 of 15 answers is none to compare with');
  const quiet = timed({ generation: 1, n: 20, boundMs: 10 }, { generation: 2, n: 5, boundMs: 100 });
  assert.deepEqual(judge(quiet, canary, { ...rules, unjudged: 'rollback' }), {
    ok: false,
    text: 'generation 2 was sent 15 requests in its canary, fewer than the 20 it is judged on (--unjudged rollback)',
  });
});

test("a canary's running comparison gives both shares and p99s", () => {
  const h = timed({ generation: 1, n: 20, boundMs: 10 }, { generation: 2, n: 10, boundMs: 100, failed: 1 });
  assert.equal(
    comparison(h, canary),
    'generation 2: 10 % 5xx or nothing of 30 requests, p99 100 ms; generation 1: 0 % of 60, p99 9.9 ms',
  );
});

test('a rollout in steps: a canary is the first batch with a wait; every step but the last takes old slots', () => {
  const w = (workers, forMs, canary, swapIn) => ({ workers, forMs, canary, swapIn });
  assert.deepEqual(stepsOf(4, 3000, {}), [w(4, 3000, false, false)]);
  assert.deepEqual(stepsOf(4, 3000, { canary: { workers: 1, forMs: 30_000 } }), [
    w(1, 30_000, true, false),
    w(3, 3000, false, false),
  ]);
  assert.deepEqual(stepsOf(5, 3000, { batch: 2 }), [
    w(2, 3000, false, true),
    w(2, 3000, false, true),
    w(1, 3000, false, false),
  ]);
  assert.deepEqual(stepsOf(4, 3000, { canary: { workers: 1, forMs: 9000 }, batch: 2 }), [
    w(1, 9000, true, true),
    w(2, 3000, false, true),
    w(1, 3000, false, false),
  ]);
  assert.deepEqual(rolloutOf([{}], '25%', 8), { canary: undefined, batch: 2 });
  assert.deepEqual(rolloutOf([{ batch: { workers: 3 } }], '25%', 8).batch, 3, 'a reload names its own');
  assert.equal(rolloutOf([{}], undefined, 8).batch, undefined);
  assert.equal(batchSize({ percent: 10 }, 4), 1, 'at least one');
  assert.deepEqual(parseBatch('0'), { error: "--batch: '0' is not a batch (use a worker count like 2, or 25%)" });
  assert.ok('error' in parseBatch('101%'));
});
