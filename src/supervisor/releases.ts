/**
 * A directory of releases (`baton run --releases DIR`): each direct
 * subdirectory is one, and `DIR/current` is a link to the one to start. A
 * release is only ever named, never given as a path: a name that could reach
 * outside DIR (`..`, `a/b`, `/abs`, a link whose real path is elsewhere) is
 * refused before anything starts. `current` is switched atomically: a new link
 * under a temporary name, renamed over the old one (rename(2)), so there is
 * never a moment without it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type ReleaseList, ReloadRefused } from '../protocol/control.js';
import { quote } from '../protocol/quote.js';
import { identify } from './release-identity.js';

/** The link baton manages in DIR; never a release itself. */
export const CURRENT = 'current';
/** The longest a file name can be (NAME_MAX). */
const MAX_NAME_BYTES = 255;

/** Why `name` cannot name a release, by its spelling alone; undefined when it can. */
function badName(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (path.isAbsolute(name)) return 'is an absolute path';
  if (name.includes('/')) return `holds a '/'`;
  if (name.startsWith('.')) return `starts with '.'`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  if (name === CURRENT) return `is the link baton manages, not a release`;
  return undefined;
}

/** The real path of release `name` of `dir`, or why it is not one (a phrase to follow "release 'v9'"). */
function lookUp(dir: string, name: string): { real: string } | { why: string } {
  const bad = badName(name);
  if (bad) return { why: bad };
  let home: string;
  try {
    home = fs.realpathSync(dir);
  } catch (err) {
    return { why: `cannot be looked up: ${dir} cannot be read (${(err as NodeJS.ErrnoException).code})` };
  }
  let real: string;
  try {
    real = fs.realpathSync(path.join(dir, name));
  } catch {
    return { why: `is not in ${dir}` };
  }
  if (path.dirname(real) !== home) return { why: `links out of ${dir} (to ${real})` };
  if (!fs.statSync(real).isDirectory()) return { why: 'is not a directory' };
  return { real };
}

/**
 * The real path of release `name` of `dir`. Throws ReloadRefused, with one
 * line naming the input and the fix, unless `name` is a directory directly
 * in `dir` whose real path is in `dir` too.
 */
export function releasePath(dir: string, name: string): string {
  const found = lookUp(dir, name);
  if ('why' in found)
    throw new ReloadRefused(
      `release ${quote(name)} ${found.why}: give the name of a directory in ${dir} (baton releases lists them)`,
    );
  return found.real;
}

/**
 * The release `DIR/current` points to. Throws a one-line error naming DIR
 * and the fix when it is missing, not a link, dangling, or leads out of DIR.
 */
export function currentRelease(dir: string): string {
  const link = path.join(dir, CURRENT);
  const fix = `point it at a release: ln -sfn ${names(dir)[0] ?? 'v1'} ${link}`;
  let target: string;
  try {
    target = fs.readlinkSync(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ReloadRefused(`--releases ${dir}: ${link} is missing; ${fix}`);
    if (code === 'EINVAL')
      throw new ReloadRefused(`--releases ${dir}: ${link} is not a link; replace it with one: ${fix}`);
    throw new ReloadRefused(`--releases ${dir}: cannot read ${link} (${code}); ${fix}`);
  }
  const name = path.basename(target);
  let inDir = false;
  try {
    inDir = fs.realpathSync(path.dirname(path.resolve(dir, target))) === fs.realpathSync(dir);
  } catch {
    // a directory on the way is gone: not in DIR
  }
  const found = inDir ? lookUp(dir, name) : { why: `is not in ${dir}` };
  if ('why' in found)
    throw new ReloadRefused(`--releases ${dir}: ${link} points to ${target}, which ${found.why}; ${fix}`);
  return name;
}

/** The names of the releases in `dir`, sorted. */
export function names(dir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((name) => 'real' in lookUp(dir, name)).sort();
}

/** Every release, which one `current` points to and which one serves (`serving`). */
export function listReleases(dir: string, serving: string | null): ReleaseList {
  let current: string | null = null;
  try {
    current = currentRelease(dir);
  } catch {
    // missing or dangling: no release is current
  }
  return {
    dir,
    current,
    serving,
    releases: names(dir).map((name) => ({
      name,
      current: name === current,
      serving: name === serving,
      ...identify(path.join(dir, name)),
    })),
  };
}

/** Points `DIR/current` at release `name` (checked by the caller): a new link, renamed over the old one. */
export function pointCurrent(dir: string, name: string): void {
  const tmp = path.join(dir, `.${CURRENT}.${crypto.randomBytes(4).toString('hex')}`);
  fs.symlinkSync(name, tmp);
  try {
    fs.renameSync(tmp, path.join(dir, CURRENT));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
