/**
 * PM2's ecosystem file (`module.exports = { apps: [...] }`, CommonJS or ESM),
 * read as a baton config: each field PM2 documents that baton honours becomes
 * the run option that does the same, and every other field is named in one
 * warning line with what to do instead. Several apps need `--only NAME`.
 */
import os from 'node:os';
import path from 'node:path';
import type { Env } from '../protocol/settings.js';
import { quote } from '../protocol/quote.js';
import type { FileConfig, Pick } from './config.js';
import { UsageError } from './options.js';

/** Fields baton does not use, and what to do instead. */
const INSTEAD: Record<string, string> = {
  watch: 'use your deploy tool to run baton reload',
  ignore_watch: 'use your deploy tool to run baton reload',
  watch_options: 'use your deploy tool to run baton reload',
  cron_restart: 'a timer (cron, a systemd timer) running baton reload, or --max-age',
  out_file: 'one file takes stdout and stderr both: log_file, or --log-file',
  error_file: 'one file takes stdout and stderr both: log_file, or --log-file',
  merge_logs: 'one stream already',
  log_date_format: "baton stamps its own lines; the app's are its own",
  time: "baton stamps its own lines; the app's are its own",
  autorestart: 'baton always restarts a crashed worker, with back-off',
  max_restarts: 'baton always restarts a crashed worker, with back-off',
  min_uptime: 'baton always restarts a crashed worker, with back-off',
  restart_delay: 'baton always restarts a crashed worker, with back-off',
  exp_backoff_restart_delay: 'baton always restarts a crashed worker, with back-off',
  source_map_support: 'node_args: "--enable-source-maps"',
  instance_var: 'each worker is told its generation in BATON_GENERATION',
  increment_var: 'not in baton',
};

/** Fields that pick or shape the app, read below. */
const READ = new Set([
  'name',
  'script',
  'args',
  'cwd',
  'instances',
  'exec_mode',
  'node_args',
  'interpreter_args',
  'env',
  'wait_ready',
  'listen_timeout',
  'kill_timeout',
  'max_memory_restart',
  'interpreter',
  'log_file',
  'pid_file',
]);

type App = Record<string, unknown>;

export function fromEcosystem(exported: { apps: unknown }, file: string, pick: Pick): FileConfig {
  const name = path.basename(file);
  const app = chosen(exported.apps, name, pick.only);
  const label = `${name} (app ${typeof app.name === 'string' ? app.name : 1})`;
  const fail = (field: string, fix: string): UsageError => new UsageError(`${label}: ${field} ${fix}`);
  const base = path.resolve(path.dirname(file), str(app.cwd, 'cwd', fail) ?? '.');
  const values: Record<string, unknown> = {};
  if (app.name !== undefined) values.name = str(app.name, 'name', fail);
  if (app.instances !== undefined) values.workers = workers(app.instances, fail);
  const nodeArgs = app.node_args ?? app.interpreter_args;
  if (nodeArgs !== undefined) values.nodeArgs = words(nodeArgs, 'node_args', fail);
  if (app.wait_ready !== undefined) values.waitReady = app.wait_ready;
  if (app.listen_timeout !== undefined) values.readyTimeout = ms(app.listen_timeout, 'listen_timeout', fail);
  if (app.kill_timeout !== undefined) values.drainTimeout = ms(app.kill_timeout, 'kill_timeout', fail);
  // PM2's sizes ('300M', '1G', or bytes) are what --max-memory reads.
  if (app.max_memory_restart !== undefined) values.maxMemory = app.max_memory_restart;
  if (app.log_file !== undefined) values.logFile = str(app.log_file, 'log_file', fail);
  if (app.pid_file !== undefined) values.pidFile = str(app.pid_file, 'pid_file', fail);
  // A path to a node binary is --node; PM2's default, `node`, is the one that runs baton.
  if (app.interpreter !== undefined && app.interpreter !== 'node')
    values.node = str(app.interpreter, 'interpreter', fail);
  const script = str(app.script, 'script', fail);
  if (script === undefined) throw fail('script', 'is missing: give the app\'s entry file (e.g. script: "server.js")');
  const args = app.args === undefined ? undefined : words(app.args, 'args', fail);
  return {
    label,
    base,
    values,
    script,
    args,
    cwd: base,
    env: envOf(app, pick.env, fail),
    warnings: unused(app, label),
  };
}

/** The one app to run: the only one, or the one `--only` names. */
function chosen(apps: unknown, file: string, only: string | undefined): App {
  const list = Array.isArray(apps) ? apps : [apps];
  if (!list.every((a) => typeof a === 'object' && a !== null && !Array.isArray(a))) {
    throw new UsageError(
      `${file}: apps must be a list of objects, each an app (e.g. apps: [{ name: "api", script: "server.js" }])`,
    );
  }
  const names = (list as App[]).map((a, i) => (typeof a.name === 'string' ? a.name : `#${i + 1}`));
  if (only !== undefined) {
    const i = names.indexOf(only);
    if (i < 0) throw new UsageError(`${file}: no app named ${quote(only)} (apps: ${names.join(', ')})`);
    return list[i] as App;
  }
  if (list.length !== 1)
    throw new UsageError(`${file} has ${list.length} apps (${names.join(', ')}): choose one with --only NAME`);
  return list[0] as App;
}

type Fail = (field: string, fix: string) => UsageError;

function str(v: unknown, field: string, fail: Fail): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw fail(field, `must be a string, not ${JSON.stringify(v)}`);
}

/** PM2: 'max' or 0 is one per CPU, -1 one fewer than the CPUs; else a count. */
function workers(v: unknown, fail: Fail): string {
  if (v === 'max' || v === 0 || v === '0') return 'auto';
  if (v === -1 || v === '-1') return String(Math.max(1, os.availableParallelism() - 1));
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  throw fail('instances', `must be a count or "max", not ${JSON.stringify(v)}`);
}

/** PM2's string of words, or a list of them. */
function words(v: unknown, field: string, fail: Fail): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter((w) => w !== '');
  if (Array.isArray(v) && v.every((w) => typeof w === 'string')) return v;
  throw fail(field, `must be a string or a list of strings, not ${JSON.stringify(v)}`);
}

/** PM2's timeouts are milliseconds. */
function ms(v: unknown, field: string, fail: Fail): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return `${v}ms`;
  throw fail(field, `must be a whole number of milliseconds, not ${JSON.stringify(v)}`);
}

/** `env`, then `env_<name>` over it with `--env name`; values as strings, as a process sees them. */
function envOf(app: App, name: string | undefined, fail: Fail): Env {
  const key = name === undefined ? undefined : `env_${name}`;
  if (key !== undefined && app[key] === undefined)
    throw fail(key, `is missing: --env ${name} names an env_${name} in the app`);
  const env: Env = {};
  for (const field of ['env', key]) {
    const v = field === undefined ? undefined : app[field];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(field!, 'must be an object of variables');
    for (const [k, x] of Object.entries(v)) env[k] = typeof x === 'string' ? x : JSON.stringify(x);
  }
  return env;
}

/** One line naming every field baton does not use, each with what to do instead. */
function unused(app: App, label: string): string[] {
  const fields = Object.keys(app).filter((f) => !READ.has(f) && !/^env_/.test(f));
  if (fields.length === 0) return [];
  return [`${label}: baton does not use ${fields.map((f) => (INSTEAD[f] ? `${f} (${INSTEAD[f]})` : f)).join(', ')}`];
}
