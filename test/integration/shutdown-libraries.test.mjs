// Shutdown libraries from the registry, unmodified, under baton run: each one
// listens for SIGTERM, closes the server and flushes what the app counted in
// memory (here to a local sink, as to Redis), then exits. Baton drains by
// message, not by signal: their shutdown runs once per drain all the same, a
// reload's as a stop's, and loses no hit.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, waitFor, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';
import { startSink } from '../helpers/sink.mjs';

const script = path.join(root, 'test/fixtures/hits-app.mjs');

for (const lib of ['close-with-grace', 'terminus', 'lightship']) {
  test(`${lib}: its shutdown runs at a reload and at a stop; 0 hits lost`, { timeout: 60_000 }, async (t) => {
    const sink = await startSink();
    t.after(() => sink.close());
    const port = await freePort();
    const master = startMaster(['-w', '1', script], {
      env: { PORT: String(port), SINK_PORT: String(sink.port), SHUTDOWN_LIB: lib },
    });
    t.after(() => stopMaster(master));
    await readyWorkers(master, 1);
    const load = startLoad({ target: { protocol: 'http', host: '127.0.0.1', port }, concurrency: 4 });
    const r = await baton(['reload', '--control', master.control]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitFor(() => sink.flushes.length === 1, { what: "the old worker's flush" });
    // terminus (stoppable) ends idle keep-alive connections itself as it stops, as it does without baton:
    // a request already on its way is reset, after the app counted it.
    const theirs = lib === 'terminus' ? ['ECONNRESET(reused)'] : [];
    assert.deepEqual(
      Object.keys(load.stats.failures).filter((k) => !theirs.includes(k)),
      [],
      describeFailures('load through the reload', load.stats),
    );
    const stopped = await baton(['stop', '--control', master.control]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(await within(master.exited, 30_000, 'the master to exit'), { code: 0, signal: null });
    const stats = await load.stop();
    await waitFor(() => sink.flushes.length === 2, { what: "the second worker's flush" });
    // At the stop, what is refused (or reset in the listen queue as the last copy of the socket closes) was never accepted, nor counted.
    const counts = JSON.stringify({ answered: stats.ok, failed: stats.failures, flushed: sink.total() });
    assert.ok(sink.total() >= stats.ok, `hits lost: ${counts}`);
    assert.ok(sink.total() <= stats.ok + (stats.failures['ECONNRESET(reused)'] ?? 0), `hits counted twice: ${counts}`);
    assert.doesNotMatch(
      master.output,
      /ERR_SERVER_NOT_RUNNING|error happened during shutdown|killed by timeout|\bexited \(code [1-9]/,
      master.output,
    );
  });
}
