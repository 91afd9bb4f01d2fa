/**
 * `baton run`'s config file: `--config FILE`, or the one baton.config.json,
 * .mjs or .js in the working directory. Every run option by its key (the
 * table's, src/cli/options.ts), plus `script` and `args`; a file that exports
 * `apps` is PM2's ecosystem file, read by ecosystem.ts instead. Values are read here and
 * parsed by the table, so each is checked as its flag is; every error is one
 * line naming the file, the key and the fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Env } from '../protocol/settings.js';
import { quote } from '../protocol/quote.js';
import { RUN_OPTIONS, UsageError } from './options.js';

export const CONFIG_NAMES = ['baton.config.json', 'baton.config.mjs', 'baton.config.js'];

/** What a config file gives, keyed as the option table is, its values as written. */
export interface FileConfig {
  /** How sources and errors name it: `baton.config.json`, `ecosystem.config.js (app api)`. */
  label: string;
  /** Where its relative paths start. */
  base: string;
  values: Record<string, unknown>;
  script?: string;
  args?: string[];
  /** The app's working directory (an ecosystem file's `cwd`). */
  cwd?: string;
  /** Added to the workers' environment. */
  env?: Env;
  /** Said as the master starts: what the file holds that baton does not use. */
  warnings: string[];
}

/** What picks within an ecosystem file: `--only NAME`, `--env NAME`. */
export interface Pick {
  only?: string;
  env?: string;
}

/** The config file in `dir` by its conventional name, if there is one; two are refused. */
export function findConfig(dir: string): string | undefined {
  const found = CONFIG_NAMES.filter((n) => fs.existsSync(path.join(dir, n)));
  if (found.length > 1) {
    throw new UsageError(`both ${found.join(' and ')} are in ${dir}: keep one, or name one with --config FILE`);
  }
  return found[0] && path.join(dir, found[0]);
}

/** What a config file exports: an object, of baton's options or PM2's `apps`. */
export async function readConfig(file: string): Promise<Record<string, unknown>> {
  const exported = await read(file);
  if (typeof exported !== 'object' || exported === null || Array.isArray(exported)) {
    throw new UsageError(
      `${path.basename(file)}: exports ${describe(exported)}, not an object of options (e.g. { "workers": 4 })`,
    );
  }
  return exported as Record<string, unknown>;
}

/** A baton config object: the table's keys, `script`, `args`, and `$schema` for editors. */
export function fromConfigObject(o: Record<string, unknown>, file: string, pick: Pick): FileConfig {
  const label = path.basename(file);
  for (const flag of ['only', 'env'] as const) {
    if (pick[flag] !== undefined)
      throw new UsageError(`--${flag} is for PM2's ecosystem files, and ${label} has no apps`);
  }
  const { $schema: _schema, script, args, ...values } = o;
  for (const key of Object.keys(values)) {
    if (!RUN_OPTIONS.some((d) => d.key === key))
      throw new UsageError(`${label}: unknown key ${quote(key)}${suggest(key)} (see baton help run)`);
  }
  if (script !== undefined && typeof script !== 'string')
    throw new UsageError(`${label}: script must be a string, the app's entry file (e.g. "server.js")`);
  if (args !== undefined && !(Array.isArray(args) && args.every((a) => typeof a === 'string'))) {
    throw new UsageError(
      `${label}: args must be an array of strings, the app's own arguments (e.g. ["--port", "8080"])`,
    );
  }
  return { label, base: path.dirname(file), values, script, args: args as string[] | undefined, warnings: [] };
}

async function read(file: string): Promise<unknown> {
  const label = path.basename(file);
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile())
    throw new UsageError(`--config ${quote(file)}: no such file`);
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`${label}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (!/\.(c|m)?js$/.test(file)) throw new UsageError(`--config ${quote(file)}: give a .json, .mjs, .cjs or .js file`);
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    return mod.default ?? mod;
  } catch (err) {
    throw new UsageError(`${label}: could not be loaded (${(err as Error).message.split('\n')[0]})`);
  }
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** ` (did you mean drainTimeout?)` for a key one or two edits from a real one. */
export function suggest(key: string): string {
  const near = RUN_OPTIONS.map((d) => d.key).find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return near ? ` (did you mean ${near}?)` : '';
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
