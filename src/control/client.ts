/**
 * The client end of the control socket: `baton reload|stop|status`. Sends one
 * request line, prints the answers as they arrive, and returns the exit code:
 * 0 done, 1 the reload failed (rolled back) or the master went away, 2 no
 * master / refused request.
 */
import net from 'node:net';
import { oneLine } from './paths.js';
import type { Command, Phase, ReloadResult, Reply, Status } from './types.js';

export interface RunCommandOptions {
  /** Print the master's JSON instead of text: every reply line for reload, the status object for status. */
  json?: boolean;
  /** One line of normal output (default: stdout). */
  out?: (line: string) => void;
  /** One line of error output (default: stderr). */
  err?: (line: string) => void;
  /**
   * Give up when no final answer came within this many ms (0: wait for ever).
   * Default: 10 s for status and stop; none for reload, which the master
   * itself bounds with --ready-timeout and --drain-timeout.
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function runCommand(file: string, cmd: Command, opts: RunCommandOptions = {}): Promise<number> {
  const out = opts.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const err = opts.err ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const json = opts.json === true;
  const timeoutMs = opts.timeoutMs ?? (cmd === 'reload' ? 0 : DEFAULT_TIMEOUT_MS);

  return new Promise<number>((resolve) => {
    let settled = false;
    let connected = false;
    let tailShown = false;
    let doneShown = false;
    let pending = '';
    const sock = net.connect(file);
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            err(`the master at ${oneLine(file)} did not answer within ${formatMs(timeoutMs)}`);
            finish(1);
          }, timeoutMs)
        : undefined;

    function finish(code: number): void {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      sock.destroy();
      resolve(code);
    }

    sock.setEncoding('utf8');
    sock.on('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify({ cmd })}\n`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      if (connected) return; // a reset after connecting: 'close' reports it
      const code = e.code ?? e.message;
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        err(`no baton master is running at ${oneLine(file)} (start one with 'baton run', or pass --name/--control)`);
      } else if (code === 'EACCES' || code === 'EPERM') {
        err(`permission denied on the control socket ${oneLine(file)} (${code}); run as the user that started the master, or pass --control`);
      } else {
        err(`cannot connect to the control socket ${oneLine(file)} (${code}); pass --name/--control to choose another master`);
      }
      finish(2);
    });
    sock.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while (!settled && (nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') onLine(line);
      }
    });
    sock.on('end', () => {
      if (!settled && pending.trim() !== '') onLine(pending);
      pending = '';
    });
    sock.on('close', () => {
      if (settled) return;
      err('the master closed the connection before answering (did it stop?)');
      finish(1);
    });

    function onLine(line: string): void {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
        if (typeof reply !== 'object' || reply === null || typeof reply.type !== 'string') throw new Error('no type');
      } catch {
        err(`unexpected answer from the master: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
        finish(1);
        return;
      }
      switch (reply.type) {
        case 'phase': {
          if (json) out(line);
          else {
            for (const l of formatPhase(reply.data)) out(l);
            if (reply.data.phase === 'rollback' && reply.data.stderrTail) tailShown = true;
            if (reply.data.phase === 'done') doneShown = true;
          }
          return;
        }
        case 'reload': {
          const result: ReloadResult = reply.data;
          if (json) out(line);
          else if (result.ok) {
            if (!doneShown) out(`done: generation ${result.generation} serving, reload took ${result.ms} ms`);
          } else {
            err(`reload failed: ${result.reason ?? 'unknown reason'}`);
            if (result.stderrTail && !tailShown) for (const l of tailLines(result.stderrTail)) err(l);
          }
          finish(result.ok ? 0 : 1);
          return;
        }
        case 'status': {
          if (json) out(JSON.stringify(reply.data));
          else for (const l of formatStatus(reply.data)) out(l);
          finish(0);
          return;
        }
        case 'stopping': {
          out(json ? line : 'stopping');
          finish(0);
          return;
        }
        case 'error': {
          err(String(reply.message));
          finish(2);
          return;
        }
        default:
          return; // a newer master's line this client does not know: skip it
      }
    }
  });
}

const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

/** The human lines for one reload phase. */
export function formatPhase(p: Phase): string[] {
  switch (p.phase) {
    case 'spawned':
      return [`spawned generation ${p.generation}: ${plural(p.pids.length, 'pid', 'pids')} ${p.pids.join(', ')}`];
    case 'ready':
      return [`generation ${p.generation} ready after ${p.ms} ms`];
    case 'draining':
      return [`draining generation ${p.generation} (${p.connections} open ${plural(p.connections, 'connection', 'connections')})`];
    case 'done':
      return [`done: generation ${p.generation} serving, reload took ${p.ms} ms`];
    case 'queued':
      return [`queued: ${p.reason}`];
    case 'rollback':
      return [`rollback: generation ${p.generation} failed: ${p.reason}`, ...tailLines(p.stderrTail)];
    default:
      return [JSON.stringify(p)];
  }
}

function tailLines(tail: string | undefined): string[] {
  if (!tail) return [];
  return tail.replace(/\n+$/, '').split('\n').map((l) => `  | ${l.replace(/\r$/, '')}`);
}

/** `850 ms`, `12s`, `3m 12s`, `2h 5m`, `3d 4h`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const mib = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 1048576).toFixed(1)} MiB`);

/** Pads columns to their widest cell. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** How many past reloads `baton status` shows. */
const RELOADS_SHOWN = 5;

/** The human `baton status` text. */
export function formatStatus(s: Status): string[] {
  const lines = table([
    ['name', s.name],
    ['master', `pid ${s.masterPid}, up ${formatMs(s.uptimeMs)}`],
    ['generation', String(s.generation)],
    ['listeners', s.listeners.length === 0 ? '(none yet)' : s.listeners.join(', ')],
    ['workers', s.workers.length === 0 ? '(none)' : String(s.workers.length)],
  ]);
  if (s.workers.length > 0) {
    const rows = s.workers.map((w) => [String(w.pid), String(w.generation), w.state, formatMs(w.uptimeMs), mib(w.rssBytes)]);
    lines.push(...table([['PID', 'GEN', 'STATE', 'UPTIME', 'RSS'], ...rows]).map((l) => `  ${l}`));
  }
  const recent = s.reloads.slice(-RELOADS_SHOWN);
  if (recent.length === 0) {
    lines.push('reloads     none yet');
  } else {
    lines.push(`last ${plural(recent.length, 'reload', `${recent.length} reloads`)}`);
    const reasons = recent.some((r) => !r.ok);
    const rows = recent.map((r) => {
      const row = [String(r.generation), r.ok ? 'ok' : 'failed', `${r.ms} ms`, r.at];
      return reasons ? [...row, r.ok ? '' : (r.reason ?? '')] : row;
    });
    const head = ['GEN', 'RESULT', 'TIME', 'AT', ...(reasons ? ['REASON'] : [])];
    lines.push(...table([head, ...rows]).map((l) => `  ${l}`));
  }
  return lines;
}
