// Unit tests for dist/supervisor/master.js: the Master's rules, with an
// injected spawner of fake workers (no processes) and a real SocketTable.
//
// A fake worker has every field of the Worker type; the test makes it ready,
// fail or exit, and by default it reports its connections (and those it cut)
// and exits as soon as it is asked to drain (as a real worker with nothing
// open does). Nothing here
// races a timer against the machine: reloads are driven by the test settling
// the fakes, the crash back-off runs on node:test's mock timers, and the only
// real timers are a ready timeout nobody can beat (the fakes never get ready)
// and the master's 1 s minimum between reloads, which is only waited out.
// Every wait is bounded by the test's timeout.
//
// The master logs to fd 2 (writeSync); those lines show in the test output.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Master } from '../../dist/supervisor/master.js';
import { SocketTable } from '../../dist/supervisor/sockets.js';
import { NO_RELEASES, ReloadRefused } from '../../dist/protocol/control.js';
import { PROTOCOL_VERSION } from '../../dist/protocol/messages.js';
import { captureLog } from '../helpers/log.mjs';
import { tmpDir } from '../helpers/proc.mjs';

const TEST_MS = 15_000;

/** Lets pending promise callbacks run (setImmediate is never mocked here). */
const flush = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

let nextPid = 40_000;

/** @typedef {import('../../dist/listeners/address.js').Address} Address */
/** @typedef {import('../../dist/supervisor/master.js').MasterOptions} MasterOptions */
/** @typedef {import('../../dist/supervisor/worker.js').Worker} Worker */

/**
 * @typedef {object} WorkerOptions
 * @property {boolean} [autoExitOnDrain] it exits as soon as it is asked to drain
 * @property {number} [connections] what it reports at its heartbeat and drain
 * @property {number} [cut] connections it cut at its drain deadline
 * @property {string} [spawnFailure] its exit is described so, as a worker that could not be spawned
 */

/** @implements {Worker} */
class FakeWorker {
  /**
   * @param {number} generation
   * @param {WorkerOptions} [options]
   */
  constructor(generation, { autoExitOnDrain = true, connections = 0, cut = 0, spawnFailure } = {}) {
    this.pid = nextPid++;
    this.name = `worker pid ${this.pid}`;
    this.generation = generation;
    this.execPath = process.execPath;
    this.startedAt = Date.now();
    /** @type {Worker['state']} */
    this.state = 'starting';
    this.readyAt = undefined;
    this.heartbeat = undefined;
    this.listening = [];
    /** @type {import('../../dist/protocol/messages.js').FailedMessage | undefined} */
    this.failed = undefined;
    this.drains = [];
    /** @type {object[]} */
    this.sent = [];
    this.kills = 0;
    this.autoExitOnDrain = autoExitOnDrain;
    this.connections = connections;
    this.cutCount = cut;
    this.wasReady = false;
    this.spawnFailure = spawnFailure;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.draining = new Promise((resolve) => (this.resolveDraining = resolve));
    this.cut = new Promise((resolve) => (this.resolveCut = resolve));
    this.isSettled = false;
    this.settled = new Promise((resolve) => (this.resolveSettled = resolve));
    /** @type {number | null} */
    this.rss = null;
  }

  /** Ready, and settled where it listens unless told `settled: false` (as a worker says once in service). */
  makeReady(listening = [], { settled = true } = {}) {
    if (this.state !== 'starting') return;
    this.state = 'ready';
    this.readyAt = Date.now();
    this.wasReady = true;
    this.listening = listening;
    this.resolveReady();
    if (settled) this.settle(listening);
  }

  /** As a worker's `listening` message does. */
  settle(listening = this.listening) {
    this.listening = listening;
    this.isSettled = true;
    this.resolveSettled();
  }

  /** Dies before it is ready, saying why (as a worker's 'failed' message does). */
  fail(error, stderrTail = `Error: ${error}\n    at app.js:1\n`) {
    this.failed = { baton: PROTOCOL_VERSION, type: 'failed', pid: this.pid, error, stderrTail };
    this.exit(1);
  }

  exit(code = 1, signal = null) {
    if (this.state === 'exited') return;
    this.state = 'exited';
    const exit = { code, signal };
    this.resolveDraining(0);
    this.resolveCut(0);
    this.rejectReady(new Error(this.describeExit(exit)));
    this.resolveExited(exit);
  }

  /** As a worker's heartbeat message does. */
  beat(connections = this.connections, delayMs = 0) {
    this.heartbeat = { at: Date.now(), delayMs, connections };
  }

  drain(reason, deadline) {
    this.drains.push({ reason, deadline });
    if (this.state === 'exited' || this.state === 'draining') return;
    this.state = 'draining';
    if (this.autoExitOnDrain) {
      setImmediate(() => {
        this.resolveDraining(this.connections);
        this.resolveCut(this.cutCount);
        this.exit(0);
      });
    }
  }

  /** @param {object} body what the master told it (a canary's close-share) */
  send(body) {
    this.sent.push(body);
    return true;
  }

  kill() {
    this.kills++;
    this.exit(null, 'SIGKILL');
  }

  describeExit({ code, signal }) {
    if (this.spawnFailure) return this.spawnFailure;
    const how = signal ?? `code ${code}`;
    if (this.wasReady) return `${this.name} exited (${how})`;
    const why = this.failed?.error ? `: ${this.failed.error}` : '';
    return `${this.name} exited before it was ready (${how})${why}`;
  }

  /** What it reports of its memory: none, unless the test says. */
  rssBytes() {
    return this.rss;
  }
}

/** Records what the master would tell systemd, one entry per call, in order. */
function notifier() {
  const said = [];
  return {
    said,
    // Through JSON, as a field left undefined is no field at all.
    serving: (generation, o = {}) => said.push(JSON.parse(JSON.stringify({ serving: generation, ...o }))),
    reloading: (next, serving) => said.push({ reloading: next, serving }),
    stopping: () => said.push({ stopping: true }),
    flushed: () => Promise.resolve(),
  };
}

/**
 * A master with `workers` fake workers. `onSpawn(worker)` runs for each new
 * worker (e.g. to make it ready); `workerOptions(generation)` configures it.
 * @param {import('node:test').TestContext} t
 * @param {Partial<Pick<MasterOptions, 'workers' | 'readyTimeoutMs' | 'drainTimeoutMs' | 'listen' | 'crashWindowMs'
 *   | 'maxDraining' | 'unresponsiveMs' | 'replaceUnresponsive' | 'shutdownDelayMs' | 'events' | 'releases'
 *   | 'maxMemoryBytes' | 'maxAgeMs' | 'maxAgeJitterMs' | 'maxRequests' | 'requests'>>
 *   & { onSpawn?: (w: FakeWorker) => void, workerOptions?: (generation: number) => WorkerOptions, sockets?: SocketTable }
 * } [options]
 */
function setup(
  t,
  {
    workers = 2,
    readyTimeoutMs = 10_000,
    drainTimeoutMs = 5_000,
    listen = [],
    onSpawn = () => {},
    workerOptions = () => ({}),
    sockets = new SocketTable(),
    crashWindowMs = 0,
    maxDraining = 3,
    unresponsiveMs = 0,
    replaceUnresponsive = false,
    shutdownDelayMs = 0,
    maxMemoryBytes = 0,
    maxAgeMs = 0,
    maxAgeJitterMs = 0,
    maxRequests = 0,
    requests,
    events,
    releases,
  } = {},
) {
  const spawned = [];
  /** The generation of each launcher the master asked for: one per generation, respawns included. */
  const launches = [];
  /** The release directory each launcher was given (with `releases`). */
  const roots = [];
  const exits = [];
  const notify = notifier();
  let exitCalled;
  const exited = new Promise((resolve) => (exitCalled = resolve));
  /** @type {import('../../dist/supervisor/worker.js').Spawner} */
  const spawner = (generation, root) => {
    launches.push(generation);
    roots.push(root);
    return () => spawn(generation);
  };
  const spawn = (generation) => {
    const w = new FakeWorker(generation, workerOptions(generation));
    spawned.push(w);
    onSpawn(w);
    return w;
  };
  const master = new Master(
    {
      name: 'test',
      workers,
      readyTimeoutMs,
      drainTimeoutMs,
      crashWindowMs,
      maxDraining,
      unresponsiveMs,
      replaceUnresponsive,
      shutdownDelayMs,
      maxMemoryBytes,
      maxAgeMs,
      maxAgeJitterMs,
      maxRequests,
      maxRequestsJitter: 0,
      maxErrorIncrease: 0,
      minJudgedRequests: 20,
      unjudged: 'proceed',
      maxLatencyRatio: 2,
      batch: undefined,
      requests,
      listen,
      inherited: [],
      events,
      releases,
    },
    sockets,
    spawner,
    (code) => {
      exits.push(code);
      exitCalled(code);
    },
    notify,
  );
  t.after(() => {
    // Leave no respawn timer or socket behind, whatever the test did.
    master.stop();
    for (const w of spawned) w.exit(0);
    sockets.closeAll();
  });
  const ofGeneration = (g) => spawned.filter((w) => w.generation === g);
  return { master, spawned, launches, roots, exits, exited, sockets, ofGeneration, said: notify.said };
}

/** Starts the master and makes the first generation ready. */
async function startReady(m) {
  await m.master.start();
  for (const w of m.spawned) w.makeReady();
  await flush();
}

/** A phase listener that records phases in order. */
function recorder() {
  const phases = [];
  const listener = (p) => phases.push(p);
  return { phases, listener, names: () => phases.map((p) => p.phase) };
}

describe('Master: start', () => {
  test('start spawns N workers of generation 1', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 3 });
    m.master.start();
    assert.equal(m.spawned.length, 3);
    assert.deepEqual(
      m.spawned.map((w) => w.generation),
      [1, 1, 1],
    );
    const status = m.master.status();
    assert.equal(status.generation, 1);
    assert.equal(status.name, 'test');
    assert.deepEqual(
      status.workers.map((w) => w.pid),
      m.spawned.map((w) => w.pid),
    );
    assert.deepEqual(
      status.workers.map((w) => w.state),
      ['starting', 'starting', 'starting'],
    );
    for (const w of m.spawned) w.makeReady();
    await flush();
    assert.deepEqual(
      m.master.status().workers.map((w) => w.state),
      ['ready', 'ready', 'ready'],
    );
    assert.equal(m.spawned.length, 3, 'nothing else spawned');
  });

  test("status tells the master's own memory, collected first only when gc is exposed (node --expose-gc)", {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 1 });
    await m.master.start();
    const exposed = globalThis.gc;
    t.after(() => (globalThis.gc = exposed));
    globalThis.gc = undefined;
    const plain = m.master.status().master;
    assert.equal(plain.afterGc, false);
    for (const k of ['rssBytes', 'heapTotalBytes', 'heapUsedBytes', 'externalBytes'])
      assert.ok(plain[k] > 0, `${k}: ${plain[k]}`);
    let collections = 0;
    // A stand-in that counts, typed as the master reads it (a gc() without options).
    /** @type {{ gc?: () => void }} */ (globalThis).gc = () => collections++;
    assert.equal(m.master.status().master.afterGc, true);
    assert.equal(collections, 1);
  });

  test('start binds the --listen addresses into the socket table', { timeout: TEST_MS }, async (t) => {
    const port = await freePort();
    const m = setup(t, { workers: 1, listen: [{ label: 'web', address: { kind: 'tcp', host: '127.0.0.1', port } }] });
    await m.master.start();
    assert.deepEqual(m.master.status().listeners, ['web']);
    assert.equal(/** @type {Extract<Address, { kind: 'tcp' }>} */ (m.sockets.all()[0].address).port, port);
  });

  test('the first generation exiting before it was ever ready stops the master with exit(1)', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    m.master.start();
    const [bad, other] = m.spawned;
    bad.fail('Cannot find module ./app');
    assert.equal(await m.exited, 1);
    assert.deepEqual(m.exits, [1]);
    assert.deepEqual(
      other.drains.map((d) => d.reason),
      ['stop'],
      'the other worker is drained',
    );
    assert.equal(m.spawned.length, 2, 'nothing is respawned');
  });
});

describe('Master: many workers', () => {
  test('-w 64: spawned a few at a time, status answered between; a stop meanwhile spawns no more and drains those there', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 64 });
    const started = m.master.start();
    const first = m.spawned.length;
    assert.ok(first > 0 && first < 64, `${first} spawned before the event loop turns`);
    assert.equal(m.master.status().workers.length, first);
    m.master.stop();
    await started;
    assert.equal(m.spawned.length, first, 'nothing spawned after the stop');
    for (const w of m.spawned)
      assert.deepEqual(
        w.drains.map((d) => d.reason),
        ['stop'],
      );
  });

  test('-w 64: a reload asked while the first generation is spawned waits for it', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 64 });
    const started = m.master.start();
    const result = m.master.reload();
    await started;
    assert.deepEqual(m.ofGeneration(1).length, 64);
    for (const w of m.ofGeneration(1)) w.makeReady();
    await flush();
    assert.equal(m.ofGeneration(2).length, 64, 'the reload spawned its generation once the first was whole');
    for (const w of m.ofGeneration(2)) w.makeReady();
    assert.equal((await result).ok, true);
  });
});

describe('Master: reload', () => {
  test('reload spawns N of the next generation, waits for all to be ready, then drains the old ones with one deadline', {
    timeout: TEST_MS,
  }, async (t) => {
    const drainTimeoutMs = 4_000;
    const m = setup(t, { workers: 2, drainTimeoutMs, workerOptions: (g) => ({ connections: g === 1 ? 3 : 0 }) });
    await startReady(m);
    const old = m.ofGeneration(1);
    const rec = recorder();

    const result = m.master.reload(rec.listener);
    const next = m.ofGeneration(2);
    assert.equal(next.length, 2, 'N workers of generation 2');
    assert.equal(m.spawned.length, 4);
    await flush();
    assert.deepEqual(rec.names(), ['spawned']);
    assert.deepEqual(rec.phases[0], {
      phase: 'spawned',
      generation: 2,
      pids: next.map((w) => w.pid),
      node: process.version,
    });

    next[0].makeReady();
    await flush();
    assert.deepEqual(rec.names(), ['spawned'], 'one new worker ready is not enough');
    assert.deepEqual(
      old.map((w) => w.drains.length),
      [0, 0],
      'the old generation still serves',
    );
    assert.equal(m.master.status().generation, 1);

    const before = Date.now();
    next[1].makeReady();
    const r = await result;
    const after = Date.now();

    assert.equal(r.ok, true);
    assert.equal(r.generation, 2);
    assert.equal(r.reason, undefined);
    assert.deepEqual(rec.names(), ['spawned', 'ready', 'draining', 'done']);
    assert.equal(rec.phases[1].generation, 2);
    assert.deepEqual(
      rec.phases[2],
      { phase: 'draining', generation: 1, connections: 6 },
      "the old workers' reported connections, summed",
    );
    assert.equal(rec.phases[3].generation, 2);

    for (const w of old)
      assert.deepEqual(
        w.drains.map((d) => d.reason),
        ['upgrade'],
      );
    const deadline = old[0].drains[0].deadline;
    assert.equal(old[1].drains[0].deadline, deadline, 'one shared deadline');
    assert.ok(
      deadline >= before + drainTimeoutMs && deadline <= after + drainTimeoutMs,
      'the deadline is drainTimeoutMs from the drain',
    );
    for (const w of next) assert.deepEqual(w.drains, [], 'the new generation is not drained');

    const status = m.master.status();
    assert.equal(status.generation, 2);
    assert.deepEqual(
      status.workers.map((w) => w.pid),
      next.map((w) => w.pid),
    );
    assert.deepEqual(
      status.reloads.map((h) => ({ generation: h.generation, ok: h.ok })),
      [{ generation: 2, ok: true }],
    );
    await flush();
    assert.equal(m.spawned.length, 4, "the old workers' exits are not crashes: nothing respawned");
  });

  test('sockets are closed only once the serving generation has settled where it listens, and none of it listens there', {
    timeout: TEST_MS,
  }, async (t) => {
    const [p1, p2] = [await freePort(), await freePort()];
    const a = `tcp:127.0.0.1:${p1}`;
    const m = setup(t, {
      workers: 1,
      listen: [
        { address: { kind: 'tcp', host: '127.0.0.1', port: p1 } },
        { label: 'admin', address: { kind: 'tcp', host: '127.0.0.1', port: p2 } },
      ],
      onSpawn: (w) => w.generation === 2 && setImmediate(() => w.makeReady([a], { settled: false })),
    });
    await m.master.start();
    m.spawned[0].makeReady([a], { settled: false });
    await flush();
    m.spawned[0].settle([a, 'admin']);
    await flush();
    assert.deepEqual(m.master.status().listeners, [a, 'admin'], 'generation 1 listened on admin late: both stay');
    const r = await m.master.reload();
    assert.equal(r.ok, true);
    assert.deepEqual(m.master.status().listeners, [a, 'admin'], 'in service, but not settled: nothing is closed');
    const [next] = m.ofGeneration(2);
    next.settle([a]);
    await flush();
    assert.deepEqual(m.master.status().listeners, [a], 'settled without admin: closed');
  });

  test('a rolled-back generation that listened on a port of its own: the port is closed, the rest stay', {
    timeout: TEST_MS,
  }, async (t) => {
    const port = await freePort();
    const a = `tcp:127.0.0.1:${port}`;
    /** @type {Address} */
    const extra = { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
    const m = setup(t, { workers: 1, listen: [{ address: { kind: 'tcp', host: '127.0.0.1', port } }] });
    await m.master.start();
    m.spawned[0].makeReady([a]);
    await flush();
    const result = m.master.reload();
    const [next] = m.ofGeneration(2);
    await m.sockets.acquire(extra);
    assert.equal(m.master.status().listeners.length, 2, 'generation 2 asked for a port of its own');
    next.exit(1);
    assert.equal((await result).ok, false);
    assert.deepEqual(m.master.status().listeners, [a]);
  });

  test('coalescing: three reload() calls while one runs give exactly two generations', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await startReady(m);
    const [r1, r2, r3] = [recorder(), recorder(), recorder()];
    const first = m.master.reload(r1.listener);
    const second = m.master.reload(r2.listener);
    const third = m.master.reload(r3.listener);
    assert.deepEqual(r2.names(), ['queued']);
    assert.deepEqual(r3.names(), ['queued']);
    assert.deepEqual(r1.names(), ['spawned']);
    assert.equal(m.ofGeneration(2).length, 2);
    assert.equal(m.ofGeneration(3).length, 0, 'the queued reload waits');

    for (const w of m.ofGeneration(2)) w.makeReady();
    const a = await first;
    assert.equal(a.ok, true);
    assert.equal(a.generation, 2);

    // The queued reload starts at least 1 s after the first one started; wait for its workers.
    await until(() => m.ofGeneration(3).length === 2, 'generation 3 to be spawned');
    for (const w of m.ofGeneration(3)) w.makeReady();
    const [b, c] = await Promise.all([second, third]);
    assert.deepEqual(b, c, "both extra callers get the second run's result");
    assert.equal(b.ok, true);
    assert.equal(b.generation, 3);

    await flush();
    assert.deepEqual(
      [...new Set(m.spawned.map((w) => w.generation))],
      [1, 2, 3],
      'exactly two generations spawned by the reloads',
    );
    assert.equal(m.spawned.length, 6);
    assert.deepEqual(r1.names(), ['spawned', 'ready', 'draining', 'done'], 'the first caller sees only its run');
    assert.deepEqual(r2.names(), ['queued', 'spawned', 'ready', 'draining', 'done']);
    assert.deepEqual(r3.names(), ['queued', 'spawned', 'ready', 'draining', 'done']);
    assert.equal(r2.phases[1].generation, 3);
    assert.equal(m.master.status().generation, 3);
    for (const w of m.ofGeneration(2))
      assert.deepEqual(
        w.drains.map((d) => d.reason),
        ['upgrade'],
      );
  });

  test('rollback: a new worker that exits before it is ready; the old generation keeps serving', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await startReady(m);
    const old = m.ofGeneration(1);
    const rec = recorder();
    const result = m.master.reload(rec.listener);
    const next = m.ofGeneration(2);
    next[0].makeReady();
    next[1].fail('EADDRINUSE 127.0.0.1:8080', 'Error: listen EADDRINUSE\n');
    const r = await result;

    assert.equal(r.ok, false);
    assert.equal(r.generation, 2);
    assert.equal(r.reason, `${next[1].name} exited before it was ready (code 1): EADDRINUSE 127.0.0.1:8080`);
    assert.equal(r.stderrTail, 'Error: listen EADDRINUSE\n');
    assert.deepEqual(rec.names(), ['spawned', 'rollback']);
    assert.deepEqual(rec.phases[1], { phase: 'rollback', generation: 2, reason: r.reason, stderrTail: r.stderrTail });

    assert.deepEqual(
      next[0].drains.map((d) => d.reason),
      ['stop'],
      'the new generation is drained with stop',
    );
    for (const w of old) {
      assert.deepEqual(w.drains, [], 'the old workers are not drained');
      assert.equal(w.state, 'ready');
    }
    const status = m.master.status();
    assert.equal(status.generation, 1);
    assert.deepEqual(
      status.workers.map((w) => w.pid),
      old.map((w) => w.pid),
    );
    assert.deepEqual(
      status.reloads.map((h) => ({ generation: h.generation, ok: h.ok, reason: h.reason })),
      [{ generation: 2, ok: false, reason: r.reason }],
    );
    await flush();
    assert.equal(m.spawned.length, 4, 'the failed generation is not respawned');

    // A crash after the rollback respawns through generation 1's own launcher, on the code it started with.
    old[0].exit(1);
    await until(() => m.spawned.length === 5, 'the crashed worker to be respawned');
    assert.equal(m.spawned[4].generation, 1);
    assert.deepEqual(m.launches, [1, 2], 'the respawn launched no new generation');
    m.spawned[4].makeReady();

    // The next reload takes the next generation number and can succeed.
    const again = m.master.reload();
    await until(() => m.ofGeneration(3).length === 2, 'generation 3 to be spawned');
    for (const w of m.ofGeneration(3)) w.makeReady();
    const r2 = await again;
    assert.equal(r2.ok, true);
    assert.equal(r2.generation, 3);
  });

  test('rollback: a new generation not ready within readyTimeoutMs: the one still starting has its deadline now, the ready one drains', {
    timeout: TEST_MS,
  }, async (t) => {
    const drainTimeoutMs = 3_000;
    const m = setup(t, { workers: 2, readyTimeoutMs: 50, drainTimeoutMs });
    await startReady(m);
    const old = m.ofGeneration(1);
    const rec = recorder();
    const before = Date.now();
    const result = m.master.reload(rec.listener);
    const next = m.ofGeneration(2);
    next[1].makeReady();
    const r = await result;
    const after = Date.now();
    assert.equal(r.ok, false);
    assert.match(r.reason, /was not ready within 50 ms/);
    assert.equal(r.reason, `${next[0].name} was not ready within 50 ms`, 'names the worker still starting');
    assert.deepEqual(rec.names(), ['spawned', 'rollback']);
    assert.deepEqual(
      next[0].drains.map((d) => d.reason),
      ['stop'],
    );
    assert.ok(
      next[0].drains[0].deadline <= Date.now(),
      'never ready: its deadline is now (killed 2 s on), not a drain timeout away',
    );
    assert.deepEqual(
      next[1].drains.map((d) => d.reason),
      ['stop'],
    );
    const { deadline } = next[1].drains[0];
    assert.ok(
      deadline >= before + 50 + drainTimeoutMs && deadline <= after + drainTimeoutMs,
      'drainTimeoutMs from the timeout',
    );
    for (const w of old) assert.deepEqual(w.drains, []);
    assert.equal(m.master.status().generation, 1);
  });

  test('a new worker that is ready and then exits before the others are ready rolls back too', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await startReady(m);
    const result = m.master.reload();
    const next = m.ofGeneration(2);
    next[0].makeReady();
    await flush();
    next[0].exit(1);
    const r = await result;
    assert.equal(r.ok, false);
    assert.equal(r.reason, `${next[0].name} exited (code 1)`);
    assert.ok(next[1].drains[0].deadline <= Date.now(), 'the one never ready has its deadline now');
    assert.equal(m.master.status().generation, 1);
  });
});

describe('Master: connections cut at the drain timeout', () => {
  test("a reload adds up the old workers' cut connections into its result and its history", {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2, workerOptions: (g) => ({ cut: g === 1 ? 2 : 0 }) });
    await startReady(m);
    const result = m.master.reload();
    for (const w of m.ofGeneration(2)) w.makeReady();
    const r = await result;
    assert.equal(r.ok, true);
    assert.equal(r.cut, 4, 'two from each old worker');
    assert.equal(m.master.status().reloads.at(-1).cut, 4);
  });

  test("a reload says when the last old worker had drained, apart from the old generation's exit", {
    timeout: TEST_MS,
  }, async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    const rec = recorder();
    const result = m.master.reload(rec.listener);
    for (const w of m.ofGeneration(2)) w.makeReady();
    const old = m.ofGeneration(1);
    await until(() => old.every((w) => w.drains.length === 1), 'generation 1 to be drained');
    for (const w of old) w.resolveDraining(3);
    t.mock.timers.tick(30);
    old[0].resolveCut(0);
    await flush();
    t.mock.timers.tick(20);
    old[1].resolveCut(0);
    await flush();
    t.mock.timers.tick(70);
    for (const w of old) w.exit(0);
    const r = await result;
    assert.equal(r.ok, true);
    assert.equal(r.drainedMs, 50, 'drained when the second old worker said so');
    assert.equal(r.ms, 120, 'gone when both had exited');
    assert.deepEqual(rec.phases.at(-1), { phase: 'done', generation: 2, ms: 120, drainedMs: 50 });
  });

  test('old workers that exit without saying count as 0 cut', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 1, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    const result = m.master.reload();
    m.ofGeneration(2)[0].makeReady();
    await until(() => m.ofGeneration(1)[0].drains.length === 1, 'generation 1 to be drained');
    m.ofGeneration(1)[0].kill();
    assert.equal((await result).cut, 0);
  });

  test('a rolled-back reload drained no old worker: no cut', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 1 });
    await startReady(m);
    const result = m.master.reload();
    m.ofGeneration(2)[0].fail('boom');
    const r = await result;
    assert.equal(r.ok, false);
    assert.equal(r.cut, undefined);
    assert.equal(m.master.status().reloads.at(-1).cut, undefined);
  });

  test('stop() logs the connections its workers cut in the stopped line', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 3, workerOptions: () => ({ cut: 1 }) });
    await startReady(m);
    const lines = captureLog(t);
    m.master.stop();
    assert.equal(await m.exited, 0);
    const stopped = lines.filter((l) => / info: stopped/.test(l));
    assert.equal(stopped.length, 1, lines.join(''));
    assert.match(stopped[0], / info: stopped cut=3$/m);
  });
});

describe('Master: crash back-off', () => {
  test('a live worker that exits is respawned in its slot after 100, 200, then 400 ms', {
    timeout: TEST_MS,
  }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2 });
    await startReady(m);
    const slot0 = m.spawned[0];

    const crashAndExpect = async (delayMs) => {
      const crashed = m.spawned.at(-1);
      const before = m.spawned.length;
      crashed.exit(1);
      await flush();
      assert.deepEqual(
        m.master.status().workers.map((w) => w.pid),
        [slot0.pid],
        'slot 1 is empty meanwhile',
      );
      t.mock.timers.tick(delayMs - 1);
      await flush();
      assert.equal(m.spawned.length, before, `not respawned ${delayMs - 1} ms after the crash`);
      t.mock.timers.tick(1);
      await flush();
      assert.equal(m.spawned.length, before + 1, `respawned ${delayMs} ms after the crash`);
      const fresh = m.spawned.at(-1);
      assert.equal(fresh.generation, 1);
      assert.deepEqual(
        m.master.status().workers.map((w) => w.pid),
        [slot0.pid, fresh.pid],
        'in the same slot',
      );
      return fresh;
    };

    // The first crash: the worker in slot 1 has been up for a while.
    t.mock.timers.tick(5_000);
    await crashAndExpect(100);
    await crashAndExpect(200);
    const third = await crashAndExpect(400);
    assert.deepEqual(slot0.drains, [], 'the other slot is untouched');

    // A worker that stayed up a minute resets the count.
    third.makeReady();
    t.mock.timers.tick(60_000);
    await flush();
    await crashAndExpect(100);

    // Each slot has its own count.
    slot0.exit(1);
    await flush();
    t.mock.timers.tick(99);
    await flush();
    const count = m.spawned.length;
    t.mock.timers.tick(1);
    await flush();
    assert.equal(m.spawned.length, count + 1);
    assert.equal(m.master.status().workers[0].pid, m.spawned.at(-1).pid);
    assert.deepEqual(
      m.master.status().workers.map((w) => w.restarts),
      [1, 4],
      "each worker's restarts are its slot's",
    );
  });

  test('the crash line says why the worker exited, a spawn error included', { timeout: TEST_MS }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
    const emfile = 'cannot start the worker: spawn EMFILE (too many open files; raise the limit with ulimit -n)';
    let spawns = 0;
    const m = setup(t, { workers: 1, workerOptions: () => (spawns++ === 0 ? {} : { spawnFailure: emfile }) });
    await startReady(m);
    const lines = captureLog(t);
    const first = m.spawned[0];
    first.exit(1);
    await flush();
    t.mock.timers.tick(100);
    await flush();
    assert.equal(m.spawned.length, 2);
    m.spawned[1].exit(-24);
    await flush();
    const crashes = lines.filter((l) => l.includes('restarting it in'));
    assert.equal(crashes.length, 2, lines.join(''));
    assert.match(crashes[0], new RegExp(`: worker pid ${first.pid} exited \\(code 1\\); restarting it in 100 ms`));
    assert.ok(crashes[1].includes(`: ${emfile}; restarting it in 200 ms`), crashes[1]);
  });

  test('no respawn after stop', { timeout: TEST_MS }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    m.spawned[1].exit(1);
    await flush();
    m.master.stop();
    t.mock.timers.tick(10_000);
    await flush();
    assert.equal(m.spawned.length, 2, 'the pending respawn was cancelled');
    m.spawned[0].exit(0);
    assert.equal(await m.exited, 0);
  });
});

describe('Master: stop', () => {
  test('stop() drains every worker with stop and calls exit(0) once all have exited', {
    timeout: TEST_MS,
  }, async (t) => {
    const sockets = new SocketTable();
    let closedAll = 0;
    const closeAll = sockets.closeAll.bind(sockets);
    sockets.closeAll = () => {
      closedAll++;
      closeAll();
    };
    const drainTimeoutMs = 3_000;
    const m = setup(t, { workers: 3, drainTimeoutMs, sockets, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    const before = Date.now();
    m.master.stop();
    const after = Date.now();
    for (const w of m.spawned)
      assert.deepEqual(
        w.drains.map((d) => d.reason),
        ['stop'],
      );
    assert.equal(closedAll, 1, "the master's copies of the sockets are closed as the drain begins");
    const deadline = m.spawned[0].drains[0].deadline;
    assert.ok(
      m.spawned.every((w) => w.drains[0].deadline === deadline),
      'one shared deadline',
    );
    assert.ok(deadline >= before + drainTimeoutMs && deadline <= after + drainTimeoutMs);

    m.spawned[0].exit(0);
    m.spawned[1].exit(0);
    await flush();
    assert.deepEqual(m.exits, [], 'not before every worker has exited');
    m.spawned[2].exit(0);
    assert.equal(await m.exited, 0);
    assert.deepEqual(m.exits, [0]);
    assert.equal(closedAll, 1, 'closed once');
    assert.equal(m.spawned.length, 3, 'no worker respawned during the stop');

    m.master.stop();
    await flush();
    assert.deepEqual(m.exits, [0], 'a second stop() does nothing');
  });

  test('stop() also drains the old generation still draining and a new one still starting', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 1, workerOptions: (g) => ({ autoExitOnDrain: g !== 1 }) });
    await startReady(m);
    const first = m.master.reload();
    m.ofGeneration(2)[0].makeReady();
    await until(() => m.ofGeneration(1)[0].drains.length === 1, 'generation 1 to be drained');
    // Generation 1 is draining (it does not exit by itself); a reload is queued, then stop.
    const queued = m.master.reload();
    m.master.stop();
    assert.deepEqual(
      m.ofGeneration(1)[0].drains.map((d) => d.reason),
      ['upgrade', 'stop'],
    );
    assert.deepEqual(
      m.ofGeneration(2)[0].drains.map((d) => d.reason),
      ['stop'],
    );
    m.ofGeneration(1)[0].exit(0);
    assert.equal(await m.exited, 0);
    assert.equal((await first).ok, true);
    const q = await queued;
    assert.equal(q.ok, false);
    assert.equal(q.reason, 'the master is stopping');
    assert.equal(m.ofGeneration(3).length, 0, 'the queued reload spawned nothing');
  });

  test('a stop during a reload cancels it: the new generation is drained, the reload reports the cancel', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await startReady(m);
    const rec = recorder();
    const result = m.master.reload(rec.listener);
    m.master.stop();
    const r = await result;
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'cancelled by a stop');
    for (const w of m.spawned) assert.equal(w.drains[0].reason, 'stop');
    assert.equal(await m.exited, 0);
  });

  test('reload during stop answers ok:false "the master is stopping" and spawns nothing', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    m.master.stop();
    const rec = recorder();
    const r = await m.master.reload(rec.listener);
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'the master is stopping');
    assert.equal(r.generation, 1);
    assert.deepEqual(rec.phases, []);
    assert.equal(m.spawned.length, 2);
    for (const w of m.spawned) w.exit(0);
    assert.equal(await m.exited, 0);
  });

  test('--shutdown-delay: a stop reports not ready and serves on for the delay (crashed workers restarted, reloads refused), then drains', {
    timeout: TEST_MS,
  }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2, shutdownDelayMs: 5_000, onSpawn: (w) => setImmediate(() => w.makeReady()) });
    await startReady(m);
    m.master.stop();
    assert.equal(m.master.isStopping(), true, '/readyz answers 503 from now');
    assert.equal(m.master.isServing(), true, 'the workers still serve');
    assert.deepEqual(m.said, [{ serving: 1 }, { stopping: true }]);
    assert.deepEqual(m.master.status().stopping, { phase: 'delay', msLeft: 5_000 });
    assert.deepEqual(
      m.spawned.flatMap((w) => w.drains),
      [],
      'nobody drains during the delay',
    );
    const r = await m.master.reload();
    assert.equal(r.reason, 'the master is stopping');
    t.mock.timers.tick(1_000);
    m.spawned[0].exit(1);
    await flush();
    t.mock.timers.tick(100);
    await flush();
    assert.equal(m.spawned.length, 3, 'a worker that crashes during the delay is restarted');
    t.mock.timers.tick(3_899);
    assert.deepEqual(
      m.spawned.flatMap((w) => w.drains),
      [],
      'not before the delay is over',
    );
    t.mock.timers.tick(1);
    assert.deepEqual(
      m.spawned.slice(1).map((w) => w.drains.map((d) => d.reason)),
      [['stop'], ['stop']],
    );
    assert.deepEqual(m.master.status().stopping, { phase: 'draining', msLeft: 5_000 });
    assert.equal(await m.exited, 0);
    assert.deepEqual(m.said, [{ serving: 1 }, { stopping: true }], 'STOPPING=1 once');
  });

  test('--shutdown-delay: a second stop during the delay drains at once; a master whose app failed to start does not wait', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2, shutdownDelayMs: 600_000 });
    await startReady(m);
    m.master.stop();
    assert.deepEqual(
      m.spawned.flatMap((w) => w.drains),
      [],
    );
    m.master.stop();
    for (const w of m.spawned)
      assert.deepEqual(
        w.drains.map((d) => d.reason),
        ['stop'],
      );
    assert.equal(await m.exited, 0);

    const failing = setup(t, { workers: 1, shutdownDelayMs: 600_000 });
    await failing.master.start();
    failing.spawned[0].exit(1);
    assert.equal(await failing.exited, 1, 'stop(1) drains at once');
  });

  test('kill() kills every worker and exits 130 at once', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 2, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    m.master.kill();
    assert.deepEqual(
      m.spawned.map((w) => w.kills),
      [1, 1],
    );
    assert.deepEqual(m.exits, [130]);
  });
});

describe('Master: draining generations', () => {
  test('a reload while the previous generation still drains starts without waiting for that drain', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, {
      workers: 1,
      workerOptions: (g) => ({ autoExitOnDrain: g > 1 }),
      onSpawn: (w) => w.generation > 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    const [slow] = m.ofGeneration(1);
    const first = m.master.reload();
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await until(() => slow.drains.length === 1, 'generation 1 to drain');
    const second = await m.master.reload();
    assert.equal(second.ok, true);
    assert.equal(second.generation, 3, 'the hotfix serves while generation 1 still drains');
    assert.equal(slow.state, 'draining');
    assert.equal(firstDone, false, 'the first reload reports once its old generation is gone');
    assert.deepEqual(
      m.master.status().workers.map((w) => [w.generation, w.state]),
      [
        [3, 'ready'],
        [1, 'draining'],
      ],
    );
    slow.exit(0);
    assert.equal((await first).ok, true);
    assert.equal(m.master.status().workers.length, 1);
  });

  test('past --max-draining, the oldest draining generation is ended: drained again with a deadline of now', {
    timeout: TEST_MS,
  }, async (t) => {
    const drainTimeoutMs = 60_000;
    const m = setup(t, {
      workers: 2,
      drainTimeoutMs,
      maxDraining: 1,
      workerOptions: (g) => ({ autoExitOnDrain: g > 2 }),
      onSpawn: (w) => w.generation > 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    const lines = captureLog(t);
    const first = m.master.reload();
    await until(() => m.ofGeneration(1).every((w) => w.drains.length === 1), 'generation 1 to drain');
    assert.equal(m.ofGeneration(1)[0].drains[0].deadline >= Date.now() + drainTimeoutMs - 5_000, true);
    const before = Date.now();
    const second = m.master.reload();
    await until(() => m.ofGeneration(2).every((w) => w.drains.length === 1), 'generation 2 to drain');
    for (const w of m.ofGeneration(1)) {
      assert.equal(w.drains.length, 2, 'generation 1 is told again');
      assert.ok(w.drains[1].deadline >= before && w.drains[1].deadline <= Date.now(), 'with a deadline of now');
    }
    for (const w of m.ofGeneration(2)) assert.equal(w.drains.length, 1, 'generation 2 drains with its full time');
    assert.ok(
      lines.some((l) => /warn: more than 1 generations draining: ending generation 1's drain now/.test(l)),
      'said in the log',
    );
    for (const w of m.ofGeneration(1)) w.exit(0);
    for (const w of m.ofGeneration(2)) w.exit(0);
    assert.deepEqual([(await first).ok, (await second).ok], [true, true]);
  });
});

describe('Master: crash window', () => {
  test('both generations serve through the crash window; a new worker that exits in it is rolled back and the old one, never drained, serves on', {
    timeout: TEST_MS,
  }, async (t) => {
    let started = false;
    const m = setup(t, {
      workers: 2,
      crashWindowMs: 5_000,
      onSpawn: (w) => started && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    started = true;
    const old = m.ofGeneration(1);
    const rec = recorder();
    const result = m.master.reload(rec.listener);
    await until(() => rec.names().includes('ready'), 'generation 2 to be ready');
    assert.deepEqual(
      old.map((w) => [w.state, w.drains.length]),
      [
        ['ready', 0],
        ['ready', 0],
      ],
      'the old generation serves beside the new one',
    );
    assert.equal(m.master.status().workers.length, 4);
    const [bad, other] = m.ofGeneration(2);
    bad.failed = {
      type: 'failed',
      pid: bad.pid,
      error: 'Error: v2 dies after it started',
      stderrTail: 'Error: v2 dies after it started\n    at app.js:3\n',
    };
    bad.exit(1);
    const r = await result;
    assert.equal(r.ok, false);
    assert.equal(r.generation, 2);
    assert.match(
      r.reason,
      new RegExp(
        `worker pid ${bad.pid} exited \\(code 1\\) \\d+ ms after it was ready \\(crash window 5000 ms\\): Error: v2 dies after it started$`,
      ),
    );
    assert.match(r.stderrTail, /at app\.js:3/, 'the stack it printed after it was ready');
    assert.deepEqual(rec.names(), ['spawned', 'ready', 'rollback']);
    assert.deepEqual(
      other.drains.map((d) => d.reason),
      ['stop'],
      'the rest of generation 2 drains what it took',
    );
    for (const w of old) assert.deepEqual([w.state, w.drains], ['ready', []], 'never told to drain');
    await flush();
    const status = m.master.status();
    assert.equal(status.generation, 1);
    assert.deepEqual(
      status.workers.map((w) => w.pid),
      old.map((w) => w.pid),
      'the same old workers, whatever the files on disk hold',
    );
    assert.deepEqual(
      status.reloads.map((h) => [h.generation, h.ok]),
      [[2, false]],
    );
    assert.equal(m.spawned.length, 4, 'nothing respawned: neither the crash nor generation 1');
  });

  test('a generation that outlives its crash window is a success; a crash after it is respawned as usual', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, {
      workers: 1,
      crashWindowMs: 200,
      onSpawn: (w) => w.generation > 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    const r = await m.master.reload();
    assert.equal(r.ok, true);
    const [next] = m.ofGeneration(2);
    next.exit(1);
    await until(() => m.ofGeneration(2).length === 2, 'the respawn');
    assert.equal(m.master.status().generation, 2);
  });
});

describe('Master: what systemd is told', () => {
  test('READY=1 once every worker of the first generation is ready, after a respawn too; nothing more until a reload', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await m.master.start();
    const [a, b] = m.spawned;
    a.makeReady();
    await flush();
    assert.deepEqual(m.said, [], 'one worker of two is not the generation');
    b.makeReady();
    await flush();
    b.exit(1);
    await until(() => m.spawned.length === 3, 'the respawn');
    m.spawned[2].makeReady();
    await flush();
    assert.deepEqual(m.said, [{ serving: 1 }]);
  });

  test('a reload: RELOADING=1, then READY=1 for the new generation once it is through its crash window', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, {
      workers: 2,
      crashWindowMs: 200,
      onSpawn: (w) => w.generation > 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    const rec = recorder();
    const result = m.master.reload(rec.listener);
    await until(() => rec.names().includes('ready'), 'generation 2 to be ready');
    assert.deepEqual(m.said, [{ serving: 1 }, { reloading: 2, serving: 1 }], 'ready is not yet in service');
    assert.equal((await result).ok, true);
    assert.deepEqual(m.said, [{ serving: 1 }, { reloading: 2, serving: 1 }, { serving: 2 }]);
  });

  test('a rollback, and a crash in the crash window: READY=1 for the generation that serves, saying which one failed and why', {
    timeout: TEST_MS,
  }, async (t) => {
    let started = false;
    // Generation 1's code, started again after the crash, gets ready by itself.
    const m = setup(t, {
      workers: 1,
      crashWindowMs: 5_000,
      onSpawn: (w) => started && w.generation === 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    started = true;
    const failed = m.master.reload();
    const [bad] = m.ofGeneration(2);
    bad.fail('boom');
    const r1 = await failed;
    assert.deepEqual(m.said.slice(1), [
      { reloading: 2, serving: 1 },
      { serving: 1, failed: { generation: 2, reason: r1.reason } },
    ]);

    const crashed = m.master.reload();
    await until(() => m.ofGeneration(3).length === 1, 'generation 3 to be spawned (reloads start 1 s apart)');
    const [next] = m.ofGeneration(3);
    next.makeReady();
    await until(
      () => m.master.status().workers.some((w) => w.generation === 3 && w.state === 'ready'),
      'generation 3 to be ready',
    );
    next.exit(1);
    const r2 = await crashed;
    assert.equal(r2.ok, false);
    assert.deepEqual(m.said.slice(3), [
      { reloading: 3, serving: 1 },
      { serving: 1, failed: { generation: 3, reason: r2.reason } },
    ]);
  });

  test('stop: STOPPING=1', { timeout: TEST_MS }, async (t) => {
    const m = setup(t, { workers: 1 });
    await startReady(m);
    m.master.stop();
    assert.equal(await m.exited, 0);
    assert.deepEqual(m.said, [{ serving: 1 }, { stopping: true }]);
  });
});

describe('Master: heartbeats', () => {
  test('a ready worker silent past --unresponsive-after is reported, and beats again are noticed', {
    timeout: TEST_MS,
  }, async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2, unresponsiveMs: 5_000 });
    await startReady(m);
    const lines = captureLog(t);
    const [quiet, busy] = m.spawned;
    for (let s = 0; s < 6; s++) {
      busy.beat(4, 3);
      t.mock.timers.tick(1_000);
    }
    await flush();
    const status = m.master.status();
    assert.deepEqual(
      status.workers.map((w) => w.unresponsive),
      [true, false],
    );
    assert.deepEqual(
      status.workers.map((w) => w.connections),
      [null, 4],
    );
    assert.equal(status.workers[1].delayMs, 3);
    assert.equal(status.workers[1].heartbeatAgeMs, 1_000);
    assert.equal(
      lines.filter((l) => l.includes(`worker pid ${quiet.pid} has sent no heartbeat`)).length,
      1,
      'reported once',
    );
    assert.ok(lines.some((l) => /not replacing it/.test(l)));
    assert.equal(m.spawned.length, 2, 'not replaced without --replace-unresponsive');
    quiet.beat();
    t.mock.timers.tick(1_000);
    assert.deepEqual(
      m.master.status().workers.map((w) => w.unresponsive),
      [false, false],
    );
    assert.ok(lines.some((l) => l.includes(`worker pid ${quiet.pid} answers again`)));
  });

  test('--replace-unresponsive: a new worker first, then the silent one is killed', { timeout: TEST_MS }, async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_700_000_000_000 });
    const m = setup(t, { workers: 2, unresponsiveMs: 5_000, replaceUnresponsive: true });
    await startReady(m);
    const [quiet, busy] = m.spawned;
    for (let s = 0; s < 6; s++) {
      busy.beat();
      t.mock.timers.tick(1_000);
    }
    await flush();
    assert.equal(m.spawned.length, 3, 'a replacement is started');
    const fresh = m.spawned[2];
    assert.equal(fresh.generation, 1);
    assert.equal(quiet.kills, 0, 'the silent one stays until its replacement is ready');
    fresh.makeReady();
    await flush();
    assert.equal(quiet.kills, 1);
    assert.deepEqual(
      m.master.status().workers.map((w) => w.pid),
      [fresh.pid, busy.pid],
    );
    await flush();
    assert.equal(m.spawned.length, 3, 'the kill is not a crash: nothing respawned');
  });
});

describe('Master: replacing workers (--max-memory, --max-requests, --max-age)', () => {
  const MiB = 2 ** 20;
  /** Every worker beats (its RSS as set), `seconds` times, a second apart on the mock clock. */
  const beats = async (m, seconds) => {
    for (let s = 0; s < seconds; s++) {
      for (const w of m.spawned) if (w.state !== 'exited') w.beat();
      m.t.mock.timers.tick(1_000);
      await flush();
    }
  };
  const replacing = (t, options) => {
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 1_700_000_000_000 });
    const replaced = [];
    const m = setup(t, { workers: 2, events: { ...noEvents, replaced: (r) => replaced.push(r) }, ...options });
    return { ...m, t, replaced };
  };
  const noEvents = { reloaded: () => {}, respawned: () => {}, cut: () => {} };

  test('a worker over --max-memory for 3 heartbeats is replaced: a new one first, then the old one drains', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = replacing(t, { maxMemoryBytes: 512 * MiB });
    await startReady(m);
    const [leaky, fine] = m.spawned;
    leaky.rss = 530 * MiB;
    fine.rss = 100 * MiB;
    await beats(m, 2);
    assert.equal(m.spawned.length, 2, 'two readings over are not yet a leak');
    await beats(m, 1);
    assert.equal(m.spawned.length, 3, 'a replacement is started');
    const fresh = m.spawned[2];
    assert.deepEqual(leaky.drains, [], 'the old one serves until its replacement is ready');
    fresh.makeReady();
    await flush();
    assert.deepEqual(
      leaky.drains.map((d) => d.reason),
      ['stop'],
    );
    assert.equal(leaky.kills, 0);
    assert.deepEqual(
      m.master
        .status()
        .workers.filter((w) => w.state === 'ready')
        .map((w) => w.pid),
      [fresh.pid, fine.pid],
    );
    const [record] = m.master.status().replacements ?? [];
    assert.equal(record.pid, leaky.pid);
    assert.equal(record.by, fresh.pid);
    assert.match(record.detail, /^rss 530\.0 MiB > 512\.0 MiB/);
    assert.deepEqual(m.replaced, ['memory']);
    await beats(m, 3);
    assert.equal(m.spawned.length, 3, 'nothing more: the new one is under the limit, and the old one is no crash');
  });

  test('one replacement at a time: the next starts once the old worker of the first has exited', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = replacing(t, { maxMemoryBytes: 512 * MiB, workerOptions: () => ({ autoExitOnDrain: false }) });
    await startReady(m);
    for (const w of m.spawned) w.rss = 600 * MiB;
    await beats(m, 3);
    assert.equal(m.spawned.length, 3, 'one replacement, not two');
    const first = m.spawned[2];
    first.makeReady();
    await beats(m, 3);
    assert.equal(m.spawned.length, 3, 'none while the replaced worker drains');
    m.spawned[0].exit(0);
    await beats(m, 1);
    assert.equal(m.spawned.length, 4, 'the second one, once the first old worker is gone');
    assert.equal(m.spawned[3].generation, 1);
  });

  test('none while a reload runs: the reload replaces every worker anyway', { timeout: TEST_MS }, async (t) => {
    const m = replacing(t, { maxMemoryBytes: 512 * MiB });
    await startReady(m);
    const reload = m.master.reload();
    await flush();
    assert.equal(m.ofGeneration(2).length, 2, 'the reload has started its generation');
    m.spawned[0].rss = 600 * MiB;
    await beats(m, 4);
    assert.equal(m.spawned.length, 4, 'no replacement beside a reload');
    for (const w of m.ofGeneration(2)) w.makeReady();
    assert.equal((await reload).ok, true);
    await beats(m, 4);
    assert.equal(m.spawned.length, 4, "the old worker's due replacement went with it");
  });

  test('a replacement that fails to start leaves the old worker serving, and is tried again after a back-off', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = replacing(t, { maxMemoryBytes: 512 * MiB });
    await startReady(m);
    const [leaky, fine] = m.spawned;
    leaky.rss = 600 * MiB;
    const lines = captureLog(t);
    await beats(m, 3);
    m.spawned[2].fail('boom');
    await flush();
    assert.deepEqual(leaky.drains, [], 'the old worker was not told to drain');
    assert.deepEqual(
      m.master
        .status()
        .workers.filter((w) => w.state === 'ready')
        .map((w) => w.pid),
      [leaky.pid, fine.pid],
    );
    assert.ok(lines.some((l) => l.includes(`could not replace ${leaky.name}`) && l.includes('serves on')));
    assert.equal(m.spawned.length, 3, 'the failed replacement is not respawned as a crash');
    await beats(m, 1);
    assert.equal(m.spawned.length, 4, 'tried again after the back-off');
    m.spawned[3].makeReady();
    await flush();
    assert.deepEqual(
      leaky.drains.map((d) => d.reason),
      ['stop'],
    );
    assert.deepEqual(m.replaced, ['memory']);
  });

  test('--max-requests: a worker that has served that many requests is replaced, a new one first', {
    timeout: TEST_MS,
  }, async (t) => {
    /** Requests served, by pid, as the workers' heartbeats would have added them up. */
    const served = new Map();
    // A RequestHistory as far as the master reads it.
    const requests = /** @type {any} */ ({
      worker: (pid) => (served.has(pid) ? { '2xx': served.get(pid), '5xx': 1 } : undefined),
      keepWorkers: () => {},
      status: () => [],
    });
    const m = replacing(t, { maxRequests: 100, requests });
    await startReady(m);
    const [busy, quiet] = m.spawned;
    served.set(busy.pid, 98);
    served.set(quiet.pid, 10);
    await beats(m, 2);
    assert.equal(m.spawned.length, 2, '99 of 100');
    served.set(busy.pid, 99);
    await beats(m, 1);
    assert.equal(m.spawned.length, 3, '100 requests, unanswered ones included');
    m.spawned[2].makeReady();
    await flush();
    assert.deepEqual(
      busy.drains.map((d) => d.reason),
      ['stop'],
    );
    assert.equal(quiet.drains.length, 0);
    assert.deepEqual(m.replaced, ['requests']);
    assert.equal(m.master.status().replacements?.[0].detail, '100 requests ≥ --max-requests 100');
  });

  test('--max-age: each worker is replaced once it has served that long, one after the other', {
    timeout: TEST_MS,
  }, async (t) => {
    /** For each worker spawned, how many had exited by then. */
    const exitedBefore = [];
    const all = [];
    const m = replacing(t, {
      maxAgeMs: 10_000,
      onSpawn: (w) => {
        exitedBefore.push(all.filter((x) => x.state === 'exited').length);
        all.push(w);
        setImmediate(() => w.makeReady());
      },
    });
    await startReady(m);
    await beats(m, 9);
    assert.equal(m.spawned.length, 2, 'not due yet');
    await beats(m, 2);
    assert.equal(m.spawned.length, 4, 'both replaced');
    assert.deepEqual(exitedBefore, [0, 0, 0, 1], 'the second replacement started after the first old worker exited');
    assert.deepEqual(m.replaced, ['age', 'age']);
    assert.match(m.master.status().replacements?.[0].detail ?? '', /^served 1[01]s ≥ --max-age/);
  });
});

describe('Master: memory', () => {
  // The soak's master heap stays flat over 1,000 reloads (bench/RESULTS.md); this keeps it so.
  test('nothing keeps the workers that reloads retired or rolled back, or that crashed', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await startReady(m);
    m.spawned[0].exit(1);
    await until(() => m.spawned.length === 3, 'the crashed worker to be respawned');
    m.spawned[2].makeReady();
    assert.equal((await reloadWhere(m, 2, (next) => next.forEach((w) => w.makeReady()))).ok, true);
    assert.equal((await reloadWhere(m, 3, (next) => next[0].fail('boom'))).ok, false);
    assert.equal((await reloadWhere(m, 4, (next) => next.forEach((w) => w.makeReady()))).ok, true);
    await flush();

    const serving = new Set(m.master.status().workers.map((w) => w.pid));
    const refs = m.spawned.map((w) => ({ pid: w.pid, serving: serving.has(w.pid), ref: new WeakRef(w) }));
    m.spawned.length = 0; // the test's own references
    // A WeakRef holds its target until the job that made it ends.
    await flush();
    collectGarbage();
    assert.equal(refs.filter((r) => r.serving).length, 2);
    assert.deepEqual(
      refs.filter((r) => r.serving && !r.ref.deref()).map((r) => r.pid),
      [],
      'the serving workers are still there (the check is not vacuous)',
    );
    assert.deepEqual(
      refs.filter((r) => !r.serving && r.ref.deref()).map((r) => r.pid),
      [],
      'no worker that no longer serves is kept',
    );
  });
});

/**
 * Reloads into `generation` and settles its workers with `settle`, from a
 * frame of its own: the workers are not kept by the caller's locals.
 */
async function reloadWhere(m, generation, settle) {
  const result = m.master.reload();
  await until(() => m.ofGeneration(generation).length === 2, `generation ${generation} to be spawned`);
  settle(m.ofGeneration(generation));
  return result;
}

/** A full collection: `node --test` runs without --expose-gc, so the flag is set now and gc taken from a fresh context. */
function collectGarbage() {
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
}

/** Waits until `cond()` holds (real timers), bounded. */
async function until(cond, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A TCP port free on 127.0.0.1 a moment ago (the master binds it again at once). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

describe('Master: events and probes (for the admin listener)', () => {
  /** The events a master reports, in order. */
  const eventLog = () => {
    const seen = [];
    return {
      seen,
      reloaded: (r) => seen.push(['reloaded', r.ok]),
      respawned: () => seen.push(['respawned']),
      cut: (n) => seen.push(['cut', n]),
      replaced: (reason) => seen.push(['replaced', reason]),
    };
  };

  test('a reload is reported once, in service or rolled back, however many requests joined it; cut connections per worker', {
    timeout: TEST_MS,
  }, async (t) => {
    const events = eventLog();
    const m = setup(t, { workers: 2, events, workerOptions: (g) => ({ cut: g === 1 ? 2 : 0 }) });
    await startReady(m);
    const first = m.master.reload();
    const joined = m.master.reload();
    for (const w of m.ofGeneration(2)) w.makeReady();
    assert.equal((await first).ok, true);
    await until(() => m.ofGeneration(3).length === 2, 'the joined reload to spawn');
    m.ofGeneration(3)[0].fail('boom');
    assert.equal((await joined).ok, false);
    assert.deepEqual(
      events.seen.filter(([e]) => e === 'reloaded'),
      [
        ['reloaded', true],
        ['reloaded', false],
      ],
    );
    assert.deepEqual(
      events.seen.filter(([e, n]) => e === 'cut' && n > 0),
      [
        ['cut', 2],
        ['cut', 2],
      ],
      "each old worker's cut",
    );
  });

  test('a crashed worker started again is reported as a respawn', { timeout: TEST_MS }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
    const events = eventLog();
    const m = setup(t, { workers: 1, events });
    await startReady(m);
    t.mock.timers.tick(5_000);
    m.spawned[0].exit(1);
    await flush();
    const respawns = () => events.seen.filter(([e]) => e === 'respawned').length;
    assert.equal(respawns(), 0, 'not yet: the back-off runs');
    t.mock.timers.tick(100);
    await flush();
    assert.equal(respawns(), 1);
  });

  test('isServing(): a ready worker of the serving generation; isStopping() once stop() is called', {
    timeout: TEST_MS,
  }, async (t) => {
    const m = setup(t, { workers: 2 });
    await m.master.start();
    assert.equal(m.master.isServing(), false, 'none ready yet');
    m.spawned[0].makeReady();
    assert.equal(m.master.isServing(), true);
    assert.equal(m.master.isStopping(), false);
    m.master.stop();
    assert.equal(m.master.isStopping(), true);
    assert.equal(m.master.isServing(), false, 'its workers drain');
  });
});

describe('Master: releases', () => {
  /** A directory of releases v1, v2 and v3, current -> v1. */
  function releasesDir(t) {
    const dir = tmpDir('baton-master-releases-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const v of ['v1', 'v2', 'v3']) fs.mkdirSync(path.join(dir, v));
    fs.symlinkSync('v1', path.join(dir, 'current'));
    return dir;
  }
  const current = (dir) => fs.readlinkSync(path.join(dir, 'current'));

  test('each generation runs its release; current follows it once in service; a crash in the window leaves current as it was', {
    timeout: TEST_MS,
  }, async (t) => {
    const dir = releasesDir(t);
    let started = false;
    const m = setup(t, {
      workers: 1,
      crashWindowMs: 5_000,
      releases: dir,
      onSpawn: (w) => started && setImmediate(() => w.makeReady()),
    });
    await startReady(m);
    started = true;
    assert.deepEqual([m.roots, m.master.status().release], [[fs.realpathSync(path.join(dir, 'v1'))], 'v1']);
    const rec = recorder();
    const crashed = m.master.reload(rec.listener, { release: 'v2' });
    await until(() => m.ofGeneration(2)[0]?.state === 'ready', 'generation 2 to be ready');
    assert.equal(current(dir), 'v1', 'not switched while in the crash window');
    m.ofGeneration(2)[0].exit(1);
    assert.equal((await crashed).ok, false);
    assert.equal(rec.phases[0].release, 'v2');
    assert.deepEqual([current(dir), m.master.status().release], ['v1', 'v1'], 'rolled back: current as it was');
    assert.deepEqual(
      m.roots.map((root) => path.basename(root)),
      ['v1', 'v2'],
    );

    const n = setup(t, {
      workers: 1,
      releases: dir,
      onSpawn: (w) => w.generation > 1 && setImmediate(() => w.makeReady()),
    });
    await startReady(n);
    const r = await n.master.reload(undefined, { release: 'v3' });
    assert.equal(r.ok, true, r.reason);
    assert.deepEqual([current(dir), n.master.status().release], ['v3', 'v3']);
    assert.deepEqual(
      n.master.releases().releases.map((x) => [x.name, x.current, x.serving]),
      [
        ['v1', false, false],
        ['v2', false, false],
        ['v3', true, true],
      ],
    );
    fs.rmSync(path.join(dir, 'current'));
    fs.symlinkSync('v2', path.join(dir, 'current'));
    assert.equal((await n.master.reload()).ok, true);
    assert.equal(n.master.status().release, 'v2', 'a reload naming none runs what current points to now');
    assert.deepEqual(
      n.roots.map((root) => path.basename(root)),
      ['v1', 'v3', 'v2'],
    );
  });

  test('a release that is none, without --releases, or not the one queued: refused by a throw, before anything starts', {
    timeout: TEST_MS,
  }, async (t) => {
    const plain = setup(t, { workers: 1 });
    await startReady(plain);
    assert.throws(() => plain.master.reload(undefined, { release: 'v2' }), {
      name: 'ReloadRefused',
      message: NO_RELEASES,
    });
    assert.equal(plain.master.releases(), undefined);

    const dir = releasesDir(t);
    let started = false;
    const m = setup(t, { workers: 1, releases: dir, onSpawn: (w) => started && setImmediate(() => w.makeReady()) });
    await startReady(m);
    for (const name of ['..', 'a/b', '/etc', '', 'v9', 'current']) {
      assert.throws(
        () => m.master.reload(undefined, { release: name }),
        (err) => err instanceof ReloadRefused && !err.busy,
        name,
      );
    }
    assert.deepEqual([m.launches, m.master.status().reloads], [[1], []], 'nothing started');

    started = true;
    const running = m.master.reload(undefined, { release: 'v2' });
    const queued = m.master.reload(undefined, { release: 'v3' });
    assert.throws(
      () => m.master.reload(undefined, { release: 'v2' }),
      (err) => err instanceof ReloadRefused && err.busy && /release v3 is queued/.test(err.message),
    );
    const joined = m.master.reload();
    assert.deepEqual(
      (await Promise.all([running, queued, joined])).map((r) => r.ok),
      [true, true, true],
    );
    assert.deepEqual(
      [m.launches, m.master.status().release],
      [[1, 2, 3], 'v3'],
      'the unnamed request joined the queued v3',
    );
  });

  test('current gone when a reload naming none begins: it fails with the reason, nothing started', {
    timeout: TEST_MS,
  }, async (t) => {
    const dir = releasesDir(t);
    const m = setup(t, { workers: 1, releases: dir });
    await startReady(m);
    fs.rmSync(path.join(dir, 'current'));
    const rec = recorder();
    const r = await m.master.reload(rec.listener);
    assert.equal(r.ok, false);
    assert.match(r.reason, /current is missing; point it at a release/);
    assert.deepEqual(rec.names(), ['rollback']);
    assert.deepEqual([m.launches, m.master.status().generation, m.master.status().release], [[1], 1, 'v1']);
  });
});
