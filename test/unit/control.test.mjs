// Unit tests for dist/control: paths, the control server and the client, run
// against each other over a real unix socket with a fake master.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  defaultControlDir,
  controlPath,
  validateName,
  prepareControlDir,
  findControlSockets,
  clientControlPath,
  serverControlPath,
} from '../../dist/control/paths.js';
import { probeSocket } from '../../dist/listeners/unix-path.js';
import { startControlServer, MAX_REQUEST_BYTES } from '../../dist/control/server.js';
import { FOLLOW_BACKLOG_BYTES } from '../../dist/ring.js';
import { runCommand, formatPhase, formatStatus } from '../../dist/control/client.js';
import { NO_RELEASES, ReloadRefused, parseReply } from '../../dist/protocol/control.js';
import { within } from '../helpers/proc.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fn()) return;
    await sleep(10);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** @typedef {import('../../dist/protocol/control.js').Phase} Phase */
/** @typedef {import('../../dist/protocol/control.js').ReloadResult} ReloadResult */
/** @typedef {import('../../dist/protocol/control.js').ReleaseList} ReleaseList */
/** @typedef {import('../../dist/protocol/control.js').Controllable} Controllable */

/** @type {import('../../dist/protocol/control.js').Status} */
const STATUS = {
  name: 'default',
  masterPid: 4242,
  uptimeMs: 192_000,
  master: {
    rssBytes: 48 * 1048576,
    heapTotalBytes: 12 * 1048576,
    heapUsedBytes: 7.5 * 1048576,
    externalBytes: 1048576,
    afterGc: false,
  },
  generation: 3,
  workers: [
    {
      pid: 5001,
      generation: 3,
      state: 'ready',
      uptimeMs: 61_000,
      rssBytes: 45 * 1048576,
      connections: 7,
      heartbeatAgeMs: 400,
      delayMs: 2,
      unresponsive: false,
    },
    {
      pid: 5002,
      generation: 3,
      state: 'starting',
      uptimeMs: 800,
      rssBytes: null,
      connections: null,
      heartbeatAgeMs: null,
      delayMs: null,
      unresponsive: false,
    },
    {
      pid: 5003,
      generation: 3,
      state: 'ready',
      uptimeMs: 61_000,
      rssBytes: null,
      connections: 1,
      heartbeatAgeMs: 12_000,
      delayMs: 0,
      unresponsive: true,
    },
    {
      pid: 4001,
      generation: 2,
      state: 'draining',
      uptimeMs: 90_000,
      rssBytes: null,
      connections: 2,
      heartbeatAgeMs: 300,
      delayMs: 1,
      unresponsive: false,
    },
    {
      pid: 4002,
      generation: 2,
      state: 'draining',
      uptimeMs: 90_000,
      rssBytes: null,
      connections: 1,
      heartbeatAgeMs: 300,
      delayMs: 1,
      unresponsive: false,
    },
    {
      pid: 3001,
      generation: 1,
      state: 'draining',
      uptimeMs: 99_000,
      rssBytes: null,
      connections: null,
      heartbeatAgeMs: null,
      delayMs: null,
      unresponsive: false,
    },
  ],
  listeners: ['tcp:*:8080', 'unix:/run/app.sock'],
  reloads: [
    { generation: 2, ok: false, ms: 30012, at: '2025-01-01T00:00:00.000Z', reason: 'worker 4990 exited with code 1' },
    { generation: 3, ok: true, ms: 812, at: '2025-01-01T00:01:00.000Z' },
  ],
};

/** @type {Phase[]} */
const OK_PHASES = [
  { phase: 'spawned', generation: 4, pids: [6001, 6002] },
  { phase: 'ready', generation: 4, ms: 40 },
  { phase: 'draining', generation: 3, connections: 2 },
  { phase: 'done', generation: 4, ms: 95, drainedMs: 80 },
];
const OK_LINES = [
  'spawned generation 4: pids 6001, 6002',
  'generation 4 ready after 40 ms',
  'draining generation 3 (2 open connections)',
  'done: generation 4 serving, reload took 95 ms (old generation drained after 80 ms)',
];

/**
 * A master as the control server sees it: reload streams its phases with
 * small real delays. `releases`: as if run with --releases (a release named
 * must be in it); without, naming one is refused as the master refuses it.
 * @implements {Controllable}
 */
class FakeMaster {
  /**
   * @param {object} [options]
   * @param {Phase[]} [options.phases]
   * @param {ReloadResult} [options.result]
   * @param {number} [options.delayMs] before each phase, and before the result
   * @param {string} [options.throws] a reload ends in this error, after its phases
   * @param {Promise<void>} [options.gate] a reload starts its phases once this resolves
   * @param {ReleaseList} [options.releases]
   */
  constructor({
    phases = OK_PHASES,
    result = { ok: true, generation: 4, ms: 95, drainedMs: 80 },
    delayMs = 20,
    throws,
    gate,
    releases,
  } = {}) {
    this.phases = phases;
    this.result = result;
    this.delayMs = delayMs;
    this.throws = throws;
    this.gate = gate;
    this.releaseList = releases;
    this.reloadsStarted = 0;
    this.reloadsFinished = 0;
    this.stopped = 0;
    /** @type {(string | undefined)[]} */
    this.releasesAsked = [];
  }
  /**
   * @param {(phase: import('../../dist/protocol/control.js').Phase) => void} onPhase
   * @param {import('../../dist/protocol/control.js').ReloadAsk} [ask]
   */
  reload(onPhase, { release } = {}) {
    if (release !== undefined && !this.releaseList) throw new ReloadRefused(NO_RELEASES);
    if (release !== undefined && !this.releaseList.releases.some((r) => r.name === release))
      throw new ReloadRefused(`release '${release}' is not in ${this.releaseList.dir}`);
    this.releasesAsked.push(release);
    return this.run(onPhase);
  }
  releases() {
    return this.releaseList;
  }
  async run(onPhase) {
    this.reloadsStarted += 1;
    await this.gate; // a reload as long as the test wants
    for (const p of this.phases) {
      await sleep(this.delayMs);
      onPhase(p);
    }
    await sleep(this.delayMs);
    this.reloadsFinished += 1;
    if (this.throws) throw new Error(this.throws);
    return this.result;
  }
  stop() {
    this.stopped += 1;
  }
  status() {
    return STATUS;
  }
}

let root;
let n = 0;
const servers = [];

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-ctl-'));
});
afterEach(async () => {
  await within(Promise.all(servers.splice(0).map((s) => s.close())), 5000, 'closing servers');
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh private directory and socket path for one test. */
function freshPath() {
  const dir = path.join(root, `d${++n}`);
  prepareControlDir(dir);
  return path.join(dir, 'default.sock');
}

async function start(file, master = new FakeMaster(), options = undefined) {
  const server = await within(startControlServer(file, master, options), 5000, 'startControlServer');
  servers.push(server);
  return server;
}

async function client(file, cmd, opts = {}) {
  const out = [];
  const err = [];
  const code = await within(
    runCommand(file, cmd, { ...opts, out: (l) => out.push(l), err: (l) => err.push(l) }),
    30_000,
    `runCommand ${cmd}`,
  );
  return { code, out, err };
}

/** Sends raw bytes, optionally half-closes, and collects everything until the server ends. */
function raw(file, data, { end = false } = {}) {
  return within(
    new Promise((resolve, reject) => {
      const sock = net.connect(file);
      let got = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => (end ? sock.end(data) : sock.write(data)));
      sock.on('data', (c) => (got += c));
      sock.on('error', (/** @type {NodeJS.ErrnoException} */ e) =>
        e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
      );
      sock.on('close', () => resolve(got));
    }),
    15_000,
    `raw request ${JSON.stringify(String(data).slice(0, 30))}`,
  );
}

// ---- paths -----------------------------------------------------------------

test('defaultControlDir: $XDG_RUNTIME_DIR/baton, else <tmpdir>/baton-<uid>', () => {
  assert.equal(defaultControlDir({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/baton');
  assert.equal(defaultControlDir({}), path.join(os.tmpdir(), `baton-${process.getuid()}`));
  assert.equal(defaultControlDir({ XDG_RUNTIME_DIR: '' }), path.join(os.tmpdir(), `baton-${process.getuid()}`));
});

test('controlPath: <dir>/<name>.sock; invalid names throw a one-line error naming --name', () => {
  assert.equal(controlPath('api', '/run/x'), '/run/x/api.sock');
  assert.equal(controlPath('a.b_c-1', '/d'), '/d/a.b_c-1.sock');
  assert.equal(controlPath('x').endsWith('/x.sock'), true);
  for (const name of ['', 'a/b', '..', '.', 'a b', 'x'.repeat(65), 'é']) {
    assert.throws(
      () => validateName(name),
      (/** @type {Error} */ err) => {
        assert.match(err.message, /^--name: /);
        assert.ok(err.message.includes(`'${name}'`), err.message);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
  }
});

test('prepareControlDir: creates 0700, tightens a loose one of ours, refuses a file in the way', () => {
  const dir = path.join(root, 'prep', 'a', 'b');
  prepareControlDir(dir);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  fs.chmodSync(dir, 0o755);
  prepareControlDir(dir);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const file = path.join(root, 'prep', 'file');
  fs.writeFileSync(file, '');
  assert.throws(
    () => prepareControlDir(file),
    (/** @type {Error} */ err) => {
      assert.ok(err.message.includes(`'${file}'`), err.message);
      assert.ok(err.message.includes('--control'), err.message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    },
  );
  assert.throws(
    () => prepareControlDir(path.join(file, 'sub')),
    (/** @type {Error} */ err) => {
      assert.equal(
        err.message,
        `control socket directory '${path.join(file, 'sub')}' is not writable (ENOTDIR); pass --control PATH in a writable directory`,
      );
      return true;
    },
  );
});

test('prepareControlDir refuses a directory owned by another user', {
  skip: process.getuid() !== 0 && 'needs root to chown',
}, () => {
  const dir = path.join(root, 'theirs');
  fs.mkdirSync(dir, { mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  fs.chownSync(dir, 65534, 65534);
  assert.throws(
    () => prepareControlDir(dir),
    (/** @type {Error} */ err) => {
      assert.ok(err.message.includes('belongs to uid 65534'), err.message);
      assert.ok(err.message.includes('--control'), err.message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    },
  );
  assert.equal(fs.statSync(dir).mode & 0o777, 0o777, 'left as it was');
});

test('findControlSockets lists the *.sock sockets only; serverControlPath/clientControlPath pick them', async () => {
  const dir = path.join(root, 'find');
  const env = { XDG_RUNTIME_DIR: dir };
  const ctl = path.join(dir, 'baton');
  assert.deepEqual(findControlSockets(ctl), []);
  assert.equal(await clientControlPath({}, env), path.join(ctl, 'default.sock'));
  assert.equal(serverControlPath({ name: 'web' }, env), path.join(ctl, 'web.sock'));
  assert.equal(fs.statSync(ctl).mode & 0o777, 0o700);
  await start(path.join(ctl, 'web.sock'));
  fs.writeFileSync(path.join(ctl, 'notes.sock'), ''); // not a socket
  fs.writeFileSync(path.join(ctl, 'other.txt'), '');
  assert.deepEqual(findControlSockets(ctl), ['web']);
  assert.equal(await clientControlPath({ name: 'web' }, env), path.join(ctl, 'web.sock'));
  assert.equal(await clientControlPath({ name: 'api' }, env), path.join(ctl, 'api.sock'));
  assert.equal(await clientControlPath({ control: 'rel/c.sock' }, env), path.resolve('rel/c.sock'));
  assert.equal(await probeSocket(path.join(ctl, 'web.sock')), 'live');
  assert.equal(await probeSocket(path.join(ctl, 'nope.sock')), 'stale');
});

test('clientControlPath without --name: only the master named default, never another that happens to run alone', {
  timeout: 10_000,
}, async () => {
  const env = { XDG_RUNTIME_DIR: path.join(root, 'names') };
  const ctl = path.join(env.XDG_RUNTIME_DIR, 'baton');
  serverControlPath({}, env);
  const others = (names) => (/** @type {Error} */ err) => {
    assert.equal(
      err.message,
      `no baton master named 'default' is running in ${ctl}; masters running: ${names}; pass --name NAME (e.g. --name ${names.split(',')[0]})`,
    );
    return true;
  };
  await start(path.join(ctl, 'billing.sock'));
  await assert.rejects(clientControlPath({}, env), others('billing'));
  await start(path.join(ctl, 'api.sock'));
  await assert.rejects(clientControlPath({}, env), others('api, billing'));
  // A stale default.sock, left by a master that was killed, is not a master.
  const stale = net.createServer();
  await within(new Promise((r) => stale.listen(path.join(ctl, 'x.sock'), () => r())), 3000, 'listen');
  fs.renameSync(path.join(ctl, 'x.sock'), path.join(ctl, 'default.sock'));
  await within(new Promise((r) => stale.close(r)), 3000, 'close');
  await assert.rejects(clientControlPath({}, env), others('api, billing'));
  await start(path.join(ctl, 'default.sock'));
  assert.equal(await clientControlPath({}, env), path.join(ctl, 'default.sock'));
  assert.equal(await clientControlPath({ name: 'billing' }, env), path.join(ctl, 'billing.sock'));
});

test('clientControlPath refuses a default directory others can write to or own, even with a master answering there; --control is not checked', {
  timeout: 10_000,
}, async () => {
  const env = { XDG_RUNTIME_DIR: path.join(root, 'trap') };
  const dir = path.join(env.XDG_RUNTIME_DIR, 'baton');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777); // as someone else could have made it in a shared /tmp
  const file = path.join(dir, 'default.sock');
  await start(file); // a fake master that would answer `baton reload` with success
  const refused = (re) => (/** @type {Error} */ err) => {
    assert.match(err.message, re);
    assert.ok(err.message.includes(`'${dir}'`), err.message);
    assert.ok(err.message.includes('--control PATH'), err.message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  };
  const open = /is open to other users \(mode 0777\)/;
  await assert.rejects(clientControlPath({}, env), refused(open));
  await assert.rejects(clientControlPath({ name: 'default' }, env), refused(open));
  assert.equal(fs.statSync(dir).mode & 0o777, 0o777, 'the client changes nothing');
  assert.equal(
    await clientControlPath({ control: file }, env),
    file,
    "a path given with --control is the user's choice",
  );

  if (process.getuid() === 0) {
    fs.chmodSync(dir, 0o700);
    fs.chownSync(dir, 12345, 12345);
    await assert.rejects(clientControlPath({}, env), refused(/belongs to uid 12345, not to this user \(uid 0\)/));
    fs.chownSync(dir, 0, 0);
  }
  fs.chmodSync(dir, 0o700);
  assert.equal(await clientControlPath({}, env), file);

  const linked = { XDG_RUNTIME_DIR: path.join(root, 'trap-link') };
  fs.mkdirSync(linked.XDG_RUNTIME_DIR);
  fs.symlinkSync(dir, path.join(linked.XDG_RUNTIME_DIR, 'baton'));
  await assert.rejects(clientControlPath({}, linked), /is not a directory \(it is a symbolic link\)/);
});

test('serverControlPath: --control in a missing directory, or under a file, is refused in one line with the fix', () => {
  const missing = path.join(root, 'nonexistent', 'dir', 'x.sock');
  const dir = path.dirname(missing);
  assert.throws(() => serverControlPath({ control: missing }), {
    message:
      `cannot create control socket '${missing}': directory '${dir}' does not exist; ` +
      `create it (mkdir -p '${dir}'), or pass --control PATH in an existing directory`,
  });
  const file = path.join(root, 'plain-file');
  fs.writeFileSync(file, '');
  assert.throws(() => serverControlPath({ control: path.join(file, 'x.sock') }), {
    message:
      `cannot create control socket '${path.join(file, 'x.sock')}': '${file}' is not a directory; ` +
      'pass --control PATH in an existing directory',
  });
  assert.equal(serverControlPath({ control: path.join(root, 'x.sock') }), path.join(root, 'x.sock'));
});

// ---- server + client ---------------------------------------------------------

test('socket is 0600 in a 0700 directory; close() removes it', { timeout: 10_000 }, async () => {
  const file = freshPath();
  const server = await start(file);
  assert.equal(server.path, file);
  const st = fs.statSync(file);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['default.sock']); // no temporary name left behind
  await within(server.close(), 5000, 'close');
  await within(server.close(), 5000, 'second close');
  assert.equal(fs.existsSync(file), false);
});

test('reload: phases printed in order as they arrive, exit 0', { timeout: 10_000 }, async () => {
  const file = freshPath();
  const master = new FakeMaster();
  await start(file, master);
  const seen = [];
  const code = await within(
    runCommand(file, 'reload', { out: (l) => seen.push([l, master.reloadsFinished]), err: (l) => assert.fail(l) }),
    10_000,
    'reload',
  );
  assert.equal(code, 0);
  assert.deepEqual(
    seen.map(([l]) => l),
    OK_LINES,
  );
  // Streamed: the first phase was printed before the reload had finished.
  assert.equal(seen[0][1], 0);
  assert.equal(master.reloadsFinished, 1);
});

test('reload: a rollback prints the reason and the stderr tail, exit 1', { timeout: 10_000 }, async () => {
  const file = freshPath();
  const tail = 'Error: boom\n    at main (app.js:3:9)\n';
  const master = new FakeMaster({
    phases: [
      { phase: 'queued', reason: 'a reload is already running' },
      { phase: 'spawned', generation: 5, pids: [7001] },
      { phase: 'rollback', generation: 5, reason: 'worker 7001 exited with code 1', stderrTail: tail },
    ],
    result: { ok: false, generation: 5, ms: 120, reason: 'worker 7001 exited with code 1', stderrTail: tail },
  });
  await start(file, master);
  const { code, out, err } = await client(file, 'reload');
  assert.equal(code, 1);
  assert.deepEqual(out, [
    'queued: a reload is already running',
    'spawned generation 5: pid 7001',
    'rollback: generation 5 failed: worker 7001 exited with code 1',
    '  | Error: boom',
    '  |     at main (app.js:3:9)',
  ]);
  assert.deepEqual(err, ['reload failed: worker 7001 exited with code 1']);
});

test('reload: connections cut at the drain timeout get a line after done, exit 0; none, no line', {
  timeout: 10_000,
}, async () => {
  /** @type {[number, string | undefined][]} */
  const cases = [
    [3, '3 connections cut at the drain timeout'],
    [1, '1 connection cut at the drain timeout'],
    [0, undefined],
  ];
  for (const [cut, line] of cases) {
    const file = freshPath();
    await start(file, new FakeMaster({ result: { ok: true, generation: 4, ms: 95, cut } }));
    const { code, out, err } = await client(file, 'reload');
    assert.equal(code, 0, `cut ${cut}`);
    assert.deepEqual(err, []);
    assert.deepEqual(out, line ? [...OK_LINES, line] : OK_LINES);
  }
});

test('parseReply: cut, when there, is a number in a reload result and in the status history', () => {
  const reload = (cut) => JSON.stringify({ type: 'reload', data: { ok: true, generation: 2, ms: 5, cut } });
  assert.deepEqual(parseReply(reload(3)), {
    reply: { type: 'reload', data: { ok: true, generation: 2, ms: 5, cut: 3 } },
  });
  assert.ok('reply' in parseReply(reload(undefined)));
  assert.ok('invalid' in parseReply(reload('3')));
  const status = (cut) =>
    JSON.stringify({ type: 'status', data: { ...STATUS, reloads: [{ ...STATUS.reloads[1], cut }] } });
  assert.ok('reply' in parseReply(status(2)));
  assert.ok('invalid' in parseReply(status('2')));
});

test("parseReply: a status without the master's memory (a master older than the client) is read, and printed without it", () => {
  const { master, ...older } = STATUS;
  const parsed = parseReply(JSON.stringify({ type: 'status', data: older }));
  assert.ok('reply' in parsed, JSON.stringify(parsed));
  assert.match(formatStatus(older).join('\n'), /master\s+pid 4242, up 3m 12s\n/);
  assert.ok(
    'invalid' in
      parseReply(JSON.stringify({ type: 'status', data: { ...STATUS, master: { ...master, heapUsedBytes: '7' } } })),
  );
});

test("parseReply: a worker's history, when there, is four lists of numbers", () => {
  const history = { rssBytes: [1, 2], loopDelayMs: [0, 1], connections: [3, 3], requests: [] };
  const status = (h) =>
    JSON.stringify({ type: 'status', data: { ...STATUS, workers: [{ ...STATUS.workers[0], history: h }] } });
  assert.deepEqual(/** @type {any} */ (parseReply(status(history))).reply.data.workers[0].history, history);
  assert.ok('invalid' in parseReply(status({ ...history, requests: ['1'] })));
  assert.ok('invalid' in parseReply(status({ ...history, connections: undefined })));
});

test('reload --json: the raw reply lines, exit code unchanged', { timeout: 10_000 }, async () => {
  const file = freshPath();
  await start(file, new FakeMaster());
  const { code, out, err } = await client(file, 'reload', { json: true });
  assert.equal(code, 0);
  assert.deepEqual(err, []);
  const replies = out.map((l) => JSON.parse(l));
  assert.deepEqual(replies, [
    ...OK_PHASES.map((data) => ({ type: 'phase', data })),
    { type: 'reload', data: { ok: true, generation: 4, ms: 95, drainedMs: 80 } },
  ]);
});

test('reload that throws in the master: reported as a failed reload, server keeps serving', {
  timeout: 10_000,
}, async () => {
  const file = freshPath();
  await start(file, new FakeMaster({ phases: [], throws: 'kaput' }));
  const { code, err } = await client(file, 'reload');
  assert.equal(code, 1);
  assert.deepEqual(err, ['reload failed: internal error: kaput']);
  assert.equal((await client(file, 'status')).code, 0);
});

test('status: human table and --json', { timeout: 10_000 }, async () => {
  const file = freshPath();
  await start(file);
  const human = await client(file, 'status');
  assert.equal(human.code, 0);
  assert.deepEqual(human.err, []);
  const text = human.out.join('\n');
  assert.match(text, /pid 4242, up 3m 12s, rss 48\.0 MiB, heap 7\.5 MiB/);
  assert.match(text, /generation\s+3/);
  assert.match(text, /tcp:\*:8080, unix:\/run\/app\.sock/);
  assert.match(text, /5001\s+3\s+ready\s+1m 1s\s+45\.0 MiB\s+7\s+2 ms\s+400 ms ago/);
  assert.match(text, /5002\s+3\s+starting\s+800 ms\s+-\s+-\s+-\s+-/);
  assert.match(text, /5003\s+3\s+UNRESPONSIVE\s+1m 1s\s+-\s+1\s+0 ms\s+12s ago/);
  assert.match(text, /draining\s+generation 2 \(3 open connections\)/);
  assert.match(text, /draining\s+generation 1 \(connections not reported yet\)/);
  assert.match(text, /2\s+failed\s+30012 ms\s+2025-01-01T00:00:00.000Z\s+worker 4990 exited with code 1/);
  assert.match(text, /3\s+ok\s+812 ms/);
  assert.deepEqual(human.out, formatStatus(STATUS));

  const json = await client(file, 'status', { json: true });
  assert.equal(json.code, 0);
  assert.equal(json.out.length, 1);
  assert.deepEqual(JSON.parse(json.out[0]), STATUS);
});

test('stop: prints stopping, exit 0, then master.stop() is called', { timeout: 10_000 }, async () => {
  const file = freshPath();
  const master = new FakeMaster();
  await start(file, master);
  const { code, out, err } = await client(file, 'stop');
  assert.equal(code, 0);
  assert.deepEqual(out, ['stopping']);
  assert.deepEqual(err, []);
  await waitFor(() => master.stopped === 1, 30_000, 'master.stop()');
  await sleep(50);
  assert.equal(master.stopped, 1);
});

test('a master whose stop() closes the control server: the client still gets its answer', {
  timeout: 10_000,
}, async () => {
  const file = freshPath();
  const master = new FakeMaster();
  let closed;
  master.stop = () => {
    master.stopped += 1;
    closed = server.close();
  };
  const server = await start(file, master);
  // Someone connected and silent must not hold the close up.
  const idle = net.connect(file);
  idle.on('error', () => {});
  await within(new Promise((r) => idle.once('connect', r)), 3000, 'idle connect');
  const { code, out } = await client(file, 'stop');
  assert.equal(code, 0);
  assert.deepEqual(out, ['stopping']);
  await waitFor(() => closed !== undefined, 30_000, 'stop() to close the server');
  const t0 = Date.now();
  await within(closed, 3000, 'close() after stop');
  assert.ok(Date.now() - t0 < 1500, 'close() did not wait for the grace period');
  assert.equal(fs.existsSync(file), false);
  assert.equal((await client(file, 'status')).code, 2);
  idle.destroy();
});

test('a second server on the same path is refused while the first runs', { timeout: 10_000 }, async () => {
  const file = freshPath();
  await start(file);
  await assert.rejects(startControlServer(file, new FakeMaster()), (/** @type {Error} */ err) => {
    assert.equal(
      err.message,
      `another baton master is already running at ${file} (stop it, or choose another --name/--control)`,
    );
    return true;
  });
  assert.equal((await client(file, 'status')).code, 0); // the first one still answers
});

test('a stale socket file is replaced; a file that is not a socket is left alone', { timeout: 10_000 }, async () => {
  const file = freshPath();
  // Leave a socket nobody listens on: bind elsewhere, move it into place, close.
  const other = path.join(path.dirname(file), 'o.sock');
  const s = net.createServer();
  await within(new Promise((r) => s.listen(other, () => r())), 3000, 'listen');
  fs.renameSync(other, file);
  await within(new Promise((r) => s.close(r)), 3000, 'close');
  assert.ok(fs.statSync(file).isSocket());
  assert.equal(await probeSocket(file), 'stale');
  await start(file);
  assert.equal((await client(file, 'status')).code, 0);

  const plain = path.join(path.dirname(file), 'plain.sock');
  fs.writeFileSync(plain, 'keep me');
  await assert.rejects(startControlServer(plain, new FakeMaster()), /exists and is not a socket/);
  assert.equal(fs.readFileSync(plain, 'utf8'), 'keep me');
});

test('close() leaves alone a socket that has replaced ours at the path', { timeout: 10_000 }, async () => {
  const file = freshPath();
  const first = await start(file);
  const moved = path.join(path.dirname(file), 'moved.sock');
  fs.renameSync(file, moved); // someone took the path over…
  const second = await start(file); // …and another master listens there now
  await within(first.close(), 5000, 'first close');
  assert.ok(fs.existsSync(file), 'the second master keeps its socket');
  assert.equal((await client(file, 'status')).code, 0);
  await within(second.close(), 5000, 'second close');
  assert.equal(fs.existsSync(file), false);
});

test('bind errors are one line naming the path and --control', { timeout: 10_000 }, async () => {
  const missing = path.join(root, 'no-such-dir', 'x.sock');
  await assert.rejects(startControlServer(missing, new FakeMaster()), (/** @type {Error} */ err) => {
    assert.ok(err.message.includes(missing), err.message);
    // Not EACCES, which is what libuv makes of bind()'s ENOENT.
    assert.ok(err.message.includes(`directory '${path.dirname(missing)}' does not exist`), err.message);
    assert.ok(err.message.includes('--control'), err.message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  const long = path.join(root, `${'x'.repeat(120)}.sock`);
  await assert.rejects(startControlServer(long, new FakeMaster()), /too long for a unix socket.*--control/);
});

test('malformed requests get one error reply, then the connection ends', { timeout: 20_000 }, async () => {
  const file = freshPath();
  const master = new FakeMaster();
  await start(file, master);
  /** @type {[string, RegExp][]} */
  const cases = [
    ['not json\n', /malformed request/],
    ['[1,2]\n', /malformed request/],
    ['"reload"\n', /malformed request/],
    ['{"nocmd":1}\n', /unknown command none/],
    ['{"cmd":"explode"}\n', /unknown command 'explode'/],
    ['{"cmd":42}\n', /unknown command 42/],
    ['x'.repeat(MAX_REQUEST_BYTES + 100), /longer than 4096 bytes/],
    [`{"cmd":"status","pad":"${'y'.repeat(MAX_REQUEST_BYTES)}"}\n`, /longer than 4096 bytes/],
    ['{"cmd":"status","release":"v2"}\n', /only reload takes a release/],
    ['{"cmd":"reload","release":["v2"]}\n', /only reload takes a release, a string/],
    ['{"cmd":"upgrade","release":"v2"}\n', /only reload takes a release/],
    ['{"cmd":"upgrade","node":"node"}\n', /a node is an absolute path, like \{"cmd":"upgrade"/],
    // A server not given an upgrade (as in a standalone process's) says so.
    ['{"cmd":"upgrade"}\n', /this master cannot be upgraded/],
  ];
  for (const [data, re] of cases) {
    const got = await raw(file, data);
    const lines = got.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one reply to ${data.slice(0, 30)}: ${got}`);
    const reply = JSON.parse(lines[0]);
    assert.equal(reply.type, 'error');
    assert.match(reply.message, re);
  }
  // Nothing at all, then a half-close: an error too.
  assert.equal(JSON.parse(await raw(file, '', { end: true })).type, 'error');
  // A request without its newline, then a half-close: still answered.
  assert.deepEqual(JSON.parse(await raw(file, '{"cmd":"status"}', { end: true })), { type: 'status', data: STATUS });
  // CRLF and extra fields are accepted; a second line on the same connection is ignored.
  assert.equal(JSON.parse(await raw(file, '{"cmd":"status","v":1}\r\n{"cmd":"stop"}\n')).type, 'status');
  assert.equal(master.stopped, 0);
  assert.equal(master.reloadsStarted, 0);
  assert.equal((await client(file, 'status')).code, 0);
});

/**
 * A client that sends its request a byte at a time, one every 25 ms (never a
 * newline, so never a whole request), until the server closes the connection
 * or 400 bytes have gone. `closed` resolves with what the server said, the
 * error the socket met if any, and whether the server closed it while the
 * trickle still ran.
 */
async function trickler(file) {
  const sock = net.connect(file);
  sock.setEncoding('utf8');
  let got = '';
  let error;
  let sent = 0;
  sock.on('data', (c) => (got += c));
  sock.on('error', (/** @type {NodeJS.ErrnoException} */ e) => (error = e.code));
  const timer = setInterval(() => {
    if (sent < 400) sock.write('x', () => {});
    sent += 1;
  }, 25);
  const closed = new Promise((resolve) =>
    sock.once('close', () => {
      clearInterval(timer);
      resolve({ got, error, whileTrickling: sent < 400 });
    }),
  );
  await within(new Promise((r, reject) => sock.once('connect', r).once('error', reject)), 5000, 'connect');
  return {
    sock,
    closed,
    stop: () => {
      clearInterval(timer);
      sock.destroy();
    },
  };
}

/**
 * The one error line a trickling connection was closed with, or undefined when
 * the test's own next byte met the closed socket (EPIPE) before Node read the
 * answer waiting for it, which Node then drops: a race of the test's client,
 * not of the server, so the messages are checked on quiet clients too.
 */
function closedWith({ got, error, whileTrickling }) {
  assert.ok(whileTrickling, 'the server closed it, not the end of the trickle');
  if (got === '') {
    assert.ok(error === 'EPIPE' || error === 'ECONNRESET', `closed with no answer and ${error}`);
    return undefined;
  }
  const lines = got.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, got);
  const { type, message } = JSON.parse(lines[0]);
  assert.equal(type, 'error');
  return message;
}

const tooMany = /^too many control connections \(64 open\); try again shortly$/;

test('at most 64 control connections: over the cap, a new one gets a one-line error and is closed at once', {
  timeout: 30_000,
}, async () => {
  const file = freshPath();
  await start(file, new FakeMaster(), { requestDeadlineMs: 60_000 });
  const conns = [];
  try {
    for (let i = 0; i < 100; i++) conns.push(await trickler(file));
    const ends = await within(
      Promise.all(conns.slice(64).map((c) => c.closed)),
      10_000,
      'the 36 over the cap to be closed',
    );
    for (const end of ends)
      assert.match(closedWith(end) ?? 'too many control connections (64 open); try again shortly', tooMany);
    const { code, out, err } = await client(file, 'status');
    assert.equal(code, 2);
    assert.deepEqual(out, []);
    assert.equal(err.length, 1);
    assert.match(err[0], tooMany);
    assert.equal(conns.slice(0, 64).filter((c) => c.sock.destroyed).length, 0, 'the first 64 are still served');
  } finally {
    for (const c of conns) c.stop();
  }
});

test('100 trickling connections are all closed by the request deadline (not reset by each byte); then status answers', {
  timeout: 30_000,
}, async () => {
  const file = freshPath();
  await start(file, new FakeMaster(), { requestDeadlineMs: 300 });
  // Half a request, then quiet: it reads the deadline's answer with no write of its own to race it.
  const quiet = raw(file, '{"cmd":');
  const conns = [];
  try {
    for (let i = 0; i < 99; i++) conns.push(await trickler(file));
    const ends = await within(
      Promise.all(conns.map((c) => c.closed)),
      15_000,
      'every trickling connection to be closed',
    );
    const deadline = 'no complete request within 0.3 s of connecting (send one line like {"cmd":"status"})';
    for (const end of ends) {
      const message = closedWith(end);
      if (message !== undefined && !tooMany.test(message)) assert.equal(message, deadline);
    }
    assert.deepEqual(JSON.parse(await quiet), { type: 'error', message: deadline });
    const r = await client(file, 'status');
    assert.equal(r.code, 0, r.err.join('\n'));
  } finally {
    for (const c of conns) c.stop();
  }
});

test('a request that has arrived is not cut by the deadline, however long the reload takes', {
  timeout: 60_000,
}, async () => {
  const file = freshPath();
  /** @type {() => void} */
  let open;
  const master = new FakeMaster({ gate: new Promise((r) => (open = r)) });
  await start(file, master, { requestDeadlineMs: 100 });
  const reload = client(file, 'reload');
  await waitFor(() => master.reloadsStarted === 1, 30_000, 'the reload request to arrive');
  // Connected after the reload's request, so its deadline comes later than the reload connection's would.
  const later = await trickler(file);
  closedWith(await within(later.closed, 30_000, 'the later connection to reach its deadline'));
  open();
  const { code, out, err } = await reload;
  assert.equal(code, 0, err.join('\n'));
  assert.deepEqual(out, OK_LINES);
});

test('client against a missing socket: exit 2 and one line', { timeout: 10_000 }, async () => {
  const file = path.join(root, 'nobody-here.sock');
  for (const cmd of ['reload', 'stop', 'status']) {
    const { code, out, err } = await client(file, cmd);
    assert.equal(code, 2);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      `no baton master is running at ${file} (start one with 'baton run', or pass --name/--control)`,
    ]);
  }
});

test('a reload asked by a client that then half-closes its side (nc -N) is still run and answered', {
  timeout: 10_000,
}, async () => {
  const file = freshPath();
  const master = new FakeMaster();
  await start(file, master);
  const lines = (await raw(file, '{"cmd":"reload"}\n', { end: true }))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).type);
  assert.deepEqual(lines, ['accepted', ...OK_PHASES.map(() => 'phase'), 'reload']);
  assert.equal(master.reloadsFinished, 1);
});

test('a client that disconnects mid-reload does not stop the reload or crash the server', {
  timeout: 10_000,
}, async () => {
  const file = freshPath();
  const master = new FakeMaster({ delayMs: 60 });
  await start(file, master);
  const got = await within(
    new Promise((resolve, reject) => {
      const sock = net.connect(file, () => sock.write('{"cmd":"reload"}\n'));
      sock.setEncoding('utf8');
      sock.on('error', reject);
      let got = '';
      sock.on('data', (d) => {
        got += d;
        if (!got.includes('"type":"phase"')) return;
        sock.destroy(); // hang up after the first phase
        resolve(got);
      });
    }),
    5000,
    'first phase',
  );
  assert.deepEqual(
    got
      .split('\n')
      .slice(0, 2)
      .map((l) => JSON.parse(l).type),
    ['accepted', 'phase'],
  );
  await waitFor(() => master.reloadsFinished === 1, 30_000, 'the reload to finish');
  await sleep(100); // the remaining phases and the result were written to nobody
  const { code, out } = await client(file, 'reload');
  assert.equal(code, 0);
  assert.deepEqual(out, OK_LINES);
});

test('client: the master hangs up without answering → exit 1; an error reply → exit 2', {
  timeout: 10_000,
}, async () => {
  const dir = path.dirname(freshPath());
  const fake = (file, onLine) => {
    const s = net.createServer((sock) => sock.once('data', () => onLine(sock)));
    return within(new Promise((r) => s.listen(file, () => r(s))), 3000, 'fake listen');
  };
  const hangup = await fake(path.join(dir, 'h.sock'), (sock) => sock.end());
  const errors = await fake(path.join(dir, 'e.sock'), (sock) =>
    sock.end(`${JSON.stringify({ type: 'error', message: 'unknown command' })}\n`),
  );
  const garbage = await fake(path.join(dir, 'g.sock'), (sock) => sock.end('<html>\n'));
  try {
    let r = await client(path.join(dir, 'h.sock'), 'reload');
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, ['the master closed the connection before answering (did it stop?)']);
    r = await client(path.join(dir, 'e.sock'), 'status');
    assert.equal(r.code, 2);
    assert.deepEqual(r.err, ['unknown command']);
    r = await client(path.join(dir, 'g.sock'), 'status');
    assert.equal(r.code, 1);
    assert.match(r.err[0], /unexpected answer from the master: <html>/);
  } finally {
    for (const s of [hangup, errors, garbage]) s.close();
  }
});

test('client: a master that never answers is given up on after firstAnswerMs, exit 2', {
  timeout: 10_000,
}, async () => {
  const file = path.join(path.dirname(freshPath()), 'silent.sock');
  const conns = [];
  const s = net.createServer((sock) => conns.push(sock));
  await within(new Promise((r) => s.listen(file, () => r())), 3000, 'listen');
  try {
    const r = await client(file, 'status', { firstAnswerMs: 200 });
    assert.equal(r.code, 2);
    assert.deepEqual(r.err, [`the master at ${file} did not answer within 200 ms (is it stopped or frozen?)`]);
  } finally {
    for (const c of conns) c.destroy();
    s.close();
  }
});

test('formatPhase: singulars', () => {
  assert.deepEqual(formatPhase({ phase: 'draining', generation: 1, connections: 1 }), [
    'draining generation 1 (1 open connection)',
  ]);
  assert.deepEqual(
    formatPhase({ phase: 'rollback', generation: 2, reason: 'not ready within 30000 ms', stderrTail: '' }),
    ['rollback: generation 2 failed: not ready within 30000 ms'],
  );
});

test('formatStatus: a failed reload whose reason spans lines stays one row, its reason one line', () => {
  const reason = 'worker pid 7 exited before it was ready (code 1):\tError: broken\n    at app.js:1\r\n\tat x\n';
  const lines = formatStatus({
    ...STATUS,
    reloads: [
      { generation: 2, ok: false, ms: 30, at: '2025-01-01T00:00:00.000Z', reason },
      { generation: 3, ok: true, ms: 812, at: '2025-01-01T00:01:00.000Z' },
    ],
  });
  for (const l of lines) assert.doesNotMatch(l, /[\u0000-\u001f\u007f]/, JSON.stringify(l));
  const rows = lines.slice(lines.indexOf('last 2 reloads') + 1);
  assert.equal(rows.length, 3, rows.join('\n'));
  assert.match(
    rows[1],
    /^ {2}2\s+failed\s+30 ms\s+\S+\s+worker pid 7 exited before it was ready \(code 1\): Error: broken at app\.js:1 at x$/,
  );
  assert.match(rows[2], /^ {2}3\s+ok\s+812 ms/);
});

test('formatStatus: a CUT column when a shown reload cut connections, blank for the others', () => {
  const lines = formatStatus({
    ...STATUS,
    reloads: [
      { generation: 2, ok: true, ms: 1003, at: '2025-01-01T00:00:00.000Z', cut: 3 },
      { generation: 3, ok: true, ms: 812, at: '2025-01-01T00:01:00.000Z', cut: 0 },
    ],
  });
  const rows = lines.slice(lines.indexOf('last 2 reloads') + 1);
  assert.match(rows[0], /^ {2}GEN\s+RESULT\s+TIME\s+AT\s+CUT$/);
  assert.match(rows[1], /^ {2}2\s+ok\s+1003 ms\s+\S+\s+3$/);
  assert.match(rows[2], /^ {2}3\s+ok\s+812 ms\s+\S+$/);
  assert.doesNotMatch(formatStatus(STATUS).join('\n'), /CUT/, 'no column when nothing was cut');
});

test('releases: reload --release and baton releases; refused in one line with exit 2, nothing started, without --releases', {
  timeout: 20_000,
}, async () => {
  let file = freshPath();
  const plain = new FakeMaster();
  await start(file, plain);
  assert.deepEqual(await client(file, 'releases'), { code: 2, out: [], err: [NO_RELEASES] });
  assert.deepEqual(await client(file, 'reload', { release: 'v2' }), { code: 2, out: [], err: [NO_RELEASES] });
  assert.equal(plain.reloadsStarted, 0);

  const list = {
    dir: '/srv/app/releases',
    current: 'v2',
    serving: 'v1',
    releases: [
      { name: 'v1', current: false, serving: true },
      { name: 'v2', current: true, serving: false },
    ],
  };
  file = freshPath();
  const master = new FakeMaster({ releases: list });
  await start(file, master);
  assert.deepEqual(await client(file, 'releases'), { code: 0, out: ['v1  serving', 'v2  current'], err: [] });
  const json = await client(file, 'releases', { json: true });
  assert.deepEqual(JSON.parse(json.out[0]), list);
  assert.deepEqual(await client(file, 'reload', { release: 'v9' }), {
    code: 2,
    out: [],
    err: ["release 'v9' is not in /srv/app/releases"],
  });
  assert.equal((await client(file, 'reload', { release: 'v2' })).code, 0);
  assert.deepEqual([master.reloadsStarted, master.releasesAsked], [1, ['v2']]);
});

test('formatStatus: a stopping master says whether it waits out its shutdown delay or drains', () => {
  const delay = formatStatus({ ...STATUS, stopping: { phase: 'delay', msLeft: 2500 } });
  assert.ok(
    delay.some((l) => /^stopping\s+not ready \(\/readyz 503\), serving on; draining in 2s \(shutdown delay\)$/.test(l)),
    delay.join('\n'),
  );
  const draining = formatStatus({ ...STATUS, stopping: { phase: 'draining', msLeft: 28_000 } });
  assert.ok(
    draining.some((l) => /^stopping\s+draining all workers \(deadline in 28s\)$/.test(l)),
    draining.join('\n'),
  );
  assert.ok(!formatStatus(STATUS).some((l) => l.startsWith('stopping')), 'nothing while it runs');
});

test("status: each generation's requests over the last 10 s, one line each; validated as the client reads them", () => {
  const recent = { seconds: 10, perSecond: 812.34, share5xx: 0.0123, shareUnanswered: 0, p50Ms: 3.21, p99Ms: null };
  const total = {
    codes: { '2xx': 8000, '3xx': 0, '4xx': 3, '5xx': 100, unanswered: 0 },
    buckets: [8103, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    sumMs: 9000,
    connections: 0,
  };
  const s = { ...STATUS, requests: [{ generation: 3, total, recent }] };
  assert.ok('reply' in parseReply(JSON.stringify({ type: 'status', data: s })));
  assert.match(
    formatStatus(s).join('\n'),
    /^requests {4}generation 3: 812\.3\/s, 5xx 1\.2 %, unanswered 0 %, p50 3\.2 ms, p99 - \(last 10 s\)$/m,
  );
  const bad = { ...s, requests: [{ generation: 3, total: { ...total, codes: { '2xx': 1 } }, recent }] };
  assert.ok('invalid' in parseReply(JSON.stringify({ type: 'status', data: bad })));
});

test('logs -f: a follower that reads nothing is cut off once FOLLOW_BACKLOG_BYTES wait for it, not held', {
  timeout: 20_000,
}, async () => {
  const file = freshPath();
  const listeners = new Set();
  const logs = {
    lines: () => [],
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  await start(file, new FakeMaster(), { logs });
  const sock = net.connect(file);
  sock.on('error', () => {});
  sock.on('connect', () => sock.end('{"cmd":"logs","follow":true}\n'));
  sock.pause();
  await waitFor(() => listeners.size === 1, 5000, 'the follower subscribed');
  const line = 'x'.repeat(64 * 1024);
  let sent = 0;
  for (let seq = 1; seq <= 400 && listeners.size > 0; seq++) {
    for (const l of listeners) l({ seq, time: 0, pid: 1, generation: 1, stream: 'stdout', line });
    sent += line.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  sock.destroy();
  assert.equal(listeners.size, 0, 'cut off');
  assert.ok(sent < 2 * FOLLOW_BACKLOG_BYTES, `cut off after ${sent} bytes`);
});
