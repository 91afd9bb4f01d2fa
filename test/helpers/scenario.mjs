// The handover scenario shared by the protocol tests: an app under load,
// upgraded again and again, with every request counted.
import assert from 'node:assert/strict';
import { alive, cleanup, gone, reloadUnderLoad, servingPid, startStandalone, waitFor } from './proc.mjs';

/**
 * One line for a load's failures, for an assertion's message.
 * @param {string} name
 * @param {import('../../dist/testing/load.js').LoadStats} s
 */
export function describeFailures(name, s) {
  return `${name}: ${s.failed} failed of ${s.ok + s.failed} (${JSON.stringify(s.failures)}) samples=${JSON.stringify(s.samples.slice(0, 5))}`;
}

/**
 * Runs `upgrades` SIGUSR2 upgrades of `script` under keep-alive and
 * connection-per-request load (batonjs/testing's reloadUnderLoad); asserts zero
 * failures, a new pid per upgrade, each serving, and every old pid gone.
 * Returns the totals for the report.
 * @param {import('node:test').TestContext} t
 * @param {{ script: string, target: import('../../dist/testing/load.js').Target, env?: Record<string, string>,
 *   upgrades?: number, concurrency?: number }} options
 */
export async function handoverUnderLoad(t, { script, target, env = {}, upgrades = 10, concurrency = 16 }) {
  const app = startStandalone(script, { env });
  t.after(() => cleanup(app));
  const first = await waitFor(() => servingPid(target), { what: 'the first generation to serve' });
  const r = await reloadUnderLoad({
    app,
    target,
    reloads: upgrades,
    mode: 'both',
    concurrency,
    pauseMs: 250,
    expect: 'pid',
  });
  const { keepalive: k, close: c } = r.byMode;
  t.diagnostic(
    `keep-alive: ${k.ok} ok, ${k.failed} failed, ${k.retried} retried ${JSON.stringify(k.retries)}; per-request: ${c.ok} ok, ${c.failed} failed, ${c.retried} retried ${JSON.stringify(c.retries)}; ${upgrades} upgrades`,
  );
  const failedReload = r.reloads.find((x) => !x.ok);
  assert.equal(failedReload, undefined, `every upgrade succeeds: ${failedReload?.output}`);
  assert.equal(r.reloads.length, upgrades);
  assert.equal(k.failed, 0, describeFailures('keep-alive', k));
  assert.equal(c.failed, 0, describeFailures('per-request', c));
  // A connection the old generation accepted as it stopped gets its first request served: none is refused to be retried.
  assert.equal(c.retried, 0, `per-request: ${c.retried} requests refused unprocessed ${JSON.stringify(c.retries)}`);
  assert.ok(k.ok > 0 && c.ok > 0, 'both loads were served');
  const generations = [first, ...r.reloads.map((x) => x.pid)];
  assert.equal(new Set(generations).size, upgrades + 1, `a new pid per upgrade: ${generations.join(' ')}`);
  for (const g of generations.slice(1)) {
    assert.ok(k.pids.has(g) || c.pids.has(g), `generation pid ${g} served requests`);
  }
  for (const old of generations.slice(0, -1)) {
    await waitFor(() => gone(old), { timeoutMs: 10_000, what: `old pid ${old} to be reaped` });
  }
  const pid = app.serving;
  assert.equal(pid, generations.at(-1));
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), { what: 'the last generation to stop' });
  return { keepalive: k, perRequest: c, generations };
}
