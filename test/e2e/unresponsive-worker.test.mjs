// A frozen worker (stopped, or its event loop stuck) still says it is ready;
// its heartbeat says otherwise. `baton status` shows each worker's last
// heartbeat and event-loop delay, a silent worker is reported, and with
// --replace-unresponsive a new worker takes its slot before it is killed.
// A master that was itself stopped blames no worker for its own pause.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { request } from '../helpers/http.mjs';
import { alive, freePort, root, servingPid, sleep, waitFor } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/slow-request-app.mjs');
const T = { timeout: 60_000 };

/** Stops `pid`, and lets it go on again when the test ends (if it is still there). */
function freeze(t, pid) {
  process.kill(pid, 'SIGSTOP');
  t.after(() => alive(pid) && process.kill(pid, 'SIGCONT'));
}

test(
  'baton run --unresponsive-after 3s: a stopped worker is reported, shown in status, and noticed when it goes on',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '2', '--unresponsive-after', '3s', script], { env: { PORT: String(port) } });
    t.after(() => stopMaster(master));
    const [frozen, other] = await readyWorkers(master, 2);
    await waitFor(async () => (await status(master)).workers.every((w) => w.heartbeatAgeMs !== null), {
      what: 'a first heartbeat from each worker',
    });

    const reported = waitForLine(master, (l) =>
      l.level === 'warn' && l.text.startsWith(`worker pid ${frozen} has sent no heartbeat`) ? l.text : undefined,
    );
    freeze(t, frozen);
    assert.match(await reported, /its event loop is blocked, or it is stopped; not replacing it/);
    const s = await status(master);
    const byPid = new Map(s.workers.map((w) => [w.pid, w]));
    assert.equal(byPid.get(frozen).unresponsive, true);
    assert.ok(byPid.get(frozen).heartbeatAgeMs >= 3000);
    assert.equal(byPid.get(other).unresponsive, false);
    assert.ok(byPid.get(other).delayMs >= 0);
    const text = await baton(['status', '--control', master.control]);
    assert.match(text.stdout, new RegExp(`${frozen}\\s+1\\s+UNRESPONSIVE`), text.stdout);
    assert.match(text.stdout, /LOOP DELAY\s+HEARTBEAT/, text.stdout);

    const answers = waitForLine(master, (l) => l.text.startsWith(`worker pid ${frozen} answers again`) || undefined);
    process.kill(frozen, 'SIGCONT');
    await answers;
    assert.equal((await status(master)).workers.find((w) => w.pid === frozen).unresponsive, false);
    assert.deepEqual(
      await readyWorkers(master, 2),
      [frozen, other].sort((a, b) => a - b),
      'nobody replaced',
    );
  },
);

test(
  'baton run --replace-unresponsive: a stopped worker is replaced, new worker first, and then killed',
  T,
  async (t) => {
    const port = await freePort();
    /** @type {import('../../dist/testing/load.js').Target} */
    const target = { protocol: 'http', host: '127.0.0.1', port };
    const master = startMaster(['-w', '2', '--unresponsive-after', '3s', '--replace-unresponsive', script], {
      env: { PORT: String(port) },
    });
    t.after(() => stopMaster(master));
    const [frozen, other] = await readyWorkers(master, 2);
    await waitFor(async () => (await status(master)).workers.every((w) => w.heartbeatAgeMs !== null), {
      what: 'a first heartbeat from each worker',
    });

    const killed = waitForLine(master, (l) =>
      l.text.startsWith(`killing worker pid ${frozen}: worker pid `) ? l.text : undefined,
    );
    freeze(t, frozen);
    const line = await killed;
    const fresh = Number(/: worker pid (\d+) has replaced it/.exec(line)[1]);
    await waitFor(() => !alive(frozen), { what: 'the frozen worker to be gone' });
    assert.deepEqual(
      await readyWorkers(master, 2),
      [fresh, other].sort((a, b) => a - b),
    );
    assert.doesNotMatch(
      master.output,
      new RegExp(`worker pid ${frozen} exited.*restarting it`),
      'the kill is not a crash',
    );
    for (let i = 0; i < 10; i++) assert.ok([fresh, other].includes(await servingPid(target)));
  },
);

test(
  'baton run --replace-unresponsive: a master stopped past the limit (SIGSTOP, SIGCONT) looks again, and replaces nobody',
  T,
  async (t) => {
    const port = await freePort();
    const master = startMaster(['-w', '2', '--unresponsive-after', '3s', '--replace-unresponsive', script], {
      env: { PORT: String(port) },
    });
    t.after(() => stopMaster(master));
    const workers = await readyWorkers(master, 2);
    await waitFor(async () => (await status(master)).workers.every((w) => w.heartbeatAgeMs !== null), {
      what: 'a first heartbeat from each worker',
    });
    const inFlight = request(port, 'GET', '/?delay=5000');
    await waitFor(() => master.output.includes('request arrived'), { what: 'the request to arrive' });

    const mpid = master.child.pid;
    freeze(t, mpid);
    await sleep(4000); // the pause itself: longer than --unresponsive-after
    const verdict = waitForLine(master, (l) =>
      l.text.includes('has sent no heartbeat') || l.text.startsWith("the master's own timers ran") ? l.text : undefined,
    );
    process.kill(mpid, 'SIGCONT');
    assert.match(
      await verdict,
      /^the master's own timers ran \d+ ms late \(it was paused\): looking at the workers' heartbeats again/,
    );

    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(workers.includes(Number(res.body.trim())));
    // The heartbeats read since, and a check after them (one a second): still nobody silent.
    await waitFor(async () => (await status(master)).workers.every((w) => w.heartbeatAgeMs < 1500), {
      what: 'fresh heartbeats',
    });
    await sleep(1500);
    assert.doesNotMatch(master.output, /has sent no heartbeat|killing worker/, master.output);
    assert.deepEqual(await readyWorkers(master, 2), workers);
  },
);
