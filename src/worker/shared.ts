/**
 * State every copy of baton in a process shares. A process may load two
 * copies (`baton run` preloads the master's, the app imports its own from its
 * release's node_modules); the app's ready() and onShutdown() must reach the
 * runtime the preload installed, whichever copy they come from. So the API's
 * state lives on globalThis under a registered symbol, not in a module.
 * A slot's shape is part of its name: change one, change the other.
 */
export function processSlot<T extends object>(name: string, init: () => T): T {
  const key = Symbol.for(`batonjs.${name}`);
  const g = globalThis as Record<symbol, T | undefined>;
  return (g[key] ??= init());
}
