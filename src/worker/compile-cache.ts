/**
 * Node writes its module compile cache when a process exits. A worker exits
 * only when the generation after it is running, so that generation would
 * start without what the worker compiled: a ready process writes it at once.
 */
import module from 'node:module';

/** The compile cache API of Node 22.10 and later, absent from older types. */
interface CompileCache {
  getCompileCacheDir?: () => string | undefined;
  flushCompileCache?: () => void;
}

export function flushCompileCache(): void {
  const m = module as CompileCache;
  if (m.getCompileCacheDir?.()) m.flushCompileCache?.();
}
