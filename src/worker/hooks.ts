/**
 * The app's shutdown hooks (onShutdown). They run in registration order and
 * share one deadline, the drain's: each gets the time that is left, so hooks
 * never push a process past the moment its parent would kill it.
 */
import type net from 'node:net';
import type { DrainReason } from '../protocol/messages.js';
import { errorLine, log } from '../log.js';
import { type Timer, at, msLeft } from '../time.js';
import { processSlot } from './shared.js';

export interface ShutdownContext {
  /** 'upgrade': a successor took over; 'stop': the service is stopping. */
  reason: DrainReason;
  /** Connections still open once HTTP traffic has drained: upgraded (WebSocket) and raw ones. */
  connections: readonly net.Socket[];
  /** When baton cuts what is still open and exits, in ms since the epoch (as Date.now()). */
  deadline: number;
  /** The time left until the deadline as this hook starts: the most it may take. */
  msLeft: number;
}

export type ShutdownHook = (context: ShutdownContext) => void | Promise<void>;

/** Shared by every copy of baton in the process, so hooks added through the app's own copy run too. */
const hooks = processSlot('shutdown-hooks.v1', (): ShutdownHook[] => []);


export function addHook(hook: ShutdownHook): void {
  if (typeof hook !== 'function') throw new TypeError('onShutdown(hook): hook must be a function');
  hooks.push(hook);
}

/** Forgets every hook: for an app's own tests, between cases. */
export function clearHooks(): void {
  hooks.length = 0;
}

/** In registration order until `deadline`; a hook that throws or is still running then is logged and the rest still run. */
export async function runHooks(base: Omit<ShutdownContext, 'msLeft'>): Promise<void> {
  for (const [i, hook] of hooks.entries()) {
    const context = { ...base, msLeft: msLeft(base.deadline) };
    let timer: Timer | undefined;
    const late = new Promise<'late'>((resolve) => (timer = at(base.deadline, () => resolve('late'))));
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => hook(context)), late]);
      if (outcome === 'late') log('warn', 'shutdown hook still running at the drain deadline', { hook: i + 1, msGiven: context.msLeft });
    } catch (err) {
      log('error', 'shutdown hook threw', { hook: i + 1, error: errorLine(err) });
    } finally {
      timer?.cancel();
    }
  }
}
