// Unit tests for dist/protocol/fds.js and settings.js: LISTEN_FDS / LISTEN_FDNAMES (systemd's
// socket-activation variables), BATON_PARENT_PID, and the BATON_* settings.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readListenEnv, writeListenEnv, FIRST_FD } from '../../dist/protocol/fds.js';
import { originOf, readSettings, settingsEnv, ENV } from '../../dist/protocol/settings.js';

const PID = 4242;
const PPID = 4000;

/** Asserts fn throws an Error with a one-line message that names `variable`. */
function throwsOneLine(fn, variable) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, `expected an Error to be thrown (naming ${variable})`);
  assert.doesNotMatch(caught.message, /[\r\n]/, 'the message is one line');
  assert.ok(caught.message.includes(variable), `message names ${variable}: ${caught.message}`);
  return caught;
}

describe('readListenEnv', () => {
  test('FIRST_FD is 3', () => {
    assert.equal(FIRST_FD, 3);
  });

  test('absent variables give []', () => {
    assert.deepEqual(readListenEnv({}, PID, PPID), []);
    assert.deepEqual(readListenEnv({ LISTEN_FDS: '', LISTEN_PID: String(PID) }, PID, PPID), []);
  });

  test('LISTEN_PID equal to pid: fds from 3 with their names', () => {
    const env = { LISTEN_FDS: '3', LISTEN_FDNAMES: 'web:api:admin', LISTEN_PID: String(PID) };
    assert.deepEqual(readListenEnv(env, PID, PPID), [
      { fd: 3, name: 'web' },
      { fd: 4, name: 'api' },
      { fd: 5, name: 'admin' },
    ]);
  });

  test('LISTEN_FDS=0 gives []', () => {
    assert.deepEqual(readListenEnv({ LISTEN_FDS: '0', LISTEN_PID: String(PID) }, PID, PPID), []);
  });

  test('LISTEN_PID of another process: ignored, like sd_listen_fds()', () => {
    const env = { LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b', LISTEN_PID: String(PID + 1) };
    assert.deepEqual(readListenEnv(env, PID, PPID), []);
  });

  test('LISTEN_PID takes precedence over a matching BATON_PARENT_PID', () => {
    const env = { LISTEN_FDS: '1', LISTEN_PID: String(PID + 1), BATON_PARENT_PID: String(PPID) };
    assert.deepEqual(readListenEnv(env, PID, PPID), []);
  });

  test('BATON_PARENT_PID equal to ppid (no LISTEN_PID): accepted', () => {
    const env = { LISTEN_FDS: '2', LISTEN_FDNAMES: 'x:y', BATON_PARENT_PID: String(PPID) };
    assert.deepEqual(readListenEnv(env, PID, PPID), [
      { fd: 3, name: 'x' },
      { fd: 4, name: 'y' },
    ]);
    const emptyPid = { ...env, LISTEN_PID: '' };
    assert.deepEqual(
      readListenEnv(emptyPid, PID, PPID),
      [
        { fd: 3, name: 'x' },
        { fd: 4, name: 'y' },
      ],
      'an empty LISTEN_PID counts as unset',
    );
  });

  test('BATON_PARENT_PID of another process (a non-exec wrapper in between): []', () => {
    const env = { LISTEN_FDS: '1', BATON_PARENT_PID: String(PPID + 7) };
    assert.deepEqual(readListenEnv(env, PID, PPID), []);
    assert.deepEqual(
      readListenEnv({ LISTEN_FDS: '1', BATON_PARENT_PID: String(PID) }, PID, PPID),
      [],
      'own pid is not the parent',
    );
  });

  test('neither LISTEN_PID nor BATON_PARENT_PID: []', () => {
    assert.deepEqual(readListenEnv({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' }, PID, PPID), []);
  });

  for (const bad of ['abc', '-1', '1.5', '99999', '1025', ' 2', '2 ', '0x2', '+1']) {
    test(`malformed LISTEN_FDS=${JSON.stringify(bad)} throws one line naming LISTEN_FDS`, () => {
      throwsOneLine(() => readListenEnv({ LISTEN_FDS: bad, LISTEN_PID: String(PID) }, PID, PPID), 'LISTEN_FDS');
      throwsOneLine(() => readListenEnv({ LISTEN_FDS: bad, BATON_PARENT_PID: String(PPID) }, PID, PPID), 'LISTEN_FDS');
    });
  }

  test('1024 descriptors is accepted', () => {
    const fds = readListenEnv({ LISTEN_FDS: '1024', LISTEN_PID: String(PID) }, PID, PPID);
    assert.equal(fds.length, 1024);
    assert.deepEqual(fds[1023], { fd: 1026, name: 'unknown' });
  });

  test('names count mismatch throws one line naming LISTEN_FDNAMES', () => {
    const e1 = throwsOneLine(
      () => readListenEnv({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'only', LISTEN_PID: String(PID) }, PID, PPID),
      'LISTEN_FDNAMES',
    );
    assert.match(e1.message, /LISTEN_FDS/);
    throwsOneLine(
      () => readListenEnv({ LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b:c', LISTEN_PID: String(PID) }, PID, PPID),
      'LISTEN_FDNAMES',
    );
  });

  test("missing names are 'unknown'", () => {
    assert.deepEqual(readListenEnv({ LISTEN_FDS: '2', LISTEN_PID: String(PID) }, PID, PPID), [
      { fd: 3, name: 'unknown' },
      { fd: 4, name: 'unknown' },
    ]);
    assert.deepEqual(
      readListenEnv({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:', LISTEN_PID: String(PID) }, PID, PPID),
      [
        { fd: 3, name: 'a' },
        { fd: 4, name: 'unknown' },
      ],
      'an empty name is unknown',
    );
  });
});

describe('writeListenEnv', () => {
  test('sets LISTEN_FDS, LISTEN_FDNAMES and BATON_PARENT_PID, not LISTEN_PID', () => {
    const env = writeListenEnv(['web', 'api'], 77);
    assert.deepEqual(env, { LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:api', BATON_PARENT_PID: '77' });
    assert.equal(ENV.parentPid, 'BATON_PARENT_PID');
  });

  test('names with colons and percent signs round-trip', () => {
    const names = ['tcp:[::1]:80', 'unix:/tmp/a%b:c.sock', 'tcp:0.0.0.0:8080', 'web', '%3A', 'a%25b', '%', ':'];
    const env = writeListenEnv(names, PPID);
    assert.equal(env.LISTEN_FDS, String(names.length));
    assert.equal(env.LISTEN_FDNAMES.split(':').length, names.length, 'one ":"-separated field per name');
    const back = readListenEnv(env, PID, PPID);
    assert.deepEqual(
      back,
      names.map((name, i) => ({ fd: 3 + i, name })),
    );
  });

  test('no names: LISTEN_FDS=0, read back as []', () => {
    const env = writeListenEnv([], PPID);
    assert.equal(env.LISTEN_FDS, '0');
    assert.deepEqual(readListenEnv(env, PID, PPID), []);
  });

  test('a child of another parent ignores the variables', () => {
    assert.deepEqual(readListenEnv(writeListenEnv(['tcp:127.0.0.1:80'], PPID), PID, PPID + 1), []);
  });
});

describe('readSettings', () => {
  test('defaults', () => {
    assert.deepEqual(readSettings({}), {
      generation: 1,
      waitReady: false,
      readyTimeoutMs: 30000,
      drainTimeoutMs: 30000,
      crashWindowMs: 3000,
      upgradeSignal: 'SIGUSR2',
      pidFile: undefined,
      logFormat: 'text',
      closeWebSockets: true,
      closeEventStreams: true,
      maxMemoryBytes: 0,
      requestMetrics: true,
    });
  });

  test('settingsEnv() is what readSettings() reads back', () => {
    /** @type {import('../../dist/protocol/settings.js').Settings} */
    const s = {
      generation: 4,
      waitReady: true,
      readyTimeoutMs: 1500,
      drainTimeoutMs: 2_147_483_647,
      crashWindowMs: 0,
      upgradeSignal: 'SIGHUP',
      pidFile: '/run/a.pid',
      logFormat: 'json',
      closeWebSockets: false,
      closeEventStreams: false,
      maxMemoryBytes: 1536,
      requestMetrics: false,
    };
    assert.deepEqual(readSettings(settingsEnv(s)), s);
    assert.deepEqual(readSettings(settingsEnv({ ...s, closeWebSockets: true })), { ...s, closeWebSockets: true });
  });

  test('BATON_CLOSE_WEBSOCKETS', () => {
    for (const on of ['1', 'true']) assert.equal(readSettings({ BATON_CLOSE_WEBSOCKETS: on }).closeWebSockets, true);
    for (const off of ['0', 'false'])
      assert.equal(readSettings({ BATON_CLOSE_WEBSOCKETS: off }).closeWebSockets, false);
  });

  test('BATON_CLOSE_EVENT_STREAMS', () => {
    assert.equal(readSettings({ BATON_CLOSE_EVENT_STREAMS: '1' }).closeEventStreams, true);
    assert.equal(readSettings({ BATON_CLOSE_EVENT_STREAMS: '0' }).closeEventStreams, false);
  });

  test('BATON_METRICS', () => {
    assert.equal(readSettings({ BATON_METRICS: '0' }).requestMetrics, false);
    assert.equal(readSettings({ BATON_METRICS: '1' }).requestMetrics, true);
    assert.throws(() => readSettings({ BATON_METRICS: 'off' }), /^Error: BATON_METRICS: 'off' is neither on nor off/);
  });

  test('BATON_WAIT_READY', () => {
    assert.equal(readSettings({ BATON_WAIT_READY: '1' }).waitReady, true);
    assert.equal(readSettings({ BATON_WAIT_READY: 'true' }).waitReady, true);
    assert.equal(readSettings({ BATON_WAIT_READY: '0' }).waitReady, false);
    assert.equal(readSettings({ BATON_WAIT_READY: '' }).waitReady, false);
  });

  test('timeouts in every unit', () => {
    assert.equal(readSettings({ BATON_READY_TIMEOUT: '2s' }).readyTimeoutMs, 2000);
    assert.equal(readSettings({ BATON_READY_TIMEOUT: '500ms' }).readyTimeoutMs, 500);
    assert.equal(readSettings({ BATON_READY_TIMEOUT: '1m' }).readyTimeoutMs, 60000);
    assert.equal(readSettings({ BATON_READY_TIMEOUT: '2500' }).readyTimeoutMs, 2500);
    assert.equal(readSettings({ BATON_DRAIN_TIMEOUT: '5s' }).drainTimeoutMs, 5000);
    assert.equal(readSettings({ BATON_DRAIN_TIMEOUT: '5s' }).readyTimeoutMs, 30000, 'the other keeps its default');
  });

  test('generation and pid file', () => {
    assert.equal(readSettings({ BATON_GENERATION: '7' }).generation, 7);
    assert.equal(readSettings({ BATON_PID_FILE: '/run/app.pid' }).pidFile, '/run/app.pid');
    assert.equal(readSettings({ BATON_PID_FILE: '' }).pidFile, undefined);
  });

  test('upgrade signal spellings', () => {
    assert.equal(readSettings({ BATON_UPGRADE_SIGNAL: 'usr1' }).upgradeSignal, 'SIGUSR1');
    assert.equal(readSettings({ BATON_UPGRADE_SIGNAL: 'SIGHUP' }).upgradeSignal, 'SIGHUP');
    assert.equal(readSettings({ BATON_UPGRADE_SIGNAL: 'sigusr2' }).upgradeSignal, 'SIGUSR2');
    assert.equal(readSettings({ BATON_UPGRADE_SIGNAL: 'WINCH' }).upgradeSignal, 'SIGWINCH');
  });

  const bad = [
    ['BATON_READY_TIMEOUT', 'abc'],
    ['BATON_READY_TIMEOUT', '-5s'],
    ['BATON_READY_TIMEOUT', ''],
    ['BATON_DRAIN_TIMEOUT', '10d'],
    ['BATON_DRAIN_TIMEOUT', '40000m'],
    ['BATON_DRAIN_TIMEOUT', '30'],
    ['BATON_READY_TIMEOUT', '30'],
    ['BATON_READY_TIMEOUT', '0'],
    ['BATON_GENERATION', '0'],
    ['BATON_GENERATION', '-1'],
    ['BATON_GENERATION', '1.5'],
    ['BATON_GENERATION', 'two'],
    ['BATON_UPGRADE_SIGNAL', 'SIGKILL'],
    ['BATON_UPGRADE_SIGNAL', 'SIGTERM'],
    ['BATON_UPGRADE_SIGNAL', 'nope'],
    ['BATON_UPGRADE_SIGNAL', ''],
    ['BATON_CLOSE_WEBSOCKETS', 'no'],
    ['BATON_CLOSE_WEBSOCKETS', ''],
  ];
  for (const [name, value] of bad) {
    test(`${name}=${JSON.stringify(value)} throws one line naming it`, () => {
      throwsOneLine(() => readSettings({ [name]: value }), name);
    });
  }
});

test('who started a process: a baton parent over IPC, the app of a baton process (not a baton process), or anyone else', () => {
  const ours = { [ENV.parentPid]: String(PPID) };
  assert.equal(originOf(ours, PPID, true), 'successor');
  assert.equal(originOf({ ...ours, [ENV.role]: 'worker' }, PPID, true), 'worker');
  // A successor or worker inherits its parent's owner pid, and is still a baton process.
  assert.equal(originOf({ ...ours, [ENV.ownerPid]: String(PPID) }, PPID, true), 'successor');
  assert.equal(originOf({}, PPID, true), 'first');
  assert.equal(originOf({ [ENV.ownerPid]: String(PPID) }, PPID, true), 'app', 'fork() by the app');
  assert.equal(originOf({ [ENV.ownerPid]: '1' }, PPID, false), 'app', 'a grandchild, or spawned without IPC');
});
