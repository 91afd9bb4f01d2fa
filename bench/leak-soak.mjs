// A leaking app under `baton run -w 2 --max-memory 150M` for some minutes
// (10; --quick 1), probed on keep-alive and new connections: every request
// keeps 32 KiB, so each worker passes the limit again and again and is
// replaced, a new worker first. Reported: requests failed (target 0),
// replacements, the workers' largest RSS seen (bounded by the limit and what
// 3 heartbeats add), and the master's memory at the start and the end (flat).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProbe, sumCounts } from './probe.mjs';
import { processFigures, startBatonRun } from './targets.mjs';
import { freePort, sleep } from '../dist/testing/harness.js';

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), 'apps/leaky.mjs');
const LIMIT_MB = 150;
const SAMPLE_MS = 5000;

export async function runLeakSoak({ quick, minutes = quick ? 1 : 10, log }) {
  const port = await freePort();
  const target = await startBatonRun({
    port,
    delayMs: 0,
    workers: 2,
    app,
    nodeFlags: ['--expose-gc'],
    args: ['--max-memory', `${LIMIT_MB}M`],
    env: { LEAK_KB: '32' },
  });
  const durationMs = minutes * 60_000;
  const probes = ['keepalive', 'close'].map((mode) =>
    startProbe({ port, mode, concurrency: 2, gapMs: 5, maxMs: durationMs + 60_000, keep: false }),
  );
  const master = async () => {
    const { rssKb } = processFigures(target.masterPid);
    const s = await target.status();
    return { rssKb, heapUsedBytes: s.master?.heapUsedBytes ?? null, status: s };
  };
  const replaced = new Set();
  let maxWorkerRss = 0;
  const take = (s) => {
    for (const r of s.replacements ?? []) replaced.add(`${r.pid}>${r.by}`);
    for (const w of s.workers) maxWorkerRss = Math.max(maxWorkerRss, w.rssBytes ?? 0);
  };
  const start = await master();
  let end = start;
  try {
    for (const until = Date.now() + durationMs; Date.now() < until; ) {
      await sleep(SAMPLE_MS);
      end = await master();
      take(end.status);
    }
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await target.stop();
  }
  const counts = sumCounts(probes);
  const result = {
    measuredAt: new Date().toISOString(),
    command: `baton run -w 2 --max-memory ${LIMIT_MB}M bench/apps/leaky.mjs (LEAK_KB=32)`,
    minutes,
    limitMb: LIMIT_MB,
    requests: Object.values(counts).reduce((a, b) => a + b, 0),
    failed: counts.refused + counts.reset + counts.timeout + counts.non2xx + counts.other,
    outcomes: counts,
    replacements: replaced.size,
    maxWorkerRssMb: Math.round(maxWorkerRss / 2 ** 20),
    master: {
      rssMb: [start.rssKb, end.rssKb].map((kb) => Math.round(kb / 1024)),
      heapUsedMb: [start.heapUsedBytes, end.heapUsedBytes].map((b) => (b === null ? null : +(b / 2 ** 20).toFixed(2))),
    },
  };
  log(
    `leak soak, ${minutes} min: ${result.requests} requests, ${result.failed} failed, ${result.replacements} replacements, workers' RSS at most ${result.maxWorkerRssMb} MB (limit ${LIMIT_MB}), master RSS ${result.master.rssMb.join(' → ')} MB, heap ${result.master.heapUsedMb.join(' → ')} MB`,
  );
  return result;
}
