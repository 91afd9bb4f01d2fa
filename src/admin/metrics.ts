/**
 * The admin listener's /metrics: counters fed by the master's events, gauges
 * read from its status when scraped, in the Prometheus text exposition format
 * (version 0.0.4), named and united as Prometheus' conventions say. The
 * process_* names are those of Prometheus' own process collector, so
 * dashboards made for it work unchanged.
 */
import fs from 'node:fs';
import {
  REPLACE_REASONS,
  type ReloadCounters,
  type ReloadResult,
  type ReplaceReason,
  type Status,
  type WorkerState,
} from '../protocol/control.js';
import { CODES, LATENCY_BOUNDS_MS } from '../protocol/requests.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Upper bounds, in seconds: a reload lasts from its new workers' start to its old ones' drain, which the drain timeout
 * (30 s by default) bounds.
 */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const STATES: readonly WorkerState[] = ['starting', 'ready', 'draining'];

type Sample = [labels: string, value: number];

function family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: Sample[]): string {
  const lines = samples.map(([labels, value]) => `${name}${labels} ${value}`);
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
}

/** Open fds of this process, where /proc tells them (the listing's own fd not counted). */
function openFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** Implements the master's MasterEvents. */
export class Metrics {
  private reloads: ReloadCounters = { ok: 0, failed: 0, buckets: DURATION_BUCKETS.map(() => 0), durationMs: 0 };
  private restarts = 0;
  private readonly replacements = new Map<ReplaceReason, number>(REPLACE_REASONS.map((r) => [r, 0]));
  private cutTotal = 0;

  reloaded(result: ReloadResult): void {
    const r = this.reloads;
    r[result.ok ? 'ok' : 'failed'] += 1;
    const seconds = result.ms / 1000;
    r.durationMs += result.ms;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) r.buckets[i]! += 1;
    });
  }

  /** The reload counters, to pass to a standalone successor. */
  reloadCounters(): ReloadCounters {
    return { ...this.reloads, buckets: [...this.reloads.buckets] };
  }

  /**
   * A standalone predecessor's counters, as this process takes over from it; ignored from a version with other buckets.
   */
  takeOver(counters: ReloadCounters): void {
    if (counters.buckets.length === DURATION_BUCKETS.length)
      this.reloads = { ...counters, buckets: [...counters.buckets] };
  }

  respawned(): void {
    this.restarts += 1;
  }

  replaced(reason: ReplaceReason): void {
    this.replacements.set(reason, (this.replacements.get(reason) ?? 0) + 1);
  }

  cut(connections: number): void {
    this.cutTotal += connections;
  }

  /** The exposition, with the master's `status` of now. */
  render(status: Status): string {
    const families = [
      ...this.reloadFamilies(),
      family('baton_generation', 'gauge', 'The generation serving.', [['', status.generation]]),
      family(
        'baton_workers',
        'gauge',
        'Worker processes, by state.',
        STATES.map((s): Sample => [`{state="${s}"}`, status.workers.filter((w) => w.state === s).length]),
      ),
      family('baton_worker_restarts_total', 'counter', 'Workers started again after a crash.', [['', this.restarts]]),
      family(
        'baton_worker_replacements_total',
        'counter',
        'Serving workers replaced by a new one, by reason: memory (--max-memory), age (--max-age), unresponsive.',
        [...this.replacements].map(([reason, n]): Sample => [`{reason="${reason}"}`, n]),
      ),
      family(
        'baton_drain_cut_connections_total',
        'counter',
        'Connections still open at a drain deadline, closed by baton.',
        [['', this.cutTotal]],
      ),
      family(
        'baton_open_connections',
        'gauge',
        'Open connections per generation, as its workers last reported them.',
        connectionsByGeneration(status),
      ),
      family('process_resident_memory_bytes', 'gauge', 'Resident memory size of the master in bytes.', [
        ['', process.memoryUsage.rss()],
      ]),
      ...requestFamilies(status),
      ...workerFamilies(status),
      ...releaseFamilies(status),
    ];
    const fds = openFds();
    if (fds !== undefined)
      families.push(family('process_open_fds', 'gauge', 'Number of open file descriptors of the master.', [['', fds]]));
    return `${families.join('\n')}\n`;
  }

  private reloadFamilies(): string[] {
    const { ok, failed, buckets, durationMs } = this.reloads;
    const count = ok + failed;
    return [
      family(
        'baton_reloads_total',
        'counter',
        'Reloads ended, by outcome: ok (the new generation serves) or failed (rolled back).',
        [
          ['{outcome="ok"}', ok],
          ['{outcome="failed"}', failed],
        ],
      ),
      family(
        'baton_reload_duration_seconds',
        'histogram',
        "Time from a reload's start to the old generation gone, or to its rollback done.",
        [
          ...DURATION_BUCKETS.map((le, i): Sample => [`_bucket{le="${le}"}`, buckets[i]!]),
          ['_bucket{le="+Inf"}', count],
          ['_sum', durationMs / 1000],
          ['_count', count],
        ],
      ),
    ];
  }
}

/** Generations with at least one worker that has reported its connections. */
function connectionsByGeneration(status: Status): Sample[] {
  const sums = new Map<number, number>();
  for (const w of status.workers) {
    if (w.connections !== null) sums.set(w.generation, (sums.get(w.generation) ?? 0) + w.connections);
  }
  return [...sums].sort(([a], [b]) => a - b).map(([g, n]) => [`{generation="${g}"}`, n]);
}

/** The workers' requests per generation, as their heartbeats said (none with --no-request-metrics). */
function requestFamilies(status: Status): string[] {
  const gens = status.requests ?? [];
  const durations = gens.flatMap(({ generation, total }): Sample[] => {
    const g = `generation="${generation}"`;
    let below = 0;
    const buckets = LATENCY_BOUNDS_MS.map((ms, i): Sample => {
      below += total.buckets[i]!;
      return [`_bucket{${g},le="${ms / 1000}"}`, below];
    });
    const count = below + total.buckets.at(-1)!;
    return [
      ...buckets,
      [`_bucket{${g},le="+Inf"}`, count],
      [`_sum{${g}}`, total.sumMs / 1000],
      [`_count{${g}}`, count],
    ];
  });
  return [
    family(
      'baton_http_requests_total',
      'counter',
      "HTTP requests the app's servers ended, per generation, by status class (2xx…5xx), or unanswered (aborted, reset, timed out).",
      gens.flatMap(({ generation, total }) =>
        CODES.map((code): Sample => [`{generation="${generation}",code="${code}"}`, total.codes[code]]),
      ),
    ),
    family(
      'baton_http_request_duration_seconds',
      'histogram',
      "Time from a request's start to its answer's end, per generation (answered requests only).",
      durations,
    ),
    family(
      'baton_net_connections_total',
      'counter',
      "Connections accepted by the app's servers that are not HTTP, per generation.",
      gens.map(({ generation, total }): Sample => [`{generation="${generation}"}`, total.connections]),
    ),
  ];
}

/** A label's value, escaped as the text format wants: a version is whatever package.json says. */
const labelValue = (v: string): string => v.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n');

/** With --releases: which code serves, as Prometheus's *_info convention has it (always 1, the facts as labels). */
function releaseFamilies({ release, releaseIdentity: id }: Status): string[] {
  if (release === undefined) return [];
  const labels = { release, version: id?.version ?? '', revision: id?.revision ?? '' };
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(',');
  const help = "Always 1, labelled with the serving release, its package.json's version and its REVISION or commit.";
  return [family('baton_release_info', 'gauge', help, [[`{${text}}`, 1]])];
}

/** Each worker's own figures, as of its last heartbeat, labelled with its pid and generation. */
function workerFamilies(status: Status): string[] {
  const per = (value: (w: Status['workers'][number]) => number | null | undefined): Sample[] =>
    status.workers.flatMap((w): Sample[] => {
      const v = value(w);
      return v === null || v === undefined ? [] : [[`{pid="${w.pid}",generation="${w.generation}"}`, v]];
    });
  return [
    family(
      'baton_worker_resident_memory_bytes',
      'gauge',
      'Resident memory size of each worker in bytes.',
      per((w) => w.rssBytes),
    ),
    family(
      'baton_worker_cpu_seconds_total',
      'counter',
      'User and system CPU time each worker has spent, in seconds.',
      per((w) => (w.cpuMs === undefined ? undefined : w.cpuMs / 1000)),
    ),
    family(
      'baton_worker_event_loop_delay_seconds',
      'gauge',
      "How late each worker's last heartbeat timer ran: its event loop's delay.",
      per((w) => (w.delayMs === null ? null : w.delayMs / 1000)),
    ),
    family(
      'baton_worker_slot_restarts',
      'gauge',
      "Crashed workers started again in this worker's slot, in the serving generation (its predecessors' crashes).",
      per((w) => w.restarts),
    ),
    family(
      'baton_worker_open_connections',
      'gauge',
      'Open connections of each worker, as of its last heartbeat.',
      per((w) => w.connections),
    ),
    family(
      'baton_worker_info',
      'gauge',
      'Always 1, labelled with the Node.js version each worker runs on (--node, baton reload --node).',
      status.workers.flatMap((w): Sample[] =>
        w.node === undefined ? [] : [[`{pid="${w.pid}",generation="${w.generation}",node="${w.node}"}`, 1]],
      ),
    ),
  ];
}
