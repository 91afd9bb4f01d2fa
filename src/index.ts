/**
 * The worker-side API, for apps that want control. Importing it installs the
 * same runtime as `baton/register`.
 */
import type net from 'node:net';
import { current, install } from './worker/runtime.js';
import { type ShutdownContext, type ShutdownHook, addHook } from './worker/hooks.js';

install();

export type { ShutdownContext, ShutdownHook };

/** This process's generation: 1 for the first, one more at each upgrade. */
export const generation: number = current()?.settings.generation ?? 1;

/**
 * server.listen() through baton: on an inherited socket when one matches the
 * address, else bound anew. Resolves once listening; rejects with the listen error.
 */
export function listen(server: net.Server, address: number | string | net.ListenOptions): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server);
    };
    if (typeof address === 'object') server.listen(address, onListening);
    else server.listen(address, onListening);
  });
}

/** Declares this process ready (needed with BATON_WAIT_READY=1 / --wait-ready). */
export function ready(): void {
  current()?.readiness.declare();
}

/**
 * Runs `hook` once when this process shuts down (after an upgrade or at a stop),
 * after its listeners have stopped and HTTP traffic has drained. Hooks run in
 * registration order, each bounded by the drain timeout.
 */
export function onShutdown(hook: ShutdownHook): void {
  addHook(hook);
}

/** True once this process has handed over or is stopping: a good moment to stop taking long jobs. */
export function isDraining(): boolean {
  return current()?.state === 'draining';
}

/** Starts a standalone upgrade, as SIGUSR2 does. Resolves true once a successor took over. */
export function upgrade(): Promise<boolean> {
  return current()?.standalone?.upgrade() ?? Promise.resolve(false);
}
