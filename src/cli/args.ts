/**
 * The `baton` command line, parsed by hand (no dependency). Every mistake is a
 * UsageError whose one-line message names the input and the fix; the caller
 * prints it and exits 2.
 *
 *   baton run [options] <script> [args...]    everything after <script> is the app's
 *   baton reload|stop|status|releases [--name NAME] [--control PATH] [--json] [--release NAME] [--node PATH]
 *     [--canary N [--canary-for DUR]]
 *   baton help [command] | --help | --version
 */
import fs from 'node:fs';
import path from 'node:path';
import { logicalCwd } from '../cwd.js';
import { oneLine, quote } from '../protocol/quote.js';
import { DEFAULTS, ENV, formatDuration } from '../protocol/settings.js';
import { CANARY_FOR_DEFAULT_MS, parseBatch, parseCanary } from '../protocol/control.js';
import { validateName } from '../control/paths.js';
import { EVENTS } from '../control/events.js';
import { LOG_LINES } from '../supervisor/log-lines.js';
import { type OptionDef, RUN_OPTIONS, SOURCE_OPTIONS, UsageError, showValue, usage } from './options.js';
import type { GivenFlag, RunArgs } from './resolve.js';

export { UsageError } from './options.js';

export type ControlCommandName = 'reload' | 'stop' | 'status' | 'releases' | 'events' | 'logs' | 'upgrade';

export interface ControlCommand {
  cmd: ControlCommandName;
  name?: string;
  control?: string;
  json: boolean;
  /** reload --release NAME */
  release?: string;
  /** reload --node PATH, made absolute */
  node?: string;
  /** reload --canary N --canary-for DUR, checked here and sent as written */
  canary?: string;
  canaryFor?: string;
  /** reload --batch N|P% */
  batch?: string;
  /** events -f, logs -f */
  follow?: boolean;
  /** logs --worker PID */
  worker?: number;
  /** logs -n N */
  lines?: number;
}

export type HelpTopic = 'run' | ControlCommandName;

export type ParsedCommand = RunArgs | ControlCommand | { cmd: 'help'; topic?: HelpTopic } | { cmd: 'version' };

/** Where help text wraps, and the column its descriptions start at. */
const WIDTH = 118;
const COLUMN = 28;

/** `  -w, --workers N|auto      number of ... (default 1)`, wrapped under its column. */
function helpLine(head: string, text: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = `  ${head} `.padEnd(COLUMN);
  if (line.length > COLUMN) {
    lines.push(line.trimEnd());
    line = ' '.repeat(COLUMN);
  }
  for (const w of words) {
    if (line.trim() !== '' && line.length + w.length > WIDTH && line.length > COLUMN) {
      lines.push(line.trimEnd());
      line = ' '.repeat(COLUMN);
    }
    line += `${w} `;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

/** How an option reads in help: its flags and value placeholder. */
export function optionHead(d: { flag: string; short?: string; arg?: string }): string {
  return `${d.short ? `${d.short}, ` : ''}${d.flag}${d.arg ? ` ${d.arg}` : ''}`;
}

/** An option's description with its default, unless it says it already (a switch says what it changes). */
export function optionText(d: OptionDef): string {
  const none =
    d.sets !== undefined ||
    (Array.isArray(d.default) && d.default.length === 0) ||
    (d.default === undefined && !d.defaultText);
  if (none || /\(default/.test(d.help)) return d.help;
  return `${d.help} (default ${showValue(d, d.default)})`;
}

/** A standalone process's variables: those of the option table, and the two only it has. */
function standaloneVariables(): string {
  const vars = RUN_OPTIONS.filter((d) => d.env !== undefined).map((d) => {
    const value =
      d.sets !== undefined
        ? d.sets
          ? '1'
          : '0'
        : d.default === undefined
          ? (d.arg ?? 'VALUE')
          : showValue(d, d.default);
    return helpLine(`${d.env}=${value}`, `as ${d.flag}`);
  });
  return [
    ...vars,
    helpLine(`${ENV.upgradeSignal}=${DEFAULTS.upgradeSignal}`, 'the signal that upgrades the process'),
    helpLine(`${ENV.pidFile}=PATH`, 'a file that names the serving pid, rewritten at each hand-over'),
  ].join('\n');
}

const HELP_OPTION = { flag: '--help', short: '-h', help: 'this text' } as const satisfies OptionSpec;

const CONTROL_COMMANDS: readonly ControlCommandName[] = [
  'reload',
  'stop',
  'status',
  'releases',
  'events',
  'logs',
  'upgrade',
];

/** The control commands' options, each with its help. */
const CONTROL_OPTIONS: readonly (OptionSpec & { help: string })[] = [
  { flag: '--name', arg: 'NAME', example: 'api', help: "the master started with 'baton run --name NAME'" },
  {
    flag: '--control',
    arg: 'PATH',
    example: '/run/app/baton.sock',
    help: "the control socket path given to 'baton run --control PATH'",
  },
  { flag: '--json', help: "print the master's JSON answers instead of text (one JSON line per event or log line)" },
  {
    flag: '--release',
    arg: 'NAME',
    example: 'v2',
    help: 'reload: start the release DIR/NAME of a master run with --releases DIR (default: the one DIR/current points to); current is pointed at it once it serves, and left as it was on a rollback',
  },
  {
    flag: '--node',
    arg: 'PATH',
    example: '/opt/node-24/bin/node',
    help: 'reload: run the new generation on this node binary (Node.js 20 or later), and the ones after it; a rollback leaves the workers on the one they run on; upgrade: run the new master on it',
  },
  {
    flag: '--canary',
    arg: 'N',
    example: '1',
    numeric: true,
    help: "reload: start N new workers first, beside all the old ones; after --canary-for, compare their 5xx-or-unanswered share and p99 latency with the old ones' (--max-error-increase, --max-latency-ratio, --min-judged-requests, --unjudged of baton run): then start the rest, or roll the canary back while the old generation serves on",
  },
  {
    flag: '--canary-for',
    arg: 'DUR',
    example: '30s',
    numeric: true,
    help: `reload: how long the canary serves before its verdict (default ${formatDuration(CANARY_FOR_DEFAULT_MS)})`,
  },
  {
    flag: '--batch',
    arg: 'N|P%',
    example: '2',
    numeric: true,
    help: 'reload: start the new generation N workers (or P% of them) at a time, as baton run --batch does',
  },
  {
    flag: '--follow',
    short: '-f',
    help: `events, logs: after those kept (the last ${EVENTS} events; up to ${LOG_LINES} log lines), each as it comes, until interrupted`,
  },
  { flag: '--worker', arg: 'PID', example: '4242', numeric: true, help: "logs: only this worker's lines" },
  {
    flag: '--lines',
    short: '-n',
    arg: 'N',
    example: '50',
    numeric: true,
    help: 'logs: only the newest N of the lines kept (default: all of them)',
  },
  HELP_OPTION,
];
/** The options each control command takes beyond --name, --control and --help. */
const CONTROL_EXTRAS: Record<ControlCommandName, readonly string[]> = {
  reload: ['--json', '--release', '--node', '--canary', '--canary-for', '--batch'],
  stop: [],
  status: ['--json'],
  releases: ['--json'],
  events: ['--json', '--follow'],
  logs: ['--json', '--follow', '--worker', '--lines'],
  upgrade: ['--json', '--node'],
};

export const HELP = `baton — zero-downtime restarts for Node.js servers

Usage:
  baton run [options] <script> [args...]   run <script> under a master that keeps its sockets open
  baton reload [--name NAME] [--json] [--release NAME] [--node PATH] [--canary N [--canary-for DUR]] [--batch N|P%]
                                           start new workers on the code on disk, then retire the old ones
  baton stop [--name NAME]                 drain every worker, then stop the master
  baton status [--name NAME] [--json]      generation, workers, listeners, last reloads
  baton releases [--name NAME] [--json]    the releases of a master run with --releases, current and serving
  baton events [--name NAME] [-f] [--json] the master's timeline: reloads, crashes, replacements, stops
  baton logs [--name NAME] [-f] [--worker PID] [-n N] [--json]
                                           the last lines of a master run with --log-file, its own and its workers'
  baton upgrade [--name NAME] [--node PATH]
                                           replace the master itself with the baton on disk, on the same sockets
  baton help [command]                     help on one command (e.g. baton help run)

Exit codes: 0 done, 1 reload failed (rolled back: the old workers keep serving) or no log lines kept (logs without
--log-file), 2 usage error or no master.

Standalone (no supervisor):
  node --import batonjs/register app.js      start the app; its listen() calls become hand-over-able
  kill -USR2 <pid>                         upgrade onto the code on disk, with zero failed requests

Environment (standalone), each as the \`baton run\` option named:
${standaloneVariables()}

Options:
  -h, --help      this text
  -v, --version   baton's version`;

export const RUN_HELP = `Usage: baton run [options] <script> [args...]

Starts a master that owns the listening sockets and runs <script> in worker
processes. Everything after <script> is passed to the app unchanged.
Reload with 'baton reload' or SIGHUP/SIGUSR2; stop with 'baton stop' or SIGTERM/SIGINT.

Options:
${[...RUN_OPTIONS.map((d) => helpLine(optionHead(d), optionText(d))), ...Object.values(SOURCE_OPTIONS).map((d) => helpLine(optionHead(d), d.help)), helpLine('-h, --help', 'this text')].join('\n')}

Every option is also a key of the config file, named as in \`baton status\` (e.g. drainTimeout); see the README.
Durations: 500ms, 2s, 1m, or plain milliseconds from 1000 (a bare 30 is refused: write 30ms or 30s). Both '--opt value' and '--opt=value' work.`;

export const CONTROL_HELP = `Usage:
${CONTROL_COMMANDS.map((cmd) => controlUsage(cmd)).join('\n')}

Talks to a running master over its control socket. Without --name or --control,
the master named default (started without --name) is used, never another one.

Options:
${CONTROL_OPTIONS.map((o) => helpLine(optionHead(o), o.help)).join('\n')}

reload prints each phase (spawned, ready, draining, done) as it happens and exits
0 when the new generation serves, 1 when it was rolled back (with the reason and
the tail of the failed worker's stderr; a worker that crashes within the master's
--crash-window after it was ready rolls it back too), 2 when no master answers.
It answers once the crash window has passed and the old generation is gone.
logs exits 1 when the master keeps no lines (it was started without --log-file).

upgrade starts a new master from the baton on disk (after an npm install of another version), on the same
options, sockets, admin listener and control socket; once its first generation is in service the old master
drains its workers and exits. It exits 0 with the new master's pid and version, or 1 when the new master
failed (with the tail of its stderr): the old master and its workers serve on. Refused as a container's PID 1.`;

/** `  baton logs     [--name NAME] [--control PATH] [--json] [-f] …`: a control command's options, from the tables. */
function controlUsage(cmd: ControlCommandName): string {
  const extras = CONTROL_OPTIONS.filter((o) => CONTROL_EXTRAS[cmd].includes(o.flag)).map(
    (o) => ` [${o.short ?? o.flag}${o.arg ? ` ${o.arg}` : ''}]`,
  );
  return `  baton ${cmd.padEnd(8)} [--name NAME] [--control PATH]${extras.join('')}`;
}

/** The help text for a topic (none: the overview). */
export function helpText(topic?: HelpTopic): string {
  if (topic === undefined) return HELP;
  return topic === 'run' ? RUN_HELP : CONTROL_HELP;
}

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
    throw new UsageError(
      `no help on ${quote(topic)} (commands: run, reload, stop, status, releases, events, logs, upgrade; see baton --help)`,
    );
  }
  if (first === 'run') return parseRun(rest);
  if ((CONTROL_COMMANDS as readonly string[]).includes(first)) return parseControl(first as ControlCommandName, rest);
  if (first.startsWith('-')) throw new UsageError(`unknown option ${quote(first)} (see baton --help)`);
  if (/\.(c|m)?[jt]s$/.test(first) || fs.existsSync(path.resolve(cwd, first))) {
    throw new UsageError(
      `unknown command ${quote(first)} (to run a script: baton run ${oneLine(first)}; see baton --help)`,
    );
  }
  throw new UsageError(
    `unknown command ${quote(first)} (commands: run, reload, stop, status, releases, events, logs, upgrade, help; see baton --help)`,
  );
}

interface OptionSpec {
  flag: string;
  short?: string;
  /** A value's placeholder; none for a switch. */
  arg?: string;
  example?: string;
  dashValue?: boolean;
  numeric?: boolean;
  /** What it does, for the help (the control commands'; the run options' are in options.ts). */
  help?: string;
}

function lookup<T extends OptionSpec>(table: readonly T[], flag: string): T | undefined {
  return table.find((o) => o.flag === flag || o.short === flag);
}

const RUN_TABLE: readonly OptionSpec[] = [...RUN_OPTIONS, ...Object.values(SOURCE_OPTIONS), HELP_OPTION];

/**
 * Reads the options before the first positional argument. `onOption` receives
 * each one; returns the index of the first argument that is not an option
 * (after a `--`, the one following it), or -1 for --help.
 */
function readOptions<T extends OptionSpec>(
  argv: readonly string[],
  table: readonly T[],
  seeHelp: string,
  onOption: (spec: T, value: string | undefined) => void,
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
    } else if (arg.length > 2 && lookup(table, arg.slice(0, 2))?.arg) {
      // -w4 or -w=4; a short flag with anything attached is unknown.
      flag = arg.slice(0, 2);
      inline = arg.slice(2).replace(/^=/, '');
    }
    const spec = lookup(table, flag);
    if (!spec) throw new UsageError(`unknown option ${quote(flag)} (${seeHelp})`);
    if (spec === HELP_OPTION) return -1;
    const value = spec.arg ? optionValue(spec, flag, inline, argv[i + 1]) : undefined;
    if (!spec.arg && inline !== undefined)
      throw new UsageError(`option ${quote(flag)} takes no value, got ${quote(arg)} (${seeHelp})`);
    if (spec.arg && inline === undefined) i += 1;
    onOption(spec, value);
    i += 1;
  }
  return i;
}

/** The value of an option that takes one: written inline, or the next argument. */
function optionValue(spec: OptionSpec, flag: string, inline: string | undefined, next: string | undefined): string {
  const e = `e.g. ${spec.flag} ${spec.example ?? 'VALUE'}`;
  const value = inline ?? next;
  const isOption =
    inline === undefined &&
    value !== undefined &&
    value.startsWith('-') &&
    value.length > 1 &&
    !spec.dashValue &&
    !(spec.numeric && /^-\.?\d/.test(value));
  if (value === undefined || isOption) throw new UsageError(`option ${quote(flag)} needs a value (${e})`);
  if (value === '' && !spec.dashValue)
    throw new UsageError(`option ${quote(flag)} needs a value, got an empty one (${e})`);
  return value;
}

/** `baton run` as written; resolveRun() turns it into the command, with its config file. */
function parseRun(argv: readonly string[]): RunArgs | { cmd: 'help'; topic: 'run' } {
  const run: RunArgs = { cmd: 'run', flags: [], args: [] };
  const sources: Record<string, keyof typeof SOURCE_OPTIONS> = {
    '--config': 'config',
    '--only': 'only',
    '--env': 'env',
  };
  const at = readOptions(argv, RUN_TABLE, 'see baton run --help', (spec, value) => {
    const source = sources[spec.flag];
    if (source) run[source] = value;
    else run.flags.push({ def: spec as OptionDef, value } satisfies GivenFlag);
  });
  if (at === -1) return { cmd: 'help', topic: 'run' };
  if (at < argv.length) {
    run.script = argv[at];
    run.args = argv.slice(at + 1);
  }
  return run;
}

/** A whole number from 1, or a usage error: `${what}, got VALUE`. */
function count(value: string, what: string): number {
  if (/^\d{1,15}$/.test(value) && Number(value) >= 1) return Number(value);
  throw new UsageError(`${what}, got ${quote(value)}`);
}

function parseControl(
  cmd: ControlCommandName,
  argv: readonly string[],
): ControlCommand | { cmd: 'help'; topic: HelpTopic } {
  const parsed: ControlCommand = { cmd, json: false };
  const seeHelp = `see baton ${cmd} --help`;
  const table = CONTROL_OPTIONS.filter((o) =>
    ['--name', '--control', '--help', ...CONTROL_EXTRAS[cmd]].includes(o.flag),
  );
  const at = readOptions(argv, table, seeHelp, (spec, value) => {
    if (spec.flag === '--name') parsed.name = usage(validateName, value ?? '');
    else if (spec.flag === '--control') parsed.control = value;
    else if (spec.flag === '--json') parsed.json = true;
    else if (spec.flag === '--release') parsed.release = value;
    else if (spec.flag === '--node') parsed.node = path.resolve(value!);
    else if (spec.flag === '--canary') parsed.canary = value;
    else if (spec.flag === '--canary-for') parsed.canaryFor = value;
    else if (spec.flag === '--batch') parsed.batch = value;
    else if (spec.flag === '--follow') parsed.follow = true;
    else if (spec.flag === '--worker') parsed.worker = count(value!, "--worker: a worker's pid (see baton status)");
    else if (spec.flag === '--lines') parsed.lines = count(value!, '-n: how many of the newest lines, from 1');
  });
  if (at === -1) return { cmd: 'help', topic: cmd };
  const canary = parseCanary(parsed.canary, parsed.canaryFor);
  if (canary !== undefined && 'error' in canary) throw new UsageError(canary.error);
  const batch = parsed.batch === undefined ? undefined : parseBatch(parsed.batch);
  if (batch !== undefined && 'error' in batch) throw new UsageError(batch.error);
  if (at < argv.length) {
    throw new UsageError(`unexpected argument ${quote(argv[at])} (baton ${cmd} takes only options; ${seeHelp})`);
  }
  return parsed;
}
