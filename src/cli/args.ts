/**
 * The `baton` command line, parsed by hand (no dependency). Every mistake is a
 * UsageError whose one-line message names the input and the fix; the caller
 * prints it and exits 2.
 *
 *   baton run [options] <script> [args...]    everything after <script> is the app's
 *   baton reload|stop|status|releases [--name NAME] [--control PATH] [--json] [--release NAME]
 *   baton help [command] | --help | --version
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { logicalCwd } from '../cwd.js';
import { type Address, nameOf, parseListenSpec } from '../listeners/address.js';
import { HEARTBEAT_MS } from '../protocol/messages.js';
import { quote } from '../protocol/quote.js';
import {
  DEFAULTS, type LogFormat, SUPERVISOR_DEFAULTS, type SupervisorSettings, parseDuration, parseLogFormat, parseReadyTimeout,
} from '../protocol/settings.js';
import { MAX_SOCKET_PATH, oneLine, validateName } from '../control/paths.js';
import { ADMIN_FLAGS, type AdminInput, type AdminOptions, adminOptions } from '../admin/options.js';
import { CURRENT, currentRelease, releasePath } from '../supervisor/releases.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ListenOption {
  /** The user's label for the socket (`web=8080`), passed on as its LISTEN_FDNAMES name. */
  name?: string;
  /** The address as written, without the label: `8080`, `127.0.0.1:8080`, `[::1]:8080`, `/run/app.sock`. */
  spec: string;
  /** The address parsed; a unix path resolved against the working directory. */
  address: Address;
}

export interface RunCommand {
  cmd: 'run';
  workers: number;
  name?: string;
  control?: string;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
  waitReady: boolean;
  closeWebSockets: boolean;
  closeEventStreams: boolean;
  /** Node's module compile cache for the workers, where Node has one (--no-compile-cache: off). */
  compileCache: boolean;
  supervisor: SupervisorSettings;
  listen: ListenOption[];
  nodeArgs: string[];
  /** Absent when not given: the caller falls back to BATON_LOG_FORMAT, then text. */
  logFormat?: LogFormat;
  /** --admin: the admin listener, its token read from --admin-token-file. */
  admin?: AdminOptions;
  /** --releases: the directory of releases, absolute; `current` in it names the one to start. */
  releases?: string;
  /** The script as an absolute path (it exists); with `releases`, a path inside each release (it exists in the current one). */
  script: string;
  /** The app's own arguments, verbatim, even those that look like baton options. */
  args: string[];
}

export type ControlCommandName = 'reload' | 'stop' | 'status' | 'releases';

export interface ControlCommand {
  cmd: ControlCommandName;
  name?: string;
  control?: string;
  json: boolean;
  /** reload --release NAME */
  release?: string;
}

export type HelpTopic = 'run' | ControlCommandName;

export type ParsedCommand =
  | RunCommand
  | ControlCommand
  | { cmd: 'help'; topic?: HelpTopic }
  | { cmd: 'version' };

export const MAX_WORKERS = 1024;

export const HELP = `baton — zero-downtime restarts for Node.js servers

Usage:
  baton run [options] <script> [args...]   run <script> under a master that keeps its sockets open
  baton reload [--name NAME] [--json] [--release NAME]
                                           start new workers on the code on disk, then retire the old ones
  baton stop [--name NAME]                 drain every worker, then stop the master
  baton status [--name NAME] [--json]      generation, workers, listeners, last reloads
  baton releases [--name NAME] [--json]    the releases of a master run with --releases, current and serving
  baton help [command]                     help on one command (e.g. baton help run)

Exit codes: 0 done, 1 reload failed (rolled back: the old workers keep serving), 2 usage error or no master.

Standalone (no supervisor):
  node --import batonjs/register app.js      start the app; its listen() calls become hand-over-able
  kill -USR2 <pid>                         upgrade onto the code on disk, with zero failed requests

Environment (standalone):
  BATON_READY_TIMEOUT=30s    how long a successor may take to become ready before rollback
  BATON_DRAIN_TIMEOUT=30s    how long the old process drains before closing what is left
  BATON_WAIT_READY=1         ready only when the app calls ready() or process.send('ready')
  BATON_CLOSE_WEBSOCKETS=0   leave WebSockets open when draining (default 1: clients are told 1012, service restart)
  BATON_CLOSE_EVENT_STREAMS=0  leave Server-Sent Events streams open when draining (default 1: ended, clients reconnect)
  BATON_UPGRADE_SIGNAL=SIGUSR2, BATON_PID_FILE=path, BATON_LOG_FORMAT=text|json

Options:
  -h, --help      this text
  -v, --version   baton's version`;

export const RUN_HELP = `Usage: baton run [options] <script> [args...]

Starts a master that owns the listening sockets and runs <script> in worker
processes. Everything after <script> is passed to the app unchanged.
Reload with 'baton reload' or SIGHUP/SIGUSR2; stop with 'baton stop' or SIGTERM/SIGINT.

Options:
  -w, --workers N|auto      number of worker processes, 1 to ${MAX_WORKERS}; auto = one per CPU (default 1)
  --name NAME               name of this master, to address it with 'baton reload --name NAME' (default: default)
  --control PATH            control socket path (default: $XDG_RUNTIME_DIR/baton/NAME.sock or <tmp>/baton-<uid>/NAME.sock)
  --ready-timeout DUR       how long a new worker may take to become ready before rollback (default 30s)
  --drain-timeout DUR       how long old workers finish open requests before they are closed (default 30s)
  --wait-ready              a worker is ready only when it calls ready() or process.send('ready')
  --no-close-websockets     leave WebSockets open when a worker drains, for an app that closes them itself
                            (default: clients are told 1012, service restart, as the drain starts)
  --no-close-event-streams  leave Server-Sent Events (text/event-stream) responses open when a worker drains
                            (default: ended as the drain starts; EventSource clients reconnect to the new workers)
  --no-compile-cache        no module compile cache for the workers (default: on with Node 22.1 or later, in
                            a directory beside the control socket, unless NODE_COMPILE_CACHE is set)
  --crash-window DUR        after a reload's workers are ready, how long a crash still rolls the reload back to
                            the previous code (default 3s; 0 = off)
  --max-draining N          old generations that may drain at once; beyond it the oldest is ended (default 3)
  --unresponsive-after DUR  report a worker whose event loop has not answered this long (default 10s; 0 = off)
  --replace-unresponsive    and replace it: a new worker first, then the silent one is killed
  --shutdown-delay DUR      on a stop, report not ready (/readyz 503) and serve on for DUR before draining, so that
                            load balancers stop sending first (default 0); a second stop request drains at once
  --listen [NAME=]ADDR      bind ADDR in the master before the workers start (PORT, HOST:PORT, [IPv6]:PORT,
                            or a unix socket path starting with / or ./); repeatable
  --node-args "ARGS"        options for node in each worker, e.g. --node-args "--max-old-space-size=512"
  --log-format text|json    format of baton's own log lines on stderr (default text, or $BATON_LOG_FORMAT)
  --admin [HOST:]PORT       serve the admin HTTP API, probes and metrics there (default host 127.0.0.1; off by default)
  --admin-token-file FILE   the API's bearer token, read from FILE (mode 600); required off loopback
  --admin-metrics-public    /metrics answers without the token
  --releases DIR            DIR holds one directory per release and a link DIR/current to the one to run; <script>
                            is then a path inside a release (e.g. server.js); baton reload --release NAME starts
                            DIR/NAME and points current at it once it serves
  -h, --help                this text

Durations: 500ms, 2s, 1m, or plain milliseconds. Both '--opt value' and '--opt=value' work.`;

export const CONTROL_HELP = `Usage:
  baton reload   [--name NAME] [--control PATH] [--json] [--release NAME]
  baton stop     [--name NAME] [--control PATH]
  baton status   [--name NAME] [--control PATH] [--json]
  baton releases [--name NAME] [--control PATH] [--json]

Talks to a running master over its control socket. Without --name or --control,
the master named default (started without --name) is used, never another one.

Options:
  --name NAME       the master started with 'baton run --name NAME'
  --control PATH    the control socket path given to 'baton run --control PATH'
  --json            print the master's JSON answers instead of text (reload, status, releases)
  --release NAME    reload: start the release DIR/NAME of a master run with --releases DIR (default: the one
                    DIR/current points to); current is pointed at it once it serves, and left as it was on a rollback
  -h, --help        this text

reload prints each phase (spawned, ready, draining, done) as it happens and exits
0 when the new generation serves, 1 when it was rolled back (with the reason and
the tail of the failed worker's stderr; a worker that crashes within the master's
--crash-window after it was ready rolls it back too), 2 when no master answers.
It answers once the crash window has passed and the old generation is gone.`;

/** The help text for a topic (none: the overview). */
export function helpText(topic?: HelpTopic): string {
  if (topic === undefined) return HELP;
  return topic === 'run' ? RUN_HELP : CONTROL_HELP;
}

const CONTROL_COMMANDS: readonly ControlCommandName[] = ['reload', 'stop', 'status', 'releases'];

/**
 * Parses the arguments after `baton` (process.argv.slice(2)). `cwd` resolves
 * the script and unix --listen paths (default: the logical working directory,
 * $PWD when it is the cwd, so `current -> releases/vN` stays a link).
 */
export function parseArgs(argv: readonly string[], options: { cwd?: string } = {}): ParsedCommand {
  const cwd = options.cwd ?? logicalCwd();
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help') return { cmd: 'help' };
  if (first === '-v' || first === '--version' || first === 'version') return { cmd: 'version' };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { cmd: 'help' };
    if (topic === 'run' || (CONTROL_COMMANDS as readonly string[]).includes(topic)) {
      return { cmd: 'help', topic: topic as HelpTopic };
    }
    throw new UsageError(`no help on ${quote(topic)} (commands: run, reload, stop, status, releases; see baton --help)`);
  }
  if (first === 'run') return parseRun(rest, cwd);
  if ((CONTROL_COMMANDS as readonly string[]).includes(first)) return parseControl(first as ControlCommandName, rest);
  if (first.startsWith('-')) throw new UsageError(`unknown option ${quote(first)} (see baton --help)`);
  if (/\.(c|m)?[jt]s$/.test(first) || fs.existsSync(path.resolve(cwd, first))) {
    throw new UsageError(`unknown command ${quote(first)} (to run a script: baton run ${oneLine(first)}; see baton --help)`);
  }
  throw new UsageError(`unknown command ${quote(first)} (commands: run, reload, stop, status, releases, help; see baton --help)`);
}

interface OptionSpec {
  /** The canonical long name, used in messages. */
  long: string;
  value: boolean;
  /** An example value for "needs a value" messages. */
  example?: string;
  /** The value may itself start with '-' (--node-args "--inspect"). */
  dashValue?: boolean;
  /**
   * The value is a number (a count, a duration, a port): a negative one
   * (-w -1) is read as the value, to be refused as such, since no option
   * looks like a number.
   */
  numeric?: boolean;
}

function lookup(table: readonly OptionSpec[], aliases: Record<string, string>, flag: string): OptionSpec | undefined {
  const long = aliases[flag] ?? flag;
  return table.find((o) => o.long === long);
}

const RUN_OPTIONS: readonly OptionSpec[] = [
  { long: '--workers', value: true, example: '4', numeric: true },
  { long: '--name', value: true, example: 'api' },
  { long: '--control', value: true, example: '/run/app/baton.sock' },
  { long: '--ready-timeout', value: true, example: '30s', numeric: true },
  { long: '--drain-timeout', value: true, example: '30s', numeric: true },
  { long: '--wait-ready', value: false },
  { long: '--no-close-websockets', value: false },
  { long: '--no-close-event-streams', value: false },
  { long: '--no-compile-cache', value: false },
  { long: '--crash-window', value: true, example: '3s', numeric: true },
  { long: '--max-draining', value: true, example: '3', numeric: true },
  { long: '--unresponsive-after', value: true, example: '10s', numeric: true },
  { long: '--replace-unresponsive', value: false },
  { long: '--shutdown-delay', value: true, example: '5s', numeric: true },
  { long: '--listen', value: true, example: '8080', numeric: true },
  { long: '--node-args', value: true, example: '"--max-old-space-size=512"', dashValue: true },
  { long: '--log-format', value: true, example: 'json' },
  { long: '--admin', value: true, example: '127.0.0.1:9090', numeric: true },
  { long: '--admin-token-file', value: true, example: '/etc/baton/token' },
  { long: '--admin-metrics-public', value: false },
  { long: '--releases', value: true, example: '/srv/app/releases' },
  { long: '--help', value: false },
];
const RUN_ALIASES: Record<string, string> = { '-w': '--workers', '-h': '--help' };

const CONTROL_OPTIONS: readonly OptionSpec[] = [
  { long: '--name', value: true, example: 'api' },
  { long: '--control', value: true, example: '/run/app/baton.sock' },
  { long: '--json', value: false },
  { long: '--release', value: true, example: 'v2' },
  { long: '--help', value: false },
];
/** The options each control command takes beyond --name, --control and --help. */
const CONTROL_EXTRAS: Record<ControlCommandName, readonly string[]> = {
  reload: ['--json', '--release'], stop: [], status: ['--json'], releases: ['--json'],
};
const CONTROL_ALIASES: Record<string, string> = { '-h': '--help' };

/**
 * Reads the options before the first positional argument. `onOption` receives
 * each one; returns the index of the first argument that is not an option
 * (after a `--`, the one following it).
 */
function readOptions(
  argv: readonly string[],
  table: readonly OptionSpec[],
  aliases: Record<string, string>,
  seeHelp: string,
  onOption: (spec: OptionSpec, value: string | undefined, written: string) => boolean | void,
): number {
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') return i + 1;
    if (!arg.startsWith('-') || arg === '-') return i;
    let flag = arg;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 2) {
        flag = arg.slice(0, eq);
        inline = arg.slice(eq + 1);
      }
    } else if (arg.length > 2) {
      // -w4 or -w=4; a short flag with anything attached is unknown.
      const short = lookup(table, aliases, arg.slice(0, 2));
      if (short?.value) {
        flag = arg.slice(0, 2);
        inline = arg.slice(2).replace(/^=/, '');
      }
    }
    const spec = lookup(table, aliases, flag);
    if (!spec) throw new UsageError(`unknown option ${quote(flag)} (${seeHelp})`);
    let value: string | undefined;
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`option ${quote(flag)} takes no value, got ${quote(arg)} (${seeHelp})`);
    } else if (inline !== undefined) {
      value = inline;
    } else {
      value = argv[i + 1];
      const nextOption = value !== undefined && value.startsWith('-') && value.length > 1
        && !spec.dashValue && !(spec.numeric && /^-\.?\d/.test(value));
      if (value === undefined || nextOption) {
        throw new UsageError(`option ${quote(flag)} needs a value (e.g. ${spec.long} ${spec.example ?? 'VALUE'})`);
      }
      i += 1;
    }
    if (spec.value && value === '' && !spec.dashValue) {
      throw new UsageError(`option ${quote(flag)} needs a value, got an empty one (e.g. ${spec.long} ${spec.example ?? 'VALUE'})`);
    }
    if (onOption(spec, value, flag) === true) return -1;
    i += 1;
  }
  return i;
}

/** `baton run` with no option given. */
function runDefaults(): Omit<RunCommand, 'script' | 'args'> {
  return {
    cmd: 'run',
    workers: 1,
    readyTimeoutMs: DEFAULTS.readyTimeoutMs,
    drainTimeoutMs: DEFAULTS.drainTimeoutMs,
    waitReady: false,
    closeWebSockets: DEFAULTS.closeWebSockets,
    closeEventStreams: DEFAULTS.closeEventStreams,
    compileCache: true,
    supervisor: { ...SUPERVISOR_DEFAULTS },
    listen: [],
    nodeArgs: [],
  };
}

function parseRun(argv: readonly string[], cwd: string): RunCommand | { cmd: 'help'; topic: 'run' } {
  const run = runDefaults();
  const admin: AdminInput = { metricsPublic: false };
  const at = readOptions(argv, RUN_OPTIONS, RUN_ALIASES, 'see baton run --help', (spec, value) => {
    const v = value ?? '';
    switch (spec.long) {
      case '--help':
        return true;
      case '--workers':
        run.workers = parseWorkers(v);
        break;
      case '--name':
        run.name = parseName(v);
        break;
      case '--control':
        run.control = v;
        break;
      case '--ready-timeout':
        run.readyTimeoutMs = usage(parseReadyTimeout, v, spec.long);
        break;
      case '--drain-timeout':
        run.drainTimeoutMs = usage(parseDuration, v, spec.long);
        break;
      case '--wait-ready':
        run.waitReady = true;
        break;
      case '--no-close-websockets':
      case '--no-close-event-streams':
        run[spec.long === '--no-close-websockets' ? 'closeWebSockets' : 'closeEventStreams'] = false;
        break;
      case '--no-compile-cache':
        run.compileCache = false;
        break;
      case '--listen':
        run.listen.push(parseListen(v, cwd, run.listen));
        break;
      case '--node-args':
        run.nodeArgs.push(...v.split(/\s+/).filter((a) => a !== ''));
        break;
      case '--log-format':
        run.logFormat = usage(parseLogFormat, v, spec.long);
        break;
      case '--releases':
        run.releases = path.resolve(cwd, v);
        break;
      default:
        if (!readAdminOption(spec.long, v, admin)) readSupervisorOption(spec.long, v, run.supervisor);
    }
    return false;
  });
  if (at === -1) return { cmd: 'help', topic: 'run' };
  const adminListener = usage(() => adminOptions(admin, ADMIN_FLAGS), '');
  if (adminListener) run.admin = adminListener;
  const script = argv[at];
  if (script === undefined || script === '') {
    throw new UsageError('missing the script to run (baton run [options] <script> [args...], e.g. baton run server.js)');
  }
  if (run.releases === undefined) return { ...run, script: resolveScript(script, cwd), args: argv.slice(at + 1) };
  return { ...run, script: scriptInRelease(script, run.releases), args: argv.slice(at + 1) };
}

/**
 * With --releases, the script is named inside a release: it must be found in
 * the one `current` points to, which the master starts first.
 */
function scriptInRelease(script: string, dir: string): string {
  if (path.isAbsolute(script) || path.normalize(script).split(path.sep)[0] === '..') {
    throw new UsageError(`script ${quote(script)} is not inside a release: with --releases, give its path in each release (e.g. server.js)`);
  }
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--releases ${quote(dir)} is not a directory (give the directory that holds one directory per release)`);
  }
  const release = usage((d) => releasePath(d, currentRelease(d)), dir);
  if (!fs.statSync(path.join(release, script), { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`script ${quote(script)} is not a file in ${release}, the release ${path.join(dir, CURRENT)} points to (give the entry file's path inside a release)`);
  }
  return script;
}

/** Reads an --admin* option into `into`; false for any other option. */
function readAdminOption(long: string, v: string, into: AdminInput): boolean {
  if (long === ADMIN_FLAGS.address) into.address = v;
  else if (long === ADMIN_FLAGS.tokenFile) into.tokenFile = v;
  else if (long === ADMIN_FLAGS.metricsPublic) into.metricsPublic = true;
  else return false;
  return true;
}

/** Entry files a directory given as the script is likely to hold, for the example in the error. */
const ENTRY_FILES = ['index.js', 'index.mjs', 'index.cjs', 'server.js', 'app.js', 'main.js'];

/** The script as an absolute path; refused unless it is a file (node cannot --import a directory). */
function resolveScript(script: string, cwd: string): string {
  const resolved = path.resolve(cwd, script);
  let isDir: boolean;
  try {
    isDir = fs.statSync(resolved).isDirectory();
  } catch {
    throw new UsageError(`script ${quote(script)} not found (give the path to your server's entry file)`);
  }
  if (isDir) {
    const entry = ENTRY_FILES.find((f) => fs.existsSync(path.join(resolved, f))) ?? 'server.js';
    throw new UsageError(`script ${quote(script)} is a directory (give the server's entry file in it, e.g. baton run ${oneLine(path.join(script, entry))})`);
  }
  return resolved;
}

function parseControl(cmd: ControlCommandName, argv: readonly string[]): ControlCommand | { cmd: 'help'; topic: HelpTopic } {
  const parsed: ControlCommand = { cmd, json: false };
  const seeHelp = `see baton ${cmd} --help`;
  const table = CONTROL_OPTIONS.filter((o) => ['--name', '--control', '--help', ...CONTROL_EXTRAS[cmd]].includes(o.long));
  const at = readOptions(argv, table, CONTROL_ALIASES, seeHelp, (spec, value) => {
    switch (spec.long) {
      case '--help':
        return true;
      case '--name':
        parsed.name = parseName(value ?? '');
        break;
      case '--control':
        parsed.control = value;
        break;
      case '--json':
        parsed.json = true;
        break;
      case '--release':
        parsed.release = value;
        break;
    }
    return false;
  });
  if (at === -1) return { cmd: 'help', topic: cmd };
  if (at < argv.length) {
    throw new UsageError(`unexpected argument ${quote(argv[at])} (baton ${cmd} takes only options; ${seeHelp})`);
  }
  return parsed;
}

function parseWorkers(v: string): number {
  if (v === 'auto') {
    const cpus = os.availableParallelism?.() ?? os.cpus().length;
    return Math.min(Math.max(cpus, 1), MAX_WORKERS);
  }
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(`--workers: ${quote(v)} is not a worker count (use a whole number from 1 to ${MAX_WORKERS}, or auto)`);
  }
  return n;
}

/** The options of the master's own rules: the crash window, draining generations, silent workers, the shutdown delay. */
function readSupervisorOption(long: string, v: string, into: SupervisorSettings): void {
  switch (long) {
    case '--crash-window':
      into.crashWindowMs = usage(parseDuration, v, long);
      break;
    case '--max-draining':
      into.maxDraining = parseMaxDraining(v);
      break;
    case '--unresponsive-after':
      into.unresponsiveMs = parseUnresponsive(v);
      break;
    case '--replace-unresponsive':
      into.replaceUnresponsive = true;
      break;
    case '--shutdown-delay':
      into.shutdownDelayMs = usage(parseDuration, v, long);
      break;
  }
}

function parseMaxDraining(v: string): number {
  const n = /^\d{1,4}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) {
    throw new UsageError(`--max-draining: ${quote(v)} is not a count of generations (use a whole number from 1 to ${MAX_WORKERS})`);
  }
  return n;
}

/** Shorter than a few heartbeats, a busy moment would read as a frozen worker. */
function parseUnresponsive(v: string): number {
  const ms = usage(parseDuration, v, '--unresponsive-after');
  const least = 3 * HEARTBEAT_MS;
  if (ms !== 0 && ms < least) {
    throw new UsageError(`--unresponsive-after: ${quote(v)} is shorter than 3 heartbeats (give at least ${least / 1000}s, or 0 to turn it off)`);
  }
  return ms;
}

function parseName(v: string): string {
  return usage(validateName, v);
}

/** A parser's one-line error, as a usage error. */
function usage<T>(parse: (v: string, what: string) => T, v: string, what = ''): T {
  try {
    return parse(v, what);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const LISTEN_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/**
 * `--listen [NAME=]ADDR`. Earlier options are passed to refuse a name or an
 * address given twice.
 */
export function parseListen(value: string, cwd: string = logicalCwd(), earlier: readonly ListenOption[] = []): ListenOption {
  const bad = (why: string): UsageError =>
    new UsageError(
      `--listen: ${quote(value)} ${why} (use PORT, HOST:PORT, [IPv6]:PORT or a unix socket path starting with / or ./, optionally as NAME=ADDR)`,
    );
  let name: string | undefined;
  let spec = value;
  const eq = value.indexOf('=');
  if (eq === 0) throw bad('has an empty name');
  if (eq > 0 && !/^\.{0,2}\//.test(value)) {
    name = value.slice(0, eq);
    spec = value.slice(eq + 1);
    if (!LISTEN_NAME.test(name)) throw bad(`has an invalid name ${quote(name)} (a letter, then up to 63 letters, digits, '.', '_' or '-')`);
  }
  if (spec === '') throw bad('has no address');

  const port = (p: string): number => {
    const n = /^\d{1,5}$/.test(p) ? Number(p) : NaN;
    if (!(n >= 1 && n <= 65535)) throw bad(`has no valid port (${quote(p)}: use 1 to 65535)`);
    return n;
  };

  // Diagnose what is wrong; the address itself comes from listeners/ so the
  // master reads it exactly as the CLI checked it.
  let m: RegExpExecArray | null;
  if (/^\.{0,2}\//.test(spec)) {
    if (Buffer.byteLength(path.resolve(cwd, spec)) > MAX_SOCKET_PATH) {
      throw bad(`is too long for a unix socket path (at most ${MAX_SOCKET_PATH} bytes)`);
    }
  } else if (/^\d+$/.test(spec)) {
    port(spec);
  } else if ((m = /^\[([^\]]*)\]:([^:]*)$/.exec(spec))) {
    if (!net.isIPv6(m[1]!)) throw bad(`has ${quote(m[1])} in brackets, which is not an IPv6 address`);
    port(m[2]!);
  } else if ((m = /^([^:[\]]+):([^:]*)$/.exec(spec))) {
    const host = m[1]!;
    if (!net.isIPv4(host)) {
      throw bad(
        /^[\d.]+$/.test(host)
          ? `has an invalid IPv4 address ${quote(host)}`
          : `has the host ${quote(host)}, which is not an IP address (listen on 127.0.0.1, [::1], 0.0.0.0 or [::])`,
      );
    }
    port(m[2]!);
  } else if (spec.split(':').length > 2 && !spec.startsWith('[')) {
    throw bad('looks like an IPv6 address without brackets (write it as [::1]:8080)');
  } else {
    throw bad('is not an address');
  }
  const address = parseListenSpec(spec, cwd);
  if (!address) throw bad('is not an address');

  const key = (a: Address): string => nameOf(a);
  for (const e of earlier) {
    if (name !== undefined && e.name === name) throw bad(`reuses the name ${quote(name)}`);
    if (key(e.address) === key(address)) throw bad(`repeats an address already given (${quote(e.spec)})`);
  }
  return name === undefined ? { spec, address } : { name, spec, address };
}
