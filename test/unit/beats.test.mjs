// The master's short history of each worker's heartbeats (dist/supervisor/beats.js): a minute of figures per worker,
// oldest first, in fixed memory, dropped as the worker exits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyCounts } from '../../dist/protocol/requests.js';
import { BEATS, BeatHistory } from '../../dist/supervisor/beats.js';

/** A worker whose RSS reads `rss` (null: no /proc), and which exits when `exit()` is called. */
function fakeWorker(pid, rss = 1000) {
  let exit;
  const exited = new Promise((resolve) => (exit = resolve));
  return { pid, rssBytes: () => rss, exited, exit: () => exit({ code: 0, signal: null }) };
}
const answered = (n) => ({ ...emptyCounts(), codes: [n, 0, 0, 1, 0] });

test('each worker keeps its last BEATS heartbeats, oldest first', () => {
  const history = new BeatHistory();
  const [a, b] = [fakeWorker(11), fakeWorker(12, null)];
  for (let i = 0; i < BEATS + 5; i++) history.add(a, { delayMs: i, connections: i % 3, requests: answered(i) });
  history.add(b, { delayMs: 7, connections: 2 });
  const ofA = history.of(11);
  assert.deepEqual(
    ofA.loopDelayMs,
    Array.from({ length: BEATS }, (_, i) => i + 5),
    'the first 5 were dropped',
  );
  assert.deepEqual(
    ofA.requests,
    Array.from({ length: BEATS }, (_, i) => i + 6),
    'every code counts, 1 unanswered',
  );
  assert.equal(ofA.connections.length, BEATS);
  assert.deepEqual(ofA.rssBytes, Array(BEATS).fill(1000));
  assert.deepEqual(history.of(12), { rssBytes: [], loopDelayMs: [7], connections: [2], requests: [] }, 'not known');
  assert.deepEqual(history.of(13), { rssBytes: [], loopDelayMs: [], connections: [], requests: [] });
});

test("a worker's history is dropped as it exits", async () => {
  const history = new BeatHistory();
  const [gone, staying] = [fakeWorker(21), fakeWorker(22)];
  for (const w of [gone, staying]) history.add(w, { delayMs: 1, connections: 1 });
  gone.exit();
  await gone.exited;
  assert.deepEqual(history.of(21).loopDelayMs, [], 'dropped with its worker');
  assert.deepEqual(history.of(22).loopDelayMs, [1], 'the others kept');
});
