// The health gate's verdict (supervisor/health.ts) on counts as the master
// adds them up from heartbeats (supervisor/requests.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../../dist/supervisor/health.js';
import { RequestHistory } from '../../dist/supervisor/requests.js';
import { CODES, emptyCounts } from '../../dist/protocol/requests.js';

const T0 = 1_700_000_000_000;
const rules = { maxErrorIncrease: 20, minJudgedRequests: 20, unjudged: /** @type {const} */ ('proceed') };

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
