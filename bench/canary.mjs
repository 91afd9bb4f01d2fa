// A release that answers 500 to every request, reloaded into `baton run -w 4`
// under load (keep-alive and new connections, as the probes of the other
// rows): judged in the crash window (3 s, the default gate), and with
// `--canary 1 --canary-for 3s`. Reported: the requests failed until the
// rollback, out of those sent meanwhile (with a canary, at most its share:
// 1 worker in 5 serving), and those failed after it (target 0).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProbe } from './probe.mjs';
import { startBatonRun } from './targets.mjs';
import { cliPath, freePort, sleep } from '../dist/testing/harness.js';

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), 'apps/breaking.mjs');
const WORKERS = 4;
const WINDOW = '3s';
/** How long the load runs after the rollback, to see that nothing more fails. */
const AFTER_MS = 2000;

const reload = (control, args) =>
  new Promise((resolve) => {
    execFile(process.execPath, [cliPath, 'reload', '--control', control, ...args], { timeout: 120_000 }, (err, out) =>
      resolve({ code: err ? (err.code ?? 1) : 0, out }),
    );
  });

/** Each probe's requests sent and failed so far: keep-alive, then new connections. */
const tally = (probes) =>
  probes.map((p) => {
    const sent = Object.values(p.counts).reduce((a, b) => a + b, 0);
    return { sent, failed: sent - p.counts.ok };
  });
const MODES = ['keepalive', 'close'];
/** What each mode sent and failed between two tallies. */
const between = (from, to) =>
  Object.fromEntries(
    MODES.map((m, i) => [m, { sent: to[i].sent - from[i].sent, failed: to[i].failed - from[i].failed }]),
  );

/** One row: the 500 release reloaded with `args`; its failed requests until and after the rollback. */
async function row(name, args, log) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-bench-canary-'));
  const breakFile = path.join(dir, 'BREAK');
  const port = await freePort();
  const target = await startBatonRun({
    port,
    delayMs: 0,
    workers: WORKERS,
    app,
    args: ['--crash-window', WINDOW],
    env: { BREAK_FILE: breakFile },
  });
  const probes = MODES.map((mode) => startProbe({ port, mode, concurrency: 4, gapMs: 5, keep: false }));
  try {
    await sleep(1000);
    fs.writeFileSync(breakFile, '');
    const before = tally(probes);
    const r = await reload(target.control, args);
    const atRollback = tally(probes);
    await sleep(AFTER_MS);
    const after = tally(probes);
    const untilRollback = between(before, atRollback);
    const sum = (k) => MODES.reduce((n, m) => n + untilRollback[m][k], 0);
    const result = {
      name,
      command: `baton run -w ${WORKERS} --crash-window ${WINDOW}; baton reload ${args.join(' ')}`.trim(),
      rolledBack: r.code === 1,
      sent: sum('sent'),
      failed: sum('failed'),
      byMode: untilRollback,
      failedAfter: MODES.reduce((n, m) => n + between(atRollback, after)[m].failed, 0),
    };
    const pct = ({ sent, failed }) => `${failed}/${sent} (${((100 * failed) / Math.max(1, sent)).toFixed(1)} %)`;
    log(
      `${name}: ${result.rolledBack ? 'rolled back' : `NOT rolled back (exit ${r.code})`}; failed until then ${pct(result)}: keep-alive ${pct(untilRollback.keepalive)}, new connections ${pct(untilRollback.close)}; ${result.failedAfter} after`,
    );
    return result;
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await target.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runCanary({ log }) {
  return {
    measuredAt: new Date().toISOString(),
    /** The share of the serving processes a canary of 1 is, beside -w 4: what at most may fail. */
    canaryShare: 1 / (WORKERS + 1),
    rows: [
      await row('500 release, crash-window gate', [], log),
      await row('500 release, --canary 1', ['--canary', '1', '--canary-for', WINDOW], log),
    ],
  };
}
