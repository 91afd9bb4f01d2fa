/**
 * `baton run`'s options resolved: the defaults, then the config file's
 * values, then the flags, each parsed by the option table; then the script,
 * the admin listener and the settings the master and its workers get. Every
 * value that is not its default keeps where it came from, for `baton status`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Source } from '../protocol/control.js';
import { type Env, type Settings, type SupervisorSettings, logFormatOf } from '../protocol/settings.js';
import { oneLine, quote } from '../protocol/quote.js';
import { ADMIN_FLAGS, type AdminOptions, adminOptions } from '../admin/options.js';
import { CURRENT, currentRelease, releasePath } from '../supervisor/releases.js';
import { type FileConfig, type Pick, findConfig, fromConfigObject, readConfig } from './config.js';
import { fromEcosystem } from './ecosystem.js';
import {
  type OptionDef,
  RUN_OPTIONS,
  type RunOptions,
  UsageError,
  runDefaults,
  settingsOf,
  showValue,
  supervisorOf,
  usage,
} from './options.js';

/** A flag as given on the command line, its value unparsed. */
export interface GivenFlag {
  def: OptionDef;
  value: string | undefined;
}

/** `baton run` as written: flags, where the rest comes from, the script. */
export interface RunArgs {
  cmd: 'run';
  flags: GivenFlag[];
  config?: string;
  only?: string;
  env?: string;
  script?: string;
  args: string[];
}

export interface RunCommand {
  cmd: 'run';
  /** Every option's value, by its key. */
  options: RunOptions;
  /** What every worker is started with. */
  settings: Settings;
  /** The master's own rules. */
  supervisor: SupervisorSettings;
  /** --admin: the admin listener, its token read. */
  admin?: AdminOptions;
  /**
   * The script as an absolute path (it exists); with --releases, a path inside each release (it exists in the current
   * one).
   */
  script: string;
  /** The app's own arguments, verbatim. */
  args: string[];
  /** The workers' working directory. */
  cwd: string;
  /** Added to the workers' environment (an ecosystem file's env). */
  env: Env;
  /** The config file read, and what it holds that baton does not use. */
  config?: { label: string; warnings: string[] };
  /** Where each value that is not its default came from. */
  sources: Source[];
}

export async function resolveRun(a: RunArgs, cwd: string, env: Env = process.env): Promise<RunCommand> {
  const configFile = a.config === undefined ? findConfig(cwd) : path.resolve(cwd, a.config);
  if (configFile === undefined && (a.only ?? a.env) !== undefined)
    throw new UsageError(`${a.only ? '--only' : '--env'} needs an ecosystem file (--config ecosystem.config.js)`);
  const file = configFile === undefined ? undefined : await loadConfig(configFile, { only: a.only, env: a.env });
  const options = runDefaults();
  const from = new Map<string, string>();
  if (file) applyFile(options, file, from);
  applyFlags(options, a.flags, cwd, from);
  const appCwd = file?.cwd ?? cwd;
  const scriptText = a.script ?? file?.script;
  if (scriptText === undefined || scriptText === '') {
    throw new UsageError(
      'missing the script to run (baton run [options] <script> [args...], e.g. baton run server.js)',
    );
  }
  const scriptBase = a.script === undefined ? file!.base : cwd;
  const script =
    options.releases === undefined
      ? resolveScript(scriptText, scriptBase)
      : scriptInRelease(scriptText, options.releases);
  const admin = usage(
    () =>
      adminOptions(
        {
          address: options.admin,
          tokenFile: options.adminTokenFile,
          metricsPublic: options.adminMetricsPublic,
          tlsCert: options.adminTlsCert,
          tlsKey: options.adminTlsKey,
        },
        ADMIN_FLAGS,
      ),
    '',
  );
  return {
    cmd: 'run',
    options,
    settings: settingsOf(options, options.logFormat ?? logFormatOf(env)),
    supervisor: supervisorOf(options),
    ...(admin ? { admin } : {}),
    script,
    args: a.script === undefined ? (file?.args ?? []) : a.args,
    cwd: appCwd,
    env: file?.env ?? {},
    ...(file ? { config: { label: file.label, warnings: file.warnings } } : {}),
    sources: sourcesOf(options, from),
  };
}

async function loadConfig(file: string, pick: Pick): Promise<FileConfig> {
  const exported = await readConfig(file);
  return 'apps' in exported
    ? fromEcosystem(exported as { apps: unknown }, file, pick)
    : fromConfigObject(exported, file, pick);
}

/** A config file's values, each checked by its option's parser; `what` names the file and the key. */
function applyFile(options: RunOptions, file: FileConfig, from: Map<string, string>): void {
  for (const [key, raw] of Object.entries(file.values)) {
    if (raw === undefined) continue; // a module's `key: undefined` is no value at all, as in JSON
    const def = RUN_OPTIONS.find((d) => d.key === key)!;
    const what = `${file.label}: ${key}`;
    const set = options as unknown as Record<string, unknown>;
    if (def.sets !== undefined) {
      if (typeof raw !== 'boolean') throw new UsageError(`${what} must be true or false, not ${JSON.stringify(raw)}`);
      set[key] = raw;
    } else {
      if (def.list) set[key] = [];
      for (const text of textsOf(def, raw, what)) set[key] = parseAs(def, text, what, file.base, options);
    }
    from.set(key, file.label);
  }
}

/**
 * A value's text, as its flag would be given: a string, a number (a count, a duration's digits), or a list of them for
 * a list option.
 */
function textsOf(def: OptionDef, raw: unknown, what: string): string[] {
  const one = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    throw new UsageError(
      `${what} must be ${def.list ? 'a string or a list of strings' : 'a string or a number'}, not ${JSON.stringify(v)} (e.g. ${JSON.stringify(def.example?.replace(/^"|"$/g, '') ?? 'VALUE')})`,
    );
  };
  return def.list && Array.isArray(raw) ? raw.map(one) : [one(raw)];
}

function applyFlags(options: RunOptions, flags: readonly GivenFlag[], cwd: string, from: Map<string, string>): void {
  const set = options as unknown as Record<string, unknown>;
  const seen = new Set<string>();
  for (const { def, value } of flags) {
    // On the command line a list replaces the file's: its first use starts it anew.
    if (def.list && !seen.has(def.key)) set[def.key] = [];
    seen.add(def.key);
    set[def.key] = def.sets !== undefined ? def.sets : parseAs(def, value ?? '', def.flag, cwd, options);
    from.set(def.key, def.flag);
  }
}

function parseAs(def: OptionDef, text: string, what: string, base: string, sofar: RunOptions): unknown {
  const parse = def.parse ?? ((t: string) => t);
  try {
    return parse(text, { what, base, sofar });
  } catch (err) {
    // Some parsers name their flag: said of a file, the file and key lead instead.
    const message = (err as Error).message;
    throw new UsageError(
      message.startsWith(what) ? message : `${what}: ${message.replace(new RegExp(`^${def.flag}: `), '')}`,
    );
  }
}

function sourcesOf(options: RunOptions, from: Map<string, string>): Source[] {
  const defaults = runDefaults() as unknown as Record<string, unknown>;
  const values = options as unknown as Record<string, unknown>;
  return RUN_OPTIONS.filter(
    (d) => from.has(d.key) && JSON.stringify(values[d.key]) !== JSON.stringify(defaults[d.key]),
  ).map((d) => ({ key: d.key, value: showValue(d, values[d.key]), from: from.get(d.key)! }));
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
    throw new UsageError(
      `script ${quote(script)} is a directory (give the server's entry file in it, e.g. baton run ${oneLine(path.join(script, entry))})`,
    );
  }
  return resolved;
}

/**
 * With --releases, the script is named inside a release: it must be found in
 * the one `current` points to, which the master starts first.
 */
function scriptInRelease(script: string, dir: string): string {
  if (path.isAbsolute(script) || path.normalize(script).split(path.sep)[0] === '..') {
    throw new UsageError(
      `script ${quote(script)} is not inside a release: with --releases, give its path in each release (e.g. server.js)`,
    );
  }
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(
      `--releases ${quote(dir)} is not a directory (give the directory that holds one directory per release)`,
    );
  }
  const release = usage((d) => releasePath(d, currentRelease(d)), dir);
  if (!fs.statSync(path.join(release, script), { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(
      `script ${quote(script)} is not a file in ${release}, the release ${path.join(dir, CURRENT)} points to (give the entry file's path inside a release)`,
    );
  }
  return script;
}
