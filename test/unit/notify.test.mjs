// Unit tests for dist/systemd/notify.js against a real NOTIFY_SOCKET receiver
// (test/helpers/notify-socket.mjs) and the real systemd-notify: what each
// message says, in what order, nothing after STOPPING=1, and systemd-notify
// missing from PATH said once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemdNotifier } from '../../dist/systemd/notify.js';
import { notifySocket, received } from '../helpers/notify-socket.mjs';
import { captureLog } from '../helpers/log.mjs';

const TEST_MS = 60_000;
const abstract = () => `@baton-notify-test-${process.pid}-${Math.random().toString(36).slice(2)}`;

test('each message in order, one line per field, to an abstract socket; nothing after STOPPING=1', {
  timeout: TEST_MS,
}, async (t) => {
  const sock = await notifySocket(t, abstract());
  const n = systemdNotifier({ NOTIFY_SOCKET: sock.address }, { unset: false });
  n.serving(1);
  n.reloading(2, 1);
  n.serving(1, {
    failed: { generation: 2, reason: 'worker pid 7 exited before it was ready (code 1): Error: boom\n    at app.js:1' },
  });
  n.serving(3, { mainPid: 4242 });
  n.stopping();
  n.serving(3);
  n.reloading(4, 3);
  await n.flushed();
  const messages = await received(sock, 5);
  assert.deepEqual(
    messages.map((m) => m.text.split('\n').map((f) => f.split('=')[0])),
    [
      ['READY', 'STATUS'],
      ['RELOADING', 'MONOTONIC_USEC', 'STATUS'],
      ['READY', 'STATUS'],
      ['MAINPID', 'READY', 'STATUS'],
      ['STOPPING', 'STATUS'],
    ],
  );
  assert.deepEqual(
    messages.map((m) => m.fields.STATUS),
    [
      'generation 1 serving',
      'reloading: generation 2 starting, generation 1 serving',
      'generation 1 serving; generation 2 failed: worker pid 7 exited before it was ready (code 1): Error: boom at app.js:1',
      'generation 3 serving',
      'stopping: draining',
    ],
  );
  assert.equal(messages[3].fields.MAINPID, '4242');
  const { at, fields } = messages[1];
  assert.match(fields.MONOTONIC_USEC, /^\d+$/);
  const age = at - Number(fields.MONOTONIC_USEC);
  assert.ok(
    age >= 0 && age < 60e6,
    `MONOTONIC_USEC is CLOCK_MONOTONIC, as the receiver reads it (${age} µs before it arrived)`,
  );
  // Sent after the rest had gone out: it arrives sixth if nothing followed STOPPING=1.
  const sentinel = systemdNotifier({ NOTIFY_SOCKET: sock.address }, { unset: false });
  sentinel.serving(9);
  await sentinel.flushed();
  const all = await received(sock, 6);
  assert.equal(all[5].fields.STATUS, 'generation 9 serving', 'nothing after STOPPING=1');
});

test('unset: true takes NOTIFY_SOCKET out of the environment given, false leaves it', () => {
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/usr/bin' };
  systemdNotifier(env, { unset: true });
  assert.deepEqual(env, { PATH: '/usr/bin' });
  const kept = { NOTIFY_SOCKET: '/run/systemd/notify' };
  systemdNotifier(kept, { unset: false });
  assert.deepEqual(kept, { NOTIFY_SOCKET: '/run/systemd/notify' });
});

test('systemd-notify missing from PATH: one warning, however many messages, and no crash', {
  timeout: TEST_MS,
}, async (t) => {
  const sock = await notifySocket(t, abstract());
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-no-notify-'));
  t.after(() => fs.rmSync(empty, { recursive: true, force: true }));
  const lines = captureLog(t);
  const realPath = process.env.PATH;
  process.env.PATH = empty;
  t.after(() => (process.env.PATH = realPath));
  const n = systemdNotifier({ NOTIFY_SOCKET: sock.address }, { unset: false });
  n.serving(1);
  n.reloading(2, 1);
  n.serving(2);
  await n.flushed();
  process.env.PATH = realPath;
  const warnings = lines.filter((l) => / warn: /.test(l));
  assert.equal(warnings.length, 1, lines.join(''));
  assert.match(warnings[0], /warn: NOTIFY_SOCKET is set, but systemd-notify is not in PATH: .* path=/);
  // A message sent with systemd-notify in PATH arrives first: nothing came before it.
  const other = systemdNotifier({ NOTIFY_SOCKET: sock.address }, { unset: false });
  other.stopping();
  await other.flushed();
  const [only] = await received(sock, 1);
  assert.equal(only.fields.STOPPING, '1');
});
