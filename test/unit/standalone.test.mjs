// Unit tests for dist/worker/standalone.js: a standalone process upgrading
// itself, with an injected spawner of fake successors (no processes). The
// test makes each successor ready, fail or exit; the process's own drain
// (shutdown) and what systemd is told are recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Standalone } from '../../dist/worker/standalone.js';
import { Lifecycle } from '../../dist/worker/lifecycle.js';
import { DEFAULTS } from '../../dist/protocol/settings.js';
import { PROTOCOL_VERSION } from '../../dist/protocol/messages.js';

let nextPid = 50_000;

/** @typedef {import('../../dist/worker/standalone.js').Successor} Successor */
/** @typedef {import('../../dist/generation/parent.js').Exit} Exit */

/**
 * A successor that never has connections handed over (no test here drains any).
 * @implements {Omit<Successor, 'handOver'>}
 */
class FakeSuccessor {
  /** @param {import('../../dist/generation/parent.js').ChildSpec} spec */
  constructor(spec) {
    this.spec = spec;
    this.pid = nextPid++;
    this.name = `successor pid ${this.pid}`;
    this.generation = spec.settings.generation;
    this.startedAt = Date.now();
    this.readyAt = undefined;
    /** @type {Successor['state']} */
    this.state = 'starting';
    /** @type {Successor['failed']} */
    this.failed = undefined;
    this.drains = [];
    this.sent = [];
    /** @type {() => void} */
    this.resolveReady = undefined;
    /** @type {(err: Error) => void} */
    this.rejectReady = undefined;
    /** @type {Promise<void>} */
    this.ready = new Promise((resolve, reject) => Object.assign(this, { resolveReady: resolve, rejectReady: reject }));
    this.ready.catch(() => {});
    /** @type {(exit: Exit) => void} */
    this.resolveExited = undefined;
    /** @type {Promise<Exit>} */
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  makeReady() {
    this.state = 'ready';
    this.readyAt = Date.now();
    this.resolveReady();
  }

  exit(code = 1, error = '') {
    this.failed = {
      baton: PROTOCOL_VERSION,
      type: 'failed',
      pid: this.pid,
      error,
      stderrTail: error ? `${error}\n    at app.js:9\n` : '',
    };
    this.state = 'exited';
    this.rejectReady(new Error(this.describeExit({ code, signal: null })));
    this.resolveExited({ code, signal: null });
  }

  /** @param {Exit} exit */
  describeExit({ code }) {
    return `${this.name} exited ${this.readyAt ? '' : 'before it was ready '}(code ${code})`;
  }

  drain(reason, deadline) {
    this.drains.push({ reason, deadline });
  }

  send(body) {
    this.sent.push(body);
    return true;
  }
}

/** @param {{ crashWindowMs?: number, readyTimeoutMs?: number, onSpawn?: (s: FakeSuccessor) => void }} [options] */
function setup({ crashWindowMs = 0, readyTimeoutMs = 10_000, onSpawn = () => {} } = {}) {
  const spawned = [];
  const said = [];
  const drains = [];
  const outcomes = [];
  let appListenersRun = 0;
  const lifecycle = new Lifecycle();
  // All of the listeners that an upgrade reads: the sockets it passes on.
  /** @type {Pick<import('../../dist/listeners/route.js').Listeners, 'passable'>} */
  const listeners = { passable: () => [{ fd: 3, name: 'tcp:127.0.0.1:8080' }] };
  const standalone = new Standalone({
    lifecycle,
    listeners: /** @type {import('../../dist/listeners/route.js').Listeners} */ (listeners),
    settings: { ...DEFAULTS, generation: 4, crashWindowMs, readyTimeoutMs, drainTimeoutMs: 5000 },
    launch: { execPath: '/usr/bin/node', args: ['app.js'], cwd: '/srv/app', env: {} },
    notify: {
      serving: (generation, o = {}) => said.push({ serving: generation, ...o }),
      reloading: (next, serving) => said.push({ reloading: next, serving }),
      stopping: () => said.push({ stopping: true }),
      flushed: () => Promise.resolve(),
    },
    moreSockets: () => [{ fd: 4, name: 'baton-admin' }],
    connections: () => 7,
    upgraded: (result, successor) => outcomes.push({ result, successor }),
    runAppSignalListeners: () => appListenersRun++,
    shutdown: (reason, deadline) => {
      drains.push({ reason, deadline });
      lifecycle.to('draining');
      return new Promise(() => {});
    },
    spawn: (spec) => {
      const s = new FakeSuccessor(spec);
      spawned.push(s);
      onSpawn(s);
      return /** @type {Successor} */ (/** @type {Omit<Successor, 'handOver'>} */ (s));
    },
  });
  return { standalone, lifecycle, spawned, said, drains, outcomes, appListenersRun: () => appListenersRun };
}

const phasesOf = () => {
  const phases = [];
  return { phases, listener: (p) => phases.push(p), names: () => phases.map((p) => p.phase) };
};

test('an upgrade: the successor gets every socket and the next generation; once ready and through its window, this process drains', async () => {
  const m = setup({ crashWindowMs: 50, onSpawn: (s) => setImmediate(() => s.makeReady()) });
  const rec = phasesOf();
  const r = await m.standalone.upgrade(rec.listener);
  const [s] = m.spawned;
  assert.equal(r.ok, true);
  assert.equal(r.generation, 5);
  assert.deepEqual(s.spec.sockets, [
    { fd: 3, name: 'tcp:127.0.0.1:8080' },
    { fd: 4, name: 'baton-admin' },
  ]);
  assert.equal(s.spec.role, 'successor');
  assert.equal(s.spec.settings.generation, 5);
  assert.deepEqual(rec.names(), ['spawned', 'ready', 'draining', 'done']);
  assert.deepEqual(rec.phases[2], { phase: 'draining', generation: 4, connections: 7 });
  assert.deepEqual(
    m.drains.map((d) => d.reason),
    ['upgrade'],
  );
  assert.equal(m.appListenersRun(), 1, "the app's own upgrade-signal listeners run as the drain starts");
  assert.deepEqual(m.said, [
    { reloading: 5, serving: 4 },
    { serving: 5, mainPid: s.pid },
  ]);
  assert.deepEqual(
    m.outcomes.map((o) => [o.result.ok, o.successor]),
    [[true, s]],
  );
});

test('a successor that exits before it is ready: stopped, and this process serves on untouched', async () => {
  const m = setup({ onSpawn: (s) => setImmediate(() => s.exit(1, 'Error: no config')) });
  const rec = phasesOf();
  const r = await m.standalone.upgrade(rec.listener);
  assert.equal(r.ok, false);
  assert.match(r.reason, /exited before it was ready \(code 1\)/);
  assert.match(r.stderrTail, /at app\.js:9/);
  assert.deepEqual(rec.names(), ['spawned', 'rollback']);
  assert.equal(m.lifecycle.state, 'serving');
  assert.deepEqual(m.drains, [], 'never told to drain');
  assert.deepEqual(m.said.at(-1), { serving: 4, failed: { generation: 5, reason: r.reason } });
});

test('a successor that dies in its crash window: rolled back with why and when; this process, which served throughout, serves on', async () => {
  const m = setup({ crashWindowMs: 5000, onSpawn: (s) => setImmediate(() => s.makeReady()) });
  const rec = phasesOf();
  const result = m.standalone.upgrade(rec.listener);
  await new Promise((resolve) => setImmediate(resolve));
  const [s] = m.spawned;
  assert.equal(m.lifecycle.state, 'upgrading', 'both serve in the window');
  s.exit(1, 'Error: died after listening');
  const r = await result;
  assert.equal(r.ok, false);
  assert.match(
    r.reason,
    new RegExp(
      `^successor pid ${s.pid} exited \\(code 1\\) \\d+ ms after it was ready \\(crash window 5000 ms\\): Error: died after listening$`,
    ),
  );
  assert.deepEqual(rec.names(), ['spawned', 'ready', 'rollback']);
  assert.equal(m.lifecycle.state, 'serving');
  assert.deepEqual(m.drains, []);
  assert.equal(m.appListenersRun(), 0);
});

test("not ready in time: the successor still starting has its drain's deadline now (killed 2 s on), not a drain timeout away", async () => {
  const m = setup({ readyTimeoutMs: 30 });
  const r = await m.standalone.upgrade();
  const [s] = m.spawned;
  assert.match(r.reason, new RegExp(`^successor pid ${s.pid} was not ready within 30 ms$`));
  assert.deepEqual(
    s.drains.map((d) => d.reason),
    ['stop'],
  );
  assert.ok(s.drains[0].deadline <= Date.now());
  assert.equal(m.lifecycle.state, 'serving');
});

test('one upgrade at a time: a request while one runs joins it; after the hand-over, more are refused; a stop cancels one in its window', async () => {
  const m = setup({ crashWindowMs: 20, onSpawn: (s) => setImmediate(() => s.makeReady()) });
  const [a, b] = [m.standalone.upgrade(), m.standalone.upgrade()];
  assert.equal(await a, await b);
  assert.equal(m.spawned.length, 1);
  const again = await m.standalone.upgrade();
  assert.match(again.reason, /^already handed over to pid \d+: send the upgrade to the process serving now$/);

  const c = setup({ crashWindowMs: 5000, onSpawn: (s) => setImmediate(() => s.makeReady()) });
  const cancelled = c.standalone.upgrade();
  await new Promise((resolve) => setImmediate(resolve));
  c.standalone.stop();
  const r = await cancelled;
  assert.equal(r.reason, 'cancelled by a stop');
  assert.deepEqual(
    c.spawned[0].drains.map((d) => d.reason),
    ['stop'],
    'the successor is stopped',
  );
  assert.deepEqual(
    c.drains.map((d) => d.reason),
    ['stop'],
    'and this process stops, as asked',
  );
});
