/**
 * Node built-ins that only some apps, or some moments, need. The preload runs
 * in every process of every generation, and loading http2, https (with tls and
 * all of crypto), cluster (with child_process and dgram) and dns up front
 * slowed every start for what most apps never use: baton loads one when it
 * first uses it, or looks at one only once the app has loaded it.
 */
import module from 'node:module';

interface Lazy {
  child_process: typeof import('node:child_process');
  cluster: typeof import('node:cluster').default;
  dgram: typeof import('node:dgram');
  dns: typeof import('node:dns');
  http: typeof import('node:http');
  // Only to check an admin certificate: the preload reads the admin options of every standalone process.
  tls: typeof import('node:tls');
  // Read only to describe an error; importing them would cost each start their ESM namespaces (util's loads parseArgs
  // and MIMEType).
  os: typeof import('node:os');
  util: typeof import('node:util');
}

let load: ((id: string) => unknown) | undefined;

/** A built-in, loaded at this first use if nothing has loaded it yet. */
export function builtin<K extends keyof Lazy>(id: K): Lazy[K] {
  // process.getBuiltinModule (Node 20.16) costs nothing to reach; a require function, made at the first call, costs a
  // little.
  load ??=
    typeof process.getBuiltinModule === 'function'
      ? process.getBuiltinModule.bind(process)
      : module.createRequire(import.meta.url);
  return load(`node:${id}`) as Lazy[K];
}

/**
 * A built-in only if Node or the app has loaded it already, so asking costs
 * nothing. process.moduleLoadList, which says so, is undocumented: Node lists
 * each built-in there as it loads it (`NativeModule http`). Without the list
 * the built-in is loaded: slower, never wrong.
 */
export function loaded<K extends keyof Lazy>(id: K): Lazy[K] | undefined {
  const list = moduleLoadList();
  return !list || list.includes(`NativeModule ${id}`) ? builtin(id) : undefined;
}

/**
 * A node:cluster worker is set up by Node itself, which loads cluster before
 * any preload runs: a process where cluster is not loaded is not a worker.
 */
export function isClusterWorker(): boolean {
  return loaded('cluster')?.isWorker === true;
}

/** Start-up check: what is missing of what these functions need, if anything. */
export function checkBuiltins(): string | undefined {
  return moduleLoadList()
    ? undefined
    : 'process.moduleLoadList is gone: baton loads cluster and http to look at them, which slows every start';
}

function moduleLoadList(): readonly string[] | undefined {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return Array.isArray(list) ? list : undefined;
}
