/**
 * Node's module compile cache for the workers (Node 22.1 and later): V8's
 * compiled code for every module a worker loads, kept on disk, so that each
 * new generation compiles only the modules that changed, not the framework
 * under them. It lives beside the control socket, in a directory private to
 * the user: cached code is run as it is, so nobody else may write it.
 */
import type { Env } from '../protocol/settings.js';

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
