/**
 * The public API, for apps that want control. Importing it patches nothing
 * and starts nothing: the runtime comes from `--import batonjs/register` (which
 * `baton run` adds to every worker). Without it these calls are harmless, so
 * an app's modules load in its own unit tests (see `batonjs/testing`).
 */
import type net from 'node:net';
import { currentRuntime } from './worker/current.js';
import {
  type DrainContext,
  type DrainHook,
  type ShutdownContext,
  type ShutdownHook,
  addDrainHook,
  addHook,
} from './worker/hooks.js';

export type { DrainContext, DrainHook, ShutdownContext, ShutdownHook };

/** This process's generation: 1 for the first, one more at each upgrade. */
export const generation: number = currentRuntime()?.generation ?? 1;

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
  currentRuntime()?.ready();
}

/**
 * Runs `hook` once as this process starts to drain (after an upgrade or at a
 * stop), as soon as it has stopped accepting: the moment to end what would
 * otherwise hold the drain until its deadline, such as gRPC streams (end them
 * with UNAVAILABLE, which clients retry). Drain hooks start together, are
 * told the deadline and the time left, and are cut at the deadline; the
 * onShutdown hooks wait for them.
 */
export function onDrain(hook: DrainHook): void {
  addDrainHook(hook);
}

/**
 * Runs `hook` once when this process shuts down (after an upgrade or at a stop),
 * after its listeners have stopped and HTTP traffic has drained. Hooks run in
 * registration order and share the drain's deadline: each is told the time left.
 */
export function onShutdown(hook: ShutdownHook): void {
  addHook(hook);
}

/** True once this process has handed over or is stopping: a good moment to stop taking long jobs. */
export function isDraining(): boolean {
  return currentRuntime()?.isDraining() ?? false;
}

/**
 * Starts a standalone upgrade, as SIGUSR2 does. Resolves true once a successor took over; false if it failed, or if one
 * is under way or done already.
 */
export function upgrade(): Promise<boolean> {
  return currentRuntime()?.upgrade() ?? Promise.resolve(false);
}
