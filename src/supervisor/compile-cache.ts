/**
 * Node's module compile cache for the workers (Node 22.1 and later): V8's
 * compiled code for every module a worker loads, kept on disk, so that each
 * new generation compiles only the modules that changed, not the framework
 * under them. It lives beside the control socket, in a directory private to
 * the user: cached code is run as it is, so nobody else may write it. Beside
 * a --control path in a shared directory (/tmp), another user could have made
 * it first: one that is not this user's alone is refused, never used.
 */
import fs from 'node:fs';
import type { Env } from '../protocol/settings.js';
import { quote } from '../protocol/quote.js';
import { privacyOf } from '../private-dir.js';

/** Node's own variables: the cache's directory, and its switch to turn any cache off. */
const NODE_COMPILE_CACHE = 'NODE_COMPILE_CACHE';
const NODE_DISABLE_COMPILE_CACHE = 'NODE_DISABLE_COMPILE_CACHE';

/** Where a master whose control socket is `controlPath` keeps its workers' cache. */
export function compileCacheDir(controlPath: string): string {
  return `${controlPath.replace(/\.sock$/, '')}.compile-cache`;
}

/** Node 22.1 reads NODE_COMPILE_CACHE; older versions ignore it, so it is not set for them. */
export function nodeHasCompileCache(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 1);
}

/**
 * The variable that turns the cache on in `dir`, unless it is off (`dir`
 * undefined: --no-compile-cache), Node cannot use it, or the environment
 * already decides (a cache of the user's own, or Node's switch off).
 */
export function compileCacheEnv(env: Env, dir: string | undefined): Record<string, string> {
  if (dir === undefined || !nodeHasCompileCache()) return {};
  if (env[NODE_COMPILE_CACHE] !== undefined || env[NODE_DISABLE_COMPILE_CACHE] !== undefined) return {};
  return { [NODE_COMPILE_CACHE]: dir };
}

/**
 * Makes `dir` exist as this user's private directory (0700), or throws a one-line error naming it and the fix when
 * someone else could have written it.
 */
export function prepareCompileCacheDir(dir: string): void {
  const fix = `remove it (baton makes it anew, private), or run with --no-compile-cache`;
  let st: fs.Stats;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new Error(
        `cannot create the compile cache ${quote(dir)} (${(err as NodeJS.ErrnoException).code}); run with --no-compile-cache`,
      );
  }
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    throw new Error(
      `cannot check the compile cache ${quote(dir)} (${(err as NodeJS.ErrnoException).code}); run with --no-compile-cache`,
    );
  }
  const privacy = privacyOf(st);
  if (privacy === 'private') return;
  // Only readable by others (as Node made it before baton did, by the umask): nobody else could have written it.
  if (privacy === 'open' && (st.mode & 0o022) === 0) {
    fs.chmodSync(dir, 0o700);
    return;
  }
  const why =
    typeof privacy === 'object'
      ? `belongs to uid ${privacy.owner}, not to this user`
      : privacy === 'open'
        ? `is writable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`
        : `is a ${privacy === 'link' ? 'symbolic link' : 'file'}, not a directory`;
  throw new Error(`the compile cache ${quote(dir)} ${why}, and its code would run in the workers: ${fix}`);
}
