// Unit tests for dist/protocol/messages.js: every control message is validated
// on receipt; anything malformed or unknown is rejected with a reason.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, isBatonMessage, message, PROTOCOL_VERSION } from '../../dist/protocol/messages.js';

const rejected = (raw) => {
  const r = parseMessage(raw);
  assert.equal(r.ok, false, `expected ${JSON.stringify(raw)?.slice(0, 80)} to be rejected`);
  assert.equal(typeof r.reason, 'string');
  assert.ok(r.reason.length > 0);
  assert.equal('message' in r, false);
  return r.reason;
};

describe('parseMessage', () => {
  test('PROTOCOL_VERSION is 1', () => {
    assert.equal(PROTOCOL_VERSION, 1);
  });

  test('valid ready, with the names it listens on', () => {
    const listening = ['tcp:127.0.0.1:8080', 'tcp:[::]:443', 'unix:/run/app.sock'];
    assert.deepEqual(parseMessage({ baton: 1, type: 'ready', pid: 1234, listening }), {
      ok: true,
      message: { baton: 1, type: 'ready', pid: 1234, listening },
    });
    assert.deepEqual(parseMessage({ baton: 1, type: 'ready', pid: 1, listening: [] }), {
      ok: true,
      message: { baton: 1, type: 'ready', pid: 1, listening: [] },
    });
  });

  test('ready with a missing or invalid listening list', () => {
    const cases = [
      undefined,
      null,
      'tcp:*:80',
      {},
      [''],
      [8080],
      ['ok', null],
      ['x'.repeat(4097)],
      Array.from({ length: 1025 }, (_, i) => `tcp:*:${i + 1}`),
    ];
    for (const listening of cases) {
      assert.match(rejected({ baton: 1, type: 'ready', pid: 5, listening }), /listening/);
    }
    const max = Array.from({ length: 1024 }, (_, i) => `tcp:*:${i + 1}`);
    assert.equal(parseMessage({ baton: 1, type: 'ready', pid: 5, listening: max }).ok, true, '1024 names is the limit');
  });

  test('connection: its id and the name of the socket it came in on; connection-taken: whether a worker took it', () => {
    assert.deepEqual(parseMessage({ baton: 1, type: 'connection', id: 3, address: 'tcp:127.0.0.1:8080', extra: 1 }), {
      ok: true,
      message: { baton: 1, type: 'connection', id: 3, address: 'tcp:127.0.0.1:8080' },
    });
    for (const address of [undefined, '', 8080, 'x'.repeat(4097)]) {
      assert.match(
        rejected({ baton: 1, type: 'connection', id: 0, address }),
        /'connection' message with a missing or invalid address/,
      );
    }
    assert.match(rejected({ baton: 1, type: 'connection', id: -1, address: 'tcp:*:80' }), /invalid id/);
    assert.deepEqual(parseMessage({ baton: 1, type: 'connection-taken', id: 0, taken: false }), {
      ok: true,
      message: { baton: 1, type: 'connection-taken', id: 0, taken: false },
    });
    for (const taken of [undefined, 1, 'yes'])
      assert.match(rejected({ baton: 1, type: 'connection-taken', id: 0, taken }), /taken/);
  });

  test('valid failed', () => {
    const raw = { baton: 1, type: 'failed', pid: 99, error: 'Error: boom', stderrTail: 'line1\nline2\n' };
    assert.deepEqual(parseMessage(raw), { ok: true, message: raw });
  });

  test("history: a successor takes its predecessors' upgrade records (only their fields, at most 10) and reload counters", () => {
    const reloads = [
      { generation: 2, ok: true, ms: 180, at: '2026-11-28T09:35:54.265Z' },
      {
        generation: 3,
        ok: false,
        ms: 950,
        at: '2026-11-28T09:36:10.001Z',
        reason: 'successor pid 7 exited before it was ready (code 1)',
      },
    ];
    const counters = { ok: 1, failed: 1, buckets: [0, 1, 1, 2], durationMs: 1130 };
    assert.deepEqual(
      parseMessage({
        baton: 1,
        type: 'history',
        reloads: [{ ...reloads[0], extra: 'dropped' }, reloads[1]],
        counters: { ...counters, x: 1 },
      }),
      { ok: true, message: { baton: 1, type: 'history', reloads, counters } },
    );
    assert.equal(parseMessage({ baton: 1, type: 'history', reloads: [], counters }).ok, true);
    for (const bad of [
      undefined,
      {},
      [null],
      [{ ...reloads[0], ok: 'yes' }],
      [{ ...reloads[0], generation: 0 }],
      [{ ...reloads[0], at: '' }],
      [{ ...reloads[1], reason: 7 }],
      Array.from({ length: 11 }, () => reloads[0]),
    ]) {
      assert.match(rejected({ baton: 1, type: 'history', reloads: bad, counters }), /reloads/);
    }
    for (const bad of [
      undefined,
      { ...counters, ok: -1 },
      { ...counters, buckets: [0.5] },
      { ...counters, durationMs: 'x' },
    ]) {
      assert.match(rejected({ baton: 1, type: 'history', reloads, counters: bad }), /counters/);
    }
  });

  test('drain without a valid deadline', () => {
    for (const deadline of [undefined, -1, 'soon', Infinity, NaN]) {
      assert.match(rejected({ baton: 1, type: 'drain', reason: 'stop', deadline }), /deadline/);
    }
  });

  test('valid drain, with its reason', () => {
    for (const reason of ['upgrade', 'stop']) {
      assert.deepEqual(parseMessage({ baton: 1, type: 'drain', reason, deadline: 5 }), {
        ok: true,
        message: { baton: 1, type: 'drain', reason, deadline: 5 },
      });
    }
  });

  test('drain without a valid reason', () => {
    for (const reason of [undefined, '', 'restart', 'STOP', 1]) {
      assert.match(rejected({ baton: 1, type: 'drain', reason }), /reason/);
    }
  });

  test('valid listen request', () => {
    for (const id of [0, 1, 12345]) {
      assert.deepEqual(parseMessage({ baton: 1, type: 'listen', id, address: 'tcp:*:8080' }), {
        ok: true,
        message: { baton: 1, type: 'listen', id, address: 'tcp:*:8080' },
      });
    }
  });

  test('listen request with a bad id or address', () => {
    for (const id of [-1, 1.5, '1', null, undefined, NaN]) {
      assert.match(rejected({ baton: 1, type: 'listen', id, address: 'tcp:*:8080' }), /id/);
    }
    for (const address of ['', 'x'.repeat(4097), 8080, null, undefined, { kind: 'tcp' }]) {
      assert.match(rejected({ baton: 1, type: 'listen', id: 1, address }), /address/);
    }
    assert.equal(
      parseMessage({ baton: 1, type: 'listen', id: 1, address: 'x'.repeat(4096) }).ok,
      true,
      '4096 is the limit',
    );
  });

  test('valid listen-result: a name or an errno code', () => {
    assert.deepEqual(parseMessage({ baton: 1, type: 'listen-result', id: 3, name: 'tcp:127.0.0.1:8080' }), {
      ok: true,
      message: { baton: 1, type: 'listen-result', id: 3, name: 'tcp:127.0.0.1:8080', code: undefined },
    });
    const r = parseMessage({ baton: 1, type: 'listen-result', id: 0, code: 'EADDRINUSE' });
    assert.equal(r.ok, true);
    assert.equal(r.message.type, 'listen-result');
    assert.equal(r.message.code, 'EADDRINUSE');
    assert.equal(r.message.name, undefined);
  });

  test('listen-result needs exactly one of name and code, and a valid id', () => {
    rejected({ baton: 1, type: 'listen-result', id: 3 });
    rejected({ baton: 1, type: 'listen-result', id: 3, name: 'tcp:*:80', code: 'EACCES' });
    rejected({ baton: 1, type: 'listen-result', id: 3, name: '' });
    rejected({ baton: 1, type: 'listen-result', id: 3, code: 13 });
    rejected({ baton: 1, type: 'listen-result', id: -1, code: 'EACCES' });
  });

  test('valid draining', () => {
    assert.deepEqual(parseMessage({ baton: 1, type: 'draining', pid: 7, connections: 0 }), {
      ok: true,
      message: { baton: 1, type: 'draining', pid: 7, connections: 0 },
    });
  });

  test('draining with a bad pid or connection count', () => {
    assert.match(rejected({ baton: 1, type: 'draining', pid: 0, connections: 1 }), /pid/);
    for (const connections of [-1, 1.5, '3', undefined]) {
      assert.match(rejected({ baton: 1, type: 'draining', pid: 7, connections }), /connections/);
    }
  });

  test('valid drained, extra fields dropped', () => {
    assert.deepEqual(parseMessage({ baton: 1, type: 'drained', pid: 7, cut: 3, extra: true }), {
      ok: true,
      message: { baton: 1, type: 'drained', pid: 7, cut: 3 },
    });
  });

  test('drained with a bad pid or cut count', () => {
    assert.match(rejected({ baton: 1, type: 'drained', pid: -2, cut: 0 }), /pid/);
    for (const cut of [-1, 2.5, '3', null, undefined]) {
      assert.match(rejected({ baton: 1, type: 'drained', pid: 7, cut }), /cut/);
    }
  });

  test('message() stamps the version, and what it builds parses back', () => {
    const m = message({ type: 'ready', pid: 42, listening: ['tcp:*:80'] });
    assert.deepEqual(m, { baton: 1, type: 'ready', pid: 42, listening: ['tcp:*:80'] });
    assert.deepEqual(parseMessage(message({ type: 'drain', reason: 'stop', deadline: 9 })), {
      ok: true,
      message: { baton: 1, type: 'drain', reason: 'stop', deadline: 9 },
    });
    assert.deepEqual(parseMessage(m), { ok: true, message: m });
  });

  test('unknown extra fields are dropped, not trusted', () => {
    const r = parseMessage({ baton: 1, type: 'ready', pid: 5, listening: [], exec: 'rm -rf /' });
    assert.equal(r.ok, true);
    assert.deepEqual(Object.keys(r.message).sort(), ['baton', 'listening', 'pid', 'type']);
    assert.equal('exec' in r.message, false);
  });

  test('JSON that went through IPC parses the same', () => {
    const r = parseMessage(JSON.parse(JSON.stringify({ baton: 1, type: 'failed', pid: 3, error: '', stderrTail: '' })));
    assert.equal(r.ok, true);
    assert.equal(r.message.type, 'failed');
  });

  test('wrong or missing version', () => {
    for (const baton of [2, 0, '1', true, null, undefined]) {
      const reason = rejected({ baton, type: 'ready', pid: 5, listening: [] });
      assert.match(reason, /version/);
    }
    rejected({ type: 'ready', pid: 5 });
  });

  test('missing or invalid pid', () => {
    for (const type of ['ready', 'failed']) {
      for (const pid of [0, -1, 1.5, '12', NaN, Infinity, null, undefined, {}, [7]]) {
        const reason = rejected({ baton: 1, type, pid, listening: [], error: 'e', stderrTail: '' });
        assert.match(reason, /pid/, `${type} pid=${String(pid)}`);
      }
      const { pid, ...noPid } = { baton: 1, type, pid: 1, listening: [], error: 'e', stderrTail: '' };
      assert.equal(pid, 1);
      assert.match(rejected(noPid), /pid/);
    }
  });

  test('failed without error or stderrTail, or with non-strings', () => {
    rejected({ baton: 1, type: 'failed', pid: 3, stderrTail: '' });
    rejected({ baton: 1, type: 'failed', pid: 3, error: 'x' });
    rejected({ baton: 1, type: 'failed', pid: 3, error: 42, stderrTail: '' });
    rejected({ baton: 1, type: 'failed', pid: 3, error: 'x', stderrTail: ['a'] });
  });

  test('stderrTail and error are capped at 64 KiB', () => {
    const limit = 64 * 1024;
    assert.equal(
      parseMessage({ baton: 1, type: 'failed', pid: 3, error: 'e', stderrTail: 'x'.repeat(limit) }).ok,
      true,
    );
    rejected({ baton: 1, type: 'failed', pid: 3, error: 'e', stderrTail: 'x'.repeat(limit + 1) });
    rejected({ baton: 1, type: 'failed', pid: 3, error: 'e', stderrTail: 'x'.repeat(10 * limit) });
    rejected({ baton: 1, type: 'failed', pid: 3, error: 'e'.repeat(limit + 1), stderrTail: '' });
  });

  test('unknown or missing type', () => {
    assert.match(rejected({ baton: 1, type: 'reload', pid: 3 }), /unknown type "reload"/);
    assert.match(rejected({ baton: 1, type: 'READY', pid: 3 }), /unknown type/);
    assert.match(rejected({ baton: 1, pid: 3 }), /unknown type/);
  });

  test('non-objects', () => {
    for (const raw of [null, undefined, 'ready', '{"baton":1,"type":"ready","pid":3}', 42, true, () => {}]) {
      rejected(raw);
    }
  });

  test('arrays', () => {
    assert.equal(rejected([]), 'not an object');
    rejected([1, 'ready', 3]);
    rejected([{ baton: 1, type: 'ready', pid: 3 }]);
  });
});

describe('isBatonMessage', () => {
  test("objects with a 'baton' key are baton's (even if invalid, so they get logged)", () => {
    assert.equal(isBatonMessage({ baton: 1, type: 'ready', pid: 1 }), true);
    assert.equal(isBatonMessage({ baton: 2 }), true);
    assert.equal(isBatonMessage({ baton: undefined }), true);
  });

  test("an app's own process.send traffic is not", () => {
    for (const raw of ['ready', { type: 'ready' }, { cmd: 'NODE_CLUSTER' }, null, undefined, 1, [], ['baton']]) {
      assert.equal(isBatonMessage(raw), false, JSON.stringify(raw));
    }
  });
});

test('close-share: a share from 0 to 1, nothing else', () => {
  const m = { baton: PROTOCOL_VERSION, type: 'close-share', share: 0.25 };
  assert.deepEqual(parseMessage(m), { ok: true, message: m });
  for (const share of [-0.1, 1.5, '0.5', undefined])
    assert.equal(parseMessage({ ...m, share }).ok, false, String(share));
});
