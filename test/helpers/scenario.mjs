// The handover scenario shared by the protocol tests: an app under load,
// upgraded again and again, with every request counted.
import assert from 'node:assert/strict';
import { startLoad } from './load.mjs';
import { alive, cleanup, gone, servingPid, sleep, startStandalone, upgrade, waitFor } from './proc.mjs';

export function describeFailures(name, s) {
  return `${name}: ${s.failed} failed of ${s.ok + s.failed} (${JSON.stringify(s.failures)}) samples=${JSON.stringify(s.samples.slice(0, 5))}`;
}

/**
 * Runs `upgrades` SIGUSR2 upgrades of `script` under keep-alive and
 * connection-per-request load; asserts zero failures, a new pid per upgrade,
 * each serving, and every old pid gone. Returns the totals for the report.
 */
export async function handoverUnderLoad(t, { script, target, env = {}, upgrades = 10, concurrency = 16 }) {
  const app = startStandalone(script, { env });
  t.after(() => cleanup(app));
  let pid = await waitFor(() => servingPid(target), { what: 'the first generation to serve' });
  const keepalive = startLoad({ target, mode: 'keepalive', concurrency });
  const perRequest = startLoad({ target, mode: 'close', concurrency });
  const generations = [pid];
  try {
    for (let i = 0; i < upgrades; i++) {
      await sleep(250);
      pid = await upgrade(app, pid);
      generations.push(pid);
    }
    await sleep(250);
  } finally {
    await keepalive.stop();
    await perRequest.stop();
  }
  const k = keepalive.stats;
  const c = perRequest.stats;
  t.diagnostic(`keep-alive: ${k.ok} ok, ${k.failed} failed, ${k.retried} retried ${JSON.stringify(k.retries)}; per-request: ${c.ok} ok, ${c.failed} failed, ${c.retried} retried ${JSON.stringify(c.retries)}; ${upgrades} upgrades`);
  assert.equal(k.failed, 0, describeFailures('keep-alive', k));
  assert.equal(c.failed, 0, describeFailures('per-request', c));
  // A connection the old generation accepted as it stopped gets its first request served: none is refused to be retried.
  assert.equal(c.retried, 0, `per-request: ${c.retried} requests refused unprocessed ${JSON.stringify(c.retries)}`);
  assert.ok(k.ok > 0 && c.ok > 0, 'both loads were served');
  assert.equal(new Set(generations).size, upgrades + 1, `a new pid per upgrade: ${generations.join(' ')}`);
  for (const g of generations.slice(1)) {
    assert.ok(k.pids.has(g) || c.pids.has(g), `generation pid ${g} served requests`);
  }
  for (const old of generations.slice(0, -1)) {
    await waitFor(() => gone(old), { timeoutMs: 10_000, what: `old pid ${old} to be reaped` });
  }
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), { what: 'the last generation to stop' });
  return { keepalive: k, perRequest: c, generations };
}
