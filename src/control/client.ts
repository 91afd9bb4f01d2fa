/**
 * The client end of the control socket: `baton reload|stop|status|releases`. Sends one
 * request line, prints the answers as they arrive, and returns the exit code:
 * 0 done, 1 the reload failed (rolled back) or the master went away, 2 no
 * master, no answer from it (FIRST_ANSWER_MS), or a refused request.
 */
import net from 'node:net';
import { oneLine } from '../protocol/quote.js';
import { formatMs, mib } from '../format.js';
import { textLine } from '../log.js';
import { logLineText, NO_LOGS } from '../protocol/logs.js';
import {
  type Command,
  type Phase,
  type ReleaseList,
  type ReloadResult,
  type RequestLine,
  type Status,
  type Stopping,
  canaryText,
  type UpgradeResult,
  cutLine,
  parseReply,
} from '../protocol/control.js';

export interface RunCommandOptions {
  /** Print the master's JSON instead of text: every reply line for reload, the object for status and releases. */
  json?: boolean;
  /** reload: the release to start. */
  release?: string;
  /** reload: the node binary the new generation runs on, an absolute path. */
  node?: string;
  /** reload --canary N --canary-for DUR, as written (the master reads them as it reads the admin API's). */
  canary?: string;
  canaryFor?: string;
  batch?: string;
  /** events, logs: each as it comes, until interrupted. */
  follow?: boolean;
  /** logs: only this worker's lines. */
  worker?: number;
  /** logs: the newest this many lines kept. */
  limit?: number;
  /** One line of normal output (default: stdout). */
  out?: (line: string) => void;
  /** One line of error output (default: stderr). */
  err?: (line: string) => void;
  /** How long to wait for the master's first answer (default FIRST_ANSWER_MS). */
  firstAnswerMs?: number;
}

/**
 * How long the client waits for the master's first answer before it gives up
 * (exit 2): a master that has not answered by then is frozen (SIGSTOP, a
 * blocked event loop) or overwhelmed. Once it has answered, a reload is waited
 * for to its end: the master bounds it with --ready-timeout and --drain-timeout.
 */
const FIRST_ANSWER_MS = 10_000;

export function runCommand(file: string, cmd: Command, opts: RunCommandOptions = {}): Promise<number> {
  const request: RequestLine = {
    cmd,
    ...(opts.release === undefined ? {} : { release: opts.release }),
    ...(opts.node === undefined ? {} : { node: opts.node }),
    ...(opts.canary === undefined ? {} : { canary: opts.canary }),
    ...(opts.canaryFor === undefined ? {} : { canaryFor: opts.canaryFor }),
    ...(opts.batch === undefined ? {} : { batch: opts.batch }),
    ...(opts.follow ? { follow: true } : {}),
    ...(opts.worker === undefined ? {} : { worker: opts.worker }),
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
  };
  const out = opts.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const err = opts.err ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const printer = new Printer(opts.json === true, out, err);
  const firstAnswerMs = opts.firstAnswerMs ?? FIRST_ANSWER_MS;

  return new Promise<number>((resolve) => {
    let settled = false;
    let connected = false;
    const sock = net.connect(file);
    const timer = setTimeout(() => {
      err(
        `the master at ${oneLine(file)} did not answer within ${formatMs(firstAnswerMs)} (is it stopped or frozen?)${cmd === 'reload' ? '; the reload will not run when it resumes' : ''}`,
      );
      finish(2);
    }, firstAnswerMs);
    function finish(code: number): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(code);
    }
    sock.on('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify(request)}\n`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after connecting: 'close' reports it.
      if (settled || connected) return;
      err(connectError(file, e.code ?? e.message));
      finish(2);
    });
    readLines(sock, (line) => {
      clearTimeout(timer);
      const code = printer.line(line);
      if (code !== undefined) finish(code);
      return settled;
    });
    sock.on('close', () => {
      if (settled) return;
      err('the master closed the connection before answering (did it stop?)');
      finish(1);
    });
  });
}

function connectError(file: string, code: string): string {
  if (code === 'ENOENT' || code === 'ECONNREFUSED') {
    return `no baton master is running at ${oneLine(file)} (start one with 'baton run', or pass --name/--control)`;
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return `permission denied on the control socket ${oneLine(file)} (${code}); run as the user that started the master, or pass --control`;
  }
  return `cannot connect to the control socket ${oneLine(file)} (${code}); pass --name/--control to choose another master`;
}

/** Calls `onLine` with each non-blank line, the last one even without its newline, until it returns true. */
function readLines(sock: net.Socket, onLine: (line: string) => boolean): void {
  let pending = '';
  let done = false;
  const take = (line: string): void => {
    if (!done && line.trim() !== '') done = onLine(line);
  };
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while (!done && (nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      take(line);
    }
  });
  sock.on('end', () => {
    take(pending);
    pending = '';
  });
}

/** Turns the master's reply lines into output; a final reply gives the exit code. */
class Printer {
  private tailShown = false;
  private doneShown = false;

  constructor(
    private readonly json: boolean,
    private readonly out: (line: string) => void,
    private readonly err: (line: string) => void,
  ) {}

  line(line: string): number | undefined {
    const parsed = parseReply(line);
    if ('unknown' in parsed) return undefined; // a newer master's line this client does not know: skip it
    if ('invalid' in parsed) {
      this.err(
        `unexpected answer from the master: ${line.length > 200 ? `${line.slice(0, 200)}…` : line} (${parsed.invalid})`,
      );
      return 1;
    }
    const { reply } = parsed;
    if (this.json && ['phase', 'reload', 'upgrade', 'stopping'].includes(reply.type)) this.out(line);
    if (this.json && (reply.type === 'event' || reply.type === 'log')) this.out(JSON.stringify(reply.data));
    switch (reply.type) {
      case 'accepted':
        return undefined;
      case 'phase':
        if (!this.json) this.phase(reply.data);
        return undefined;
      case 'reload':
        if (!this.json) this.result(reply.data);
        return reply.data.ok ? 0 : 1;
      case 'upgrade':
        if (!this.json) this.upgraded(reply.data);
        return reply.data.ok ? 0 : 1;
      case 'status':
        if (this.json) this.out(JSON.stringify(reply.data));
        else for (const l of formatStatus(reply.data)) this.out(l);
        return 0;
      case 'releases':
        if (this.json) this.out(JSON.stringify(reply.data));
        else for (const l of formatReleases(reply.data)) this.out(l);
        return 0;
      case 'event':
        if (!this.json) this.out(textLine(reply.data));
        return undefined;
      case 'events-end':
        return 0;
      case 'log':
        if (!this.json) this.out(logLineText(reply.data));
        return undefined;
      case 'logs-end':
        if (!reply.enabled) this.err(NO_LOGS);
        return reply.enabled ? 0 : 1;
      case 'stopping':
        if (!this.json) this.out('stopping');
        return 0;
      case 'error':
        this.err(reply.message);
        return 2;
    }
  }

  private phase(p: Phase): void {
    for (const l of formatPhase(p)) this.out(l);
    if (p.phase === 'rollback' && p.stderrTail) this.tailShown = true;
    if (p.phase === 'done') this.doneShown = true;
  }

  private upgraded(r: UpgradeResult): void {
    if (r.ok) {
      this.out(`done: master pid ${r.pid} (baton ${r.version}) serving, upgrade took ${r.ms} ms`);
      return;
    }
    this.err(`upgrade failed, the old master serves on: ${r.reason ?? 'unknown reason'}`);
    for (const l of tailLines(r.stderrTail)) this.err(l);
  }

  private result(r: ReloadResult): void {
    if (r.ok) {
      if (!this.doneShown) this.out(doneLine(r));
      // Still a success (exit 0): the new generation serves; the cut clients are the old one's.
      if (r.cut) this.out(cutLine(r.cut));
      return;
    }
    this.err(`reload failed: ${r.reason ?? 'unknown reason'}`);
    if (r.stderrTail && !this.tailShown) for (const l of tailLines(r.stderrTail)) this.err(l);
  }
}

const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

/** The human lines for one reload phase. */
export function formatPhase(p: Phase): string[] {
  switch (p.phase) {
    case 'spawned':
      return [
        `spawned generation ${p.generation}${p.release === undefined ? '' : ` (release ${p.release})`}${p.node === undefined ? '' : ` on node ${p.node}`}: ${plural(p.pids.length, 'pid', 'pids')} ${p.pids.join(', ')}`,
      ];
    case 'ready':
      return [`generation ${p.generation} ready after ${p.ms} ms`];
    case 'draining':
      return [
        `draining generation ${p.generation} (${p.connections} open ${plural(p.connections, 'connection', 'connections')})`,
      ];
    case 'done':
      return [doneLine(p)];
    case 'queued':
      return [`queued: ${p.reason}`];
    case 'canary':
      return [`canary: generation ${p.generation}, ${canaryText(p)}`];
    case 'comparing':
      return [`canary: ${p.text}`];
    case 'verdict':
      return [`canary ${p.ok ? 'passed' : 'failed'}: ${p.text}`];
    case 'rollback':
      return [`rollback: generation ${p.generation} failed: ${p.reason}`, ...tailLines(p.stderrTail)];
    case 'master':
      return [`started master pid ${p.pid} (baton ${p.version} on node ${p.node})`];
    default:
      return [JSON.stringify(p)];
  }
}

function tailLines(tail: string | undefined): string[] {
  if (!tail) return [];
  return tail
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => `  | ${l.replace(/\r$/, '')}`);
}

/** Pads columns to their widest cell. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * A reason as one table cell: a worker's error may span lines (or hold tabs),
 * which would split its row in two and misalign the rest.
 */
const oneCell = (text: string): string => text.replace(/\s*[\u0000-\u001f\u007f]+\s*/g, ' ').trim();

/**
 * Each old generation still draining, with the connections its workers last reported open (null: none reported yet).
 */
function drainingGenerations(s: Status): Map<number, number | null> {
  const gens = new Map<number, number | null>();
  for (const w of s.workers.filter((w) => w.state === 'draining')) {
    const known = gens.get(w.generation) ?? null;
    gens.set(w.generation, w.connections === null ? known : (known ?? 0) + w.connections);
  }
  return gens;
}

function stoppingLine({ phase, msLeft }: Stopping): string {
  return phase === 'delay'
    ? `not ready (/readyz 503), serving on; draining in ${formatMs(msLeft)} (shutdown delay)`
    : `draining all workers (deadline in ${formatMs(msLeft)})`;
}

/** `requests    generation 2: 812.3/s, 5xx 0.1 %, unanswered 0 %, p50 3 ms, p99 24 ms (last 10 s)` */
function requestLines(s: Status): string[] {
  const percent = (share: number): string => `${Number((share * 100).toFixed(1))} %`;
  const ms = (v: number | null): string => (v === null ? '-' : `${Number(v.toFixed(1))} ms`);
  return (s.requests ?? []).map(({ generation, recent: r }) => {
    const figures = `${Number(r.perSecond.toFixed(1))}/s, 5xx ${percent(r.share5xx)}, unanswered ${percent(r.shareUnanswered)}`;
    return `requests    generation ${generation}: ${figures}, p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)} (last ${r.seconds} s)`;
  });
}

/** How many past reloads `baton status` shows. */
const RELOADS_SHOWN = 5;

/** The human `baton status` text. */
export function formatStatus(s: Status): string[] {
  const lines = table([
    ['name', s.name],
    [
      'master',
      `pid ${s.masterPid}${s.version === undefined ? '' : `, baton ${s.version}`}, up ${formatMs(s.uptimeMs)}${s.master ? `, rss ${mib(s.master.rssBytes)}, heap ${mib(s.master.heapUsedBytes)}` : ''}`,
    ],
    ['generation', String(s.generation)],
    ...(s.release === undefined ? [] : [['release', s.release]]),
    ['listeners', s.listeners.length === 0 ? '(none yet)' : s.listeners.join(', ')],
    ['workers', s.workers.length === 0 ? '(none)' : String(s.workers.length)],
    ...(s.stopping ? [['stopping', stoppingLine(s.stopping)]] : []),
    ...(s.settings?.length ? [['settings', s.settings.map((x) => `${x.key}=${x.value} (${x.from})`).join(', ')]] : []),
  ]);
  if (s.workers.length > 0) {
    const rows = s.workers.map((w) => [
      String(w.pid),
      String(w.generation),
      w.unresponsive ? 'UNRESPONSIVE' : w.state,
      formatMs(w.uptimeMs),
      mib(w.rssBytes),
      w.connections === null ? '-' : String(w.connections),
      w.delayMs === null ? '-' : `${w.delayMs} ms`,
      w.heartbeatAgeMs === null ? '-' : `${formatMs(w.heartbeatAgeMs)} ago`,
    ]);
    lines.push(
      ...table([['PID', 'GEN', 'STATE', 'UPTIME', 'RSS', 'CONNS', 'LOOP DELAY', 'HEARTBEAT'], ...rows]).map(
        (l) => `  ${l}`,
      ),
    );
  }
  for (const [generation, connections] of drainingGenerations(s)) {
    const open =
      connections === null
        ? 'connections not reported yet'
        : `${connections} open ${plural(connections, 'connection', 'connections')}`;
    lines.push(`draining    generation ${generation} (${open})`);
  }
  lines.push(...requestLines(s), ...reloadLines(s));
  for (const r of (s.replacements ?? []).slice(-RELOADS_SHOWN))
    lines.push(`replaced    pid ${r.pid} by pid ${r.by} at ${r.at}: ${oneCell(r.detail)}`);
  return lines;
}

/** The latest reloads, as a table. */
function reloadLines(s: Status): string[] {
  const recent = s.reloads.slice(-RELOADS_SHOWN);
  const lines: string[] = [];
  if (recent.length === 0) {
    lines.push('reloads     none yet');
  } else {
    lines.push(`last ${plural(recent.length, 'reload', `${recent.length} reloads`)}`);
    const reasons = recent.some((r) => !r.ok);
    const cuts = recent.some((r) => r.cut);
    const rows = recent.map((r) => [
      String(r.generation),
      r.ok ? 'ok' : 'failed',
      `${r.ms} ms`,
      r.at,
      ...(cuts ? [r.cut ? String(r.cut) : ''] : []),
      ...(reasons ? [r.ok ? '' : oneCell(r.reason ?? '')] : []),
    ]);
    const head = ['GEN', 'RESULT', 'TIME', 'AT', ...(cuts ? ['CUT'] : []), ...(reasons ? ['REASON'] : [])];
    lines.push(...table([head, ...rows]).map((l) => `  ${l}`));
  }
  return lines;
}

/** `baton releases`: one line per release, marking the one `current` points to and the one serving. */
export function formatReleases(r: ReleaseList): string[] {
  if (r.releases.length === 0) return [`no releases in ${r.dir}`];
  return table(
    r.releases.map((x) => [
      x.name,
      [x.current ? 'current' : '', x.serving ? 'serving' : ''].filter(Boolean).join(', '),
    ]),
  );
}

/** `done: generation 2 serving, reload took 186 ms (old generation drained after 170 ms)` */
function doneLine({ generation, ms, drainedMs }: { generation: number; ms: number; drainedMs?: number }): string {
  const drained = drainedMs === undefined ? '' : ` (old generation drained after ${drainedMs} ms)`;
  return `done: generation ${generation} serving, reload took ${ms} ms${drained}`;
}
