// The lines a master with --log-file keeps (supervisor/log-lines.ts), and the control socket's logs request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_BYTES, LOG_LINES, LogLines } from '../../dist/supervisor/log-lines.js';
import { parseRequest } from '../../dist/protocol/control.js';

/** @param {number | null} pid @param {string} line */
const line = (pid, line) => ({
  time: Date.now(),
  pid,
  generation: pid === null ? null : 1,
  stream: /** @type {'master' | 'stdout'} */ (pid === null ? 'master' : 'stdout'),
  line,
});

test('rising seqs; the oldest go past LOG_LINES lines; lines() filters by seq and worker, the newest `limit`', () => {
  const kept = new LogLines();
  for (let i = 0; i < LOG_LINES + 4; i++) kept.add(line(i % 2 ? 7 : null, `line ${i}`));
  const all = kept.lines({});
  assert.equal(all.length, LOG_LINES);
  assert.deepEqual([all[0].seq, all[0].line, all.at(-1).seq], [5, 'line 4', LOG_LINES + 4]);
  assert.deepEqual(
    kept.lines({ after: LOG_LINES, worker: 7 }).map((l) => l.seq),
    [LOG_LINES + 2, LOG_LINES + 4],
  );
  assert.deepEqual(
    kept.lines({ limit: 3 }).map((l) => l.seq),
    [LOG_LINES + 2, LOG_LINES + 3, LOG_LINES + 4],
  );
  assert.deepEqual(kept.lines({ after: LOG_LINES + 4 }), []);
});

test('the oldest go past LOG_BYTES of text too: a few long lines are kept, not LOG_LINES of them', () => {
  const kept = new LogLines();
  const long = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 40; i++) kept.add(line(7, `${i} ${long}`));
  const all = kept.lines({});
  assert.ok(all.length < LOG_BYTES / long.length, `${all.length} lines kept`);
  assert.ok(all.length >= LOG_BYTES / long.length - 2, `${all.length} lines kept`);
  assert.equal(all.at(-1).line.split(' ')[0], '39', 'the newest');
});

test('a subscriber hears each line from then on until it unsubscribes; one that throws is dropped', () => {
  const kept = new LogLines();
  const heard = [];
  const stop = kept.subscribe((l) => heard.push(l.line));
  kept.subscribe(() => {
    throw new Error('gone');
  });
  kept.add(line(7, 'a'));
  kept.add(line(7, 'b'));
  stop();
  kept.add(line(7, 'c'));
  assert.deepEqual(heard, ['a', 'b']);
});

test('the logs request: after, follow, worker and limit, each optional and checked', () => {
  assert.deepEqual(parseRequest('{"cmd":"logs"}'), { cmd: 'logs' });
  assert.deepEqual(parseRequest('{"cmd":"logs","after":3,"follow":true,"worker":42,"limit":10}'), {
    cmd: 'logs',
    after: 3,
    follow: true,
    worker: 42,
    limit: 10,
  });
  for (const bad of ['{"cmd":"logs","limit":0}', '{"cmd":"logs","worker":"42"}', '{"cmd":"events","worker":42}'])
    assert.ok('error' in parseRequest(bad), bad);
});
