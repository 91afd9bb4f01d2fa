// The admin page's own logic (src/admin/page/view.ts), which its browser script bundles: the history's order, the
// serving generation's "since", a reload's cells, the connection state, the buttons' state, phases in words, and
// Server-Sent Events read from a stream split anywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  actionsDisabled,
  exitText,
  liveOf,
  newestFirst,
  percent,
  perMs,
  phaseText,
  readEvents,
  releaseText,
  reloadCells,
  servingSince,
  signedOut,
  sparkPoints,
  titleOf,
  workerCounts,
} from '../../dist/admin/page/view.js';

/** A reload record: started at second `start`, in service `switchMs` later, its old generation drained `drainMs` after. */
const reload = (generation, start, switchMs, drainMs, more = {}) => ({
  generation,
  ok: true,
  ms: switchMs + drainMs + 50,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, start) + switchMs + drainMs + 50).toISOString(),
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, start)).toISOString(),
  inServiceMs: switchMs,
  drainedMs: switchMs + drainMs,
  ...more,
});

test('history: newest first by start, though an older reload with a long drain ended later', () => {
  const slow = reload(2, 0, 300, 14_000);
  const quick = reload(3, 5, 200, 10);
  assert.deepEqual(
    newestFirst([slow, quick]).map((r) => r.generation),
    [3, 2],
  );
  assert.ok(slow.at > quick.at, 'the older one ended later');
  assert.deepEqual(
    newestFirst([{ generation: 1, ok: true, ms: 1, at: '2026-01-01T00:00:09Z' }, quick]).map((r) => r.generation),
    [1, 3],
    'a record from an older master is ordered by its end, all it has',
  );
});

test("since: the switch of the reload that put the serving generation in service, not the latest reload's end", () => {
  const reloads = [reload(2, 0, 300, 14_000), reload(3, 20, 0, 0, { ok: false, reason: 'x' })];
  assert.equal(servingSince({ generation: 2, reloads }), '2026-01-01T00:00:00.300Z');
  assert.equal(servingSince({ generation: 1, reloads: [] }), undefined);
});

test("a reload's cells: the switch and the drain apart; a rollback's reason; connections cut", () => {
  assert.deepEqual(reloadCells(reload(2, 0, 300, 14_000, { release: 'v2' })), {
    started: '2026-01-01T00:00:00.000Z',
    switched: '300 ms',
    drained: '14s',
    details: 'release v2',
  });
  const failed = reloadCells({ generation: 3, ok: false, ms: 900, at: 'x', reason: 'worker exited', cut: 2 });
  assert.deepEqual([failed.switched, failed.drained, failed.details], ['–', '–', 'worker exited']);
  assert.equal(reloadCells(reload(4, 0, 1, 1, { cut: 1 })).details, '1 connection cut at the drain timeout');
});

test('the connection state and the buttons: stopping disables them, whoever stopped the master', () => {
  assert.deepEqual(liveOf({}), { state: 'up', text: 'live' });
  assert.deepEqual(liveOf({ stopping: { phase: 'delay', msLeft: 1500 } }), {
    state: 'stopping',
    text: 'stopping: not ready, serving on for 1s',
  });
  assert.equal(liveOf({ stopping: { phase: 'draining', msLeft: 9 } }).text, 'stopping: draining');
  assert.equal(actionsDisabled({ masterPid: 7 }, 0, null), false);
  assert.equal(actionsDisabled({ masterPid: 7 }, 1, null), true, "this page's reload before its switch");
  assert.equal(actionsDisabled({ masterPid: 7, stopping: { phase: 'draining', msLeft: 1 } }, 0, null), true);
  assert.equal(actionsDisabled({ masterPid: 7 }, 0, 7), true, 'the master this page stopped');
  assert.equal(actionsDisabled({ masterPid: 8 }, 0, 7), false, 'another master');
});

test('workers counted by state; phases in words', () => {
  /** @type {{ state: 'ready' | 'starting' | 'draining' }[]} */
  const states = ['ready', 'ready', 'starting', 'draining'].map((state) => ({ state: /** @type {any} */ (state) }));
  assert.deepEqual(workerCounts(states), { ready: '2', more: 'ready · 1 starting · 1 draining' });
  assert.equal(
    phaseText({ phase: 'spawned', generation: 2, pids: [10, 11], release: 'v2' }),
    'Started generation 2 (release v2): pids 10, 11',
  );
  assert.equal(
    phaseText({ phase: 'draining', generation: 1, connections: 1 }),
    'Draining generation 1 (1 open connection)',
  );
});

test('Server-Sent Events: blocks split across chunks and inside a character are read whole', async () => {
  const text = 'event: phase\ndata: {"phase":"queued","reason":"é"}\n\nid: 4\nevent: result\ndata: {"ok":true}\n\n';
  const bytes = new TextEncoder().encode(text);
  const cut = text.indexOf('é') + 1; // inside the two bytes of é
  const body = new ReadableStream({
    start(c) {
      for (const part of [bytes.subarray(0, cut), bytes.subarray(cut, cut + 30), bytes.subarray(cut + 30)])
        c.enqueue(part);
      c.close();
    },
  });
  const seen = [];
  await readEvents(body, (name, data) => seen.push([name, data]));
  assert.deepEqual(seen, [
    ['phase', { phase: 'queued', reason: 'é' }],
    ['result', { ok: true }],
  ]);
});

test("a worker's last crash, the tab's title of a master gone, and the answers that mean signed out", () => {
  const at = '2026-01-01T00:00:00.000Z';
  const now = Date.parse(at) + 192_000;
  assert.equal(exitText(undefined, now), '–');
  assert.equal(exitText({ pid: 9, code: 1, signal: null, at }, now), 'code 1 · 3m 12s ago');
  assert.equal(exitText({ pid: 9, code: null, signal: 'SIGKILL', at }, now), 'SIGKILL · 3m 12s ago');
  const s = { name: 'api', generation: 4 };
  assert.equal(titleOf(s, true), 'baton · api · generation 4');
  assert.equal(titleOf(s, false), '⚠ not answering · baton · api · generation 4');
  assert.deepEqual([401, 429, 403, 500, 0].map(signedOut), [true, true, false, false, false]);
});

test('a release named with what is known of its code', () => {
  assert.equal(
    releaseText('v2', { version: '1.4.0', revision: '3f2c1a9b0d4e5f60718293a4' }),
    'v2 (1.4.0 · 3f2c1a9b0d4e)',
  );
  assert.equal(releaseText('v2', { revision: 'build-812' }), 'v2 (build-812)');
  assert.equal(releaseText('v2', {}), 'v2');
  assert.equal(
    reloadCells(reload(2, 0, 1, 1, { release: 'v2' }), { v2: { version: '1.4.0' } }).details,
    'release v2 (1.4.0)',
  );
});

test("a rate between two heartbeats (CPU, requests), a sparkline's points, shares as percentages", () => {
  assert.equal(perMs({ value: 1000, at: 0 }, { value: 1250, at: 1000 }), 0.25, 'CPU: a quarter of a core');
  assert.equal(perMs(undefined, { value: 10, at: 1 }), undefined, 'one figure is no rate');
  assert.equal(perMs({ value: 10, at: 5 }, { value: 20, at: 5 }), undefined, 'the same heartbeat again');
  assert.equal(perMs({ value: 10, at: 5 }, { value: 2, at: 9 }), undefined, 'a total that went down');
  assert.equal(perMs({ value: 10, at: 5 }, { value: undefined, at: 9 }), undefined);
  assert.equal(sparkPoints([0, 5, 10], 48, 14), '0.0,13.5 24.0,7.0 48.0,0.5');
  assert.equal(sparkPoints([3], 48, 14), '');
  assert.equal(sparkPoints([0, 0], 48, 14), '0.0,13.5 48.0,13.5', 'all zero: a flat line at the bottom');
  assert.deepEqual([0.004, 0.125].map(percent), ['0.4 %', '13 %']);
});
