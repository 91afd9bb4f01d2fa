/**
 * State every copy of baton in a process shares. A process always loads two:
 * the preload is bundled into one file (each start then reads one module, not
 * dozens), and the API is the app's import; and `baton run` preloads the
 * master's install while the app may import its own from its release's
 * node_modules. The app's ready() and onShutdown() must reach the runtime the
 * preload installed, whichever copy they come from, so that state lives on
 * globalThis under a registered symbol, not in a module. A slot's shape is
 * part of its name: change one, change the other.
 */
export function processSlot<T extends object>(name: string, init: () => T): T {
  const key = Symbol.for(`batonjs.${name}`);
  const g = globalThis as Record<symbol, T | undefined>;
  return (g[key] ??= init());
}
