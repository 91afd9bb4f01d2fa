/**
 * The harness baton's own end-to-end tests and bench use: start an app under
 * baton (standalone `node --import batonjs/register app.js`, or supervised
 * `baton run -w N app.js`), put load on it, reload it, count failed requests.
 *
 *   const app = startSupervised('app.js', { workers: 2, env: { PORT: '8080' } });
 *   try {
 * const r = await reloadUnderLoad({ app, target: { protocol: 'http', host: '127.0.0.1', port: 8080 }, reloads: 5 });
 *     assert.equal(r.failed, 0);
 *   } finally {
 *     await cleanup(app);
 *   }
 *
 * It patches nothing and needs only node: modules. Every wait is bounded, and
 * the only processes it signals are the ones it started and the ones baton's
 * log lines say those started (successors, workers), by pid.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Status } from '../protocol/control.js';
import { sleep } from '../time.js';
import {
  type Expect,
  get,
  type LoadMode,
  type LoadStats,
  emptyStats,
  mergeStats,
  startLoad,
  type Target,
} from './load.js';

/** baton's `--import` entry point and its command line, located next to this module (in dist/). */
export const registerPath = fileURLToPath(new URL('../register.js', import.meta.url));
export const cliPath = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export { sleep };

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout's error message. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value and returns it; a throw counts as not yet. Throws after `timeoutMs`
 * (default 10 000).
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 1;
  let last: Error | undefined;
  for (let i = 0; i < maxTries && Date.now() < deadline; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err as Error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

/** A TCP port free on `host` right now (the kernel's pick). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Running: a zombie is not. Reads /proc where there is one, else probes with signal 0. */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

// ---------------------------------------------------------------------------
// Following a process's output

/** One of baton's log lines (text or JSON format): who wrote it, and the pids it names. */
export interface BatonLine {
  pid: number;
  level: string;
  /** The message (in text format, with its fields). */
  text: string;
  /** Pids the line names: successor=, worker=, pids=. */
  related: number[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started process whose output is followed. */
export interface Followed {
  readonly child: ChildProcess;
  /** The process and every process baton's log lines said it caused (successors, workers): cleanup() stops them all. */
  readonly pids: Set<number>;
  /** Everything it (and its descendants on the same pipes) wrote, stdout and stderr. */
  output: string;
  readonly exited: Promise<Exit>;
  /** Called with each baton log line as it arrives. */
  readonly watchers: Set<(line: BatonLine) => void>;
}

export interface StandaloneApp extends Followed {
  kind: 'standalone';
  /** The generation serving now: the first pid, then each successor reload() waited for. */
  serving: number;
}

export interface SupervisedApp extends Followed {
  kind: 'supervised';
  /** The master's private control socket, and the temporary directory holding it. */
  control: string;
  dir: string;
}

export type App = StandaloneApp | SupervisedApp;

const TEXT_LINE = /^\S+ baton\[(\d+)\] gen=\d+ (info|warn|error): (.*)$/;
const TEXT_FIELD = / (?:successor|worker|pids)=([\d,]+)(?= |$)/g;
const MAX_PARTIAL = 64 * 1024;

const numbers = (s: string): number[] =>
  s
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

/** Parses one of baton's log lines; anything else (the app's own output) is undefined. */
export function parseBatonLine(line: string): BatonLine | undefined {
  const m = TEXT_LINE.exec(line);
  if (m) {
    // A failed process's stderr quoted in the log ("successor stderr | ...") names no pid of ours.
    const related = m[3].includes(' stderr | ') ? [] : [...m[3].matchAll(TEXT_FIELD)].flatMap((f) => numbers(f[1]));
    return { pid: Number(m[1]), level: m[2], text: m[3], related };
  }
  if (!line.startsWith('{"time"')) return undefined;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.msg !== 'string' || typeof o.gen !== 'number') return undefined;
    const related = [o.successor, o.worker, o.pids].filter((v) => v !== undefined).flatMap((v) => numbers(String(v)));
    return { pid: o.pid, level: String(o.level), text: o.msg, related };
  } catch {
    return undefined;
  }
}

/**
 * Follows a spawned process's output: remembers every pid baton's log lines name, and tells `watchers` of each line.
 */
export function follow(child: ChildProcess): Followed {
  const app: Followed = {
    child,
    pids: new Set(child.pid === undefined ? [] : [child.pid]),
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    watchers: new Set(),
  };
  const onLine = (text: string) => {
    const line = parseBatonLine(text);
    if (!line) return;
    app.pids.add(line.pid);
    for (const pid of line.related) app.pids.add(pid);
    for (const w of [...app.watchers]) w(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      app.output += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > MAX_PARTIAL) partial = '';
      lines.forEach(onLine);
    });
  }
  return app;
}

export interface LineWaitOptions {
  timeoutMs?: number;
  what?: string;
  /** Stops waiting (the promise rejects). */
  signal?: AbortSignal;
}

/** The first baton line for which `match` returns a value, or a timeout error. Subscribe before causing the line. */
export function waitForLine<T>(
  app: Followed,
  match: (line: BatonLine) => T | undefined,
  { timeoutMs = 20_000, what = 'a log line', signal }: LineWaitOptions = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const end = (err: Error | undefined, v?: T) => {
      clearTimeout(timer);
      app.watchers.delete(watch);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(v as T);
    };
    const onAbort = () => end(new Error(`stopped waiting for ${what}`));
    const timer = setTimeout(() => end(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const watch = (line: BatonLine) => {
      const v = match(line);
      if (v !== undefined) end(undefined, v);
    };
    app.watchers.add(watch);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}

// ---------------------------------------------------------------------------
// Starting

export interface StartOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Default: this process's working directory. */
  cwd?: string;
  /** The app's own arguments, after the script. */
  args?: string[];
  /** The node binary (default: this one). */
  node?: string;
}

export interface SupervisedOptions extends StartOptions {
  /** `-w N` (default: baton run's own, 1). */
  workers?: number | 'auto';
  /** More `baton run` options, before the script: ['--ready-timeout', '5s', '--listen', '8080']. */
  options?: string[];
}

function spawnFollowed(node: string, argv: string[], cwd: string | undefined, env: NodeJS.ProcessEnv): Followed {
  return follow(spawn(node, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** `node --import batonjs/register <script> [args]`; the log format is text unless `env` says otherwise. */
export function startStandalone(
  script: string,
  { env = {}, cwd, args = [], node = process.execPath }: StartOptions = {},
): StandaloneApp {
  const f = spawnFollowed(node, ['--import', registerPath, script, ...args], cwd, {
    ...process.env,
    BATON_LOG_FORMAT: 'text',
    ...env,
  });
  return Object.assign(f, { kind: 'standalone' as const, serving: f.child.pid ?? 0 });
}

/** `baton run [options] <script> [args]` with a private control socket. */
export function startSupervised(
  script: string,
  { workers, options = [], args = [], ...rest }: SupervisedOptions = {},
): SupervisedApp {
  const w = workers === undefined ? [] : ['--workers', String(workers)];
  return startRun([...w, ...options, script, ...args], rest);
}

/** `baton run <runArgs>` (options, script, app arguments, as on the command line) with a private control socket. */
export function startRun(
  runArgs: string[],
  { env = {}, cwd, node = process.execPath }: Omit<StartOptions, 'args'> = {},
): SupervisedApp {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-run-'));
  const control = path.join(dir, 'control.sock');
  const f = spawnFollowed(node, [cliPath, 'run', '--control', control, ...runArgs], cwd, { ...process.env, ...env });
  return Object.assign(f, { kind: 'supervised' as const, control, dir });
}

// ---------------------------------------------------------------------------
// The `baton` command line against a supervised app

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `baton <args>` to completion (killed after `timeoutMs`, then code 1). */
export function baton(
  args: string[],
  { timeoutMs = 60_000, cwd }: { timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The master's status; its workers' pids join `app.pids`. */
export async function status(app: SupervisedApp | (Followed & { control: string })): Promise<Status> {
  const r = await baton(['status', '--json', '--control', app.control]);
  if (r.code !== 0) throw new Error(`baton status exited ${r.code}: ${r.stderr}`);
  const s = JSON.parse(r.stdout) as Status;
  for (const w of s.workers) app.pids.add(w.pid);
  return s;
}

/** Waits until exactly `count` workers of the serving generation are ready; their pids, sorted. */
export function readyWorkers(
  app: SupervisedApp | (Followed & { control: string }),
  count: number,
  opts: WaitOptions = {},
): Promise<number[]> {
  return waitFor(
    async () => {
      const s = await status(app);
      const ready = s.workers.filter((w) => w.state === 'ready' && w.generation === s.generation);
      return ready.length === count && ready.map((w) => w.pid).sort((a, b) => a - b);
    },
    { what: `${count} ready workers`, ...opts },
  ) as Promise<number[]>;
}

// ---------------------------------------------------------------------------
// Reloading

export interface UpgradeOptions {
  timeoutMs?: number;
  /** Also wait for `pid` itself to exit (its drain done); default true. */
  untilExit?: boolean;
  /** baton's upgrade signal (default SIGUSR2). */
  signal?: NodeJS.Signals;
}

/**
 * Standalone: signals `pid` to upgrade, waits until its successor is in
 * service (ready and through its crash window: `pid` hands over) and, unless
 * `untilExit` is false, `pid` has exited; returns the successor's
 * pid. Throws, with baton's reason, when the upgrade failed (the old one still serves).
 */
export async function upgrade(
  app: Followed,
  pid: number,
  { timeoutMs = 20_000, untilExit = true, signal = 'SIGUSR2' }: UpgradeOptions = {},
): Promise<number> {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
  const cancel = new AbortController();
  const outcome = waitForLine(
    app,
    (l) => {
      if (l.pid !== pid) return undefined;
      if (l.text.startsWith('handing over') && l.related.length > 0) return { successor: l.related[0] };
      return l.text.startsWith('upgrade failed') ? { failed: l.text } : undefined;
    },
    { timeoutMs, what: `a successor of pid ${pid} to be ready`, signal: cancel.signal },
  );
  try {
    process.kill(pid, signal);
  } catch (err) {
    cancel.abort();
    await outcome.catch(() => {});
    throw err;
  }
  const o = await outcome;
  if ('failed' in o) throw new Error(`pid ${pid}: ${o.failed}`);
  app.pids.add(o.successor);
  if ('serving' in app && app.serving === pid) app.serving = o.successor;
  if (untilExit) await waitFor(() => !alive(pid), { timeoutMs, what: `pid ${pid} to exit after handing over` });
  return o.successor;
}

export interface Reloaded {
  ok: boolean;
  /** `baton reload`'s exit code (standalone: 0 on success, 1 on failure). */
  code: number;
  /** `baton reload`'s stdout and stderr; standalone: the log lines written meanwhile, or the error. */
  output: string;
  ms: number;
  /** Standalone: the successor now serving. */
  pid?: number;
}

/** Reloads the app: standalone, an upgrade of the serving pid (waiting for it to exit); supervised, `baton reload`. */
export async function reload(app: App, { timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<Reloaded> {
  const started = Date.now();
  if (app.kind === 'supervised') {
    const r = await baton(['reload', '--control', app.control], { timeoutMs });
    return { ok: r.code === 0, code: r.code, output: r.stdout + r.stderr, ms: Date.now() - started };
  }
  const mark = app.output.length;
  try {
    const pid = await upgrade(app, app.serving, { timeoutMs });
    return { ok: true, code: 0, output: app.output.slice(mark), ms: Date.now() - started, pid };
  } catch (err) {
    return {
      ok: false,
      code: 1,
      output: `${(err as Error).message}\n${app.output.slice(mark)}`,
      ms: Date.now() - started,
    };
  }
}

export interface ReloadUnderLoadOptions {
  app: App;
  target: Target;
  /** Default 10. */
  reloads?: number;
  /** 'both' (the default) runs a keep-alive load and a connection-per-request load at once. */
  mode?: LoadMode | 'both';
  /** Requests in flight per load (default 16). */
  concurrency?: number;
  /** Load before each reload and after the last (default 250). */
  pauseMs?: number;
  path?: string;
  expect?: Expect;
  /** To wait for the app to answer first (default 10 000), and for each reload (default 60 000). */
  startTimeoutMs?: number;
  reloadTimeoutMs?: number;
}

export interface ReloadUnderLoadResult extends LoadStats {
  /** One per reload done; the first failed one is the last (no reload follows a failure). */
  reloads: Reloaded[];
  /** The counts of each load apart. */
  byMode: Partial<Record<LoadMode, LoadStats>>;
}

/**
 * Waits for `target` to answer, puts load on it, reloads `app` `reloads` times, stops the load: every request counted.
 */
export async function reloadUnderLoad(o: ReloadUnderLoadOptions): Promise<ReloadUnderLoadResult> {
  const { app, target, reloads = 10, mode = 'both', concurrency = 16, pauseMs = 250, path = '/', expect } = o;
  await waitFor(() => get(target, path).then(() => true), {
    timeoutMs: o.startTimeoutMs ?? 10_000,
    what: 'the app to answer',
  });
  const modes: LoadMode[] = mode === 'both' ? ['keepalive', 'close'] : [mode];
  const loads = modes.map((m) => startLoad({ target, mode: m, concurrency, path, expect }));
  const done: Reloaded[] = [];
  try {
    for (let i = 0; i < reloads; i++) {
      await sleep(pauseMs);
      const r = await reload(app, { timeoutMs: o.reloadTimeoutMs });
      done.push(r);
      if (!r.ok) break;
    }
    await sleep(pauseMs);
  } finally {
    for (const l of loads) await l.stop();
  }
  const byMode = Object.fromEntries(modes.map((m, i) => [m, loads[i].stats]));
  const total = loads.reduce((acc, l) => mergeStats(acc, l.stats), emptyStats());
  return { ...total, reloads: done, byMode };
}

// ---------------------------------------------------------------------------
// Cleaning up

/**
 * Kills (SIGKILL) every process the app caused to exist, by pid, waits until
 * none is running, and removes a supervised app's private directory. Returns
 * the pids still running after `timeoutMs` (none, normally).
 */
export async function cleanup(
  app: Followed | App,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<number[]> {
  for (const pid of app.pids) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited in between.
    }
  }
  const survivors = () => [...app.pids].filter(alive);
  await waitFor(() => survivors().length === 0, { timeoutMs, what: "the app's processes to exit" }).catch(() => {});
  if ('kind' in app && app.kind === 'supervised') fs.rmSync(app.dir, { recursive: true, force: true });
  return survivors();
}
