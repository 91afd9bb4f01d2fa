/**
 * The node binary a generation runs on (`--node PATH`, `baton reload --node
 * PATH`), checked before anything starts: it exists, may be run, and is a
 * Node.js baton supports. Its version is asked once per path and file (a
 * binary replaced in place is asked again), synchronously: a few tens of ms,
 * once, at a start or a reload, never on the way of a request.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { quote } from '../protocol/quote.js';

export const MIN_NODE_MAJOR = 20;

const known = new Map<string, { stamp: string; version: string }>();

/** `file`'s version, where it has one (status, phases: it was checked before it was started). */
export function versionOf(file: string): string | undefined {
  const v = nodeVersion(file);
  return 'version' in v ? v.version : undefined;
}

/** `file`'s version (`v24.11.0`), or one line saying why it cannot run the workers. */
export function nodeVersion(file: string): { version: string } | { error: string } {
  const what = quote(file);
  if (!path.isAbsolute(file)) return { error: `node ${what} is not an absolute path` };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    fs.accessSync(file, fs.constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      error:
        code === 'ENOENT'
          ? `node ${what} does not exist (give the path of a node binary)`
          : `node ${what} cannot be run (${code}; chmod +x it, or give another)`,
    };
  }
  if (!stat.isFile()) return { error: `node ${what} is not a file (give the path of a node binary)` };
  const stamp = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
  const cached = known.get(file);
  if (cached?.stamp === stamp) return { version: cached.version };
  let out: string;
  try {
    out = execFileSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    const e = err as { status?: number | null; signal?: string | null; code?: string };
    return { error: `node ${what} --version failed (${e.signal ?? e.code ?? `exit ${e.status}`}): not a node binary` };
  }
  const version = out.trim();
  const m = /^v(\d+)\.\d+\.\d+$/.exec(version);
  if (!m) return { error: `node ${what} --version said ${quote(version.slice(0, 40))}: not a node binary` };
  if (Number(m[1]) < MIN_NODE_MAJOR)
    return { error: `node ${what} is Node.js ${version}; baton's workers need ${MIN_NODE_MAJOR} or later` };
  known.set(file, { stamp, version });
  return { version };
}
