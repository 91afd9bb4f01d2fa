/**
 * The app's hooks: onDrain hooks start together as the drain starts, so long
 * streams can be ended at once rather than cut at the deadline; onShutdown
 * hooks run in registration order once HTTP traffic has drained and the drain
 * hooks are done. All share one deadline, the drain's: each is told the time
 * left and is cut at it, so hooks never push a process past the moment its
 * parent would kill it.
 */
import type net from 'node:net';
import type { DrainReason } from '../protocol/messages.js';
import { errorLine, log } from '../log.js';
import { type Timer, at, msLeft } from '../time.js';
import { processSlot } from './shared.js';

export interface DrainContext {
  /** 'upgrade': a successor took over; 'stop': the service is stopping. */
  reason: DrainReason;
  /** When baton cuts what is still open and exits, in ms since the epoch (as Date.now()). */
  deadline: number;
  /** The time left until the deadline as this hook starts: the most it may take. */
  msLeft: number;
}

export interface ShutdownContext extends DrainContext {
  /** Connections still open once HTTP traffic has drained: upgraded (WebSocket) and raw ones. */
  connections: readonly net.Socket[];
}

export type DrainHook = (context: DrainContext) => void | Promise<void>;
export type ShutdownHook = (context: ShutdownContext) => void | Promise<void>;

/** Shared by every copy of baton in the process, so hooks added through the app's own copy run too. */
const drainHooks = processSlot('drain-hooks.v1', (): DrainHook[] => []);
const shutdownHooks = processSlot('shutdown-hooks.v1', (): ShutdownHook[] => []);

export function addDrainHook(hook: DrainHook): void {
  if (typeof hook !== 'function') throw new TypeError('onDrain(hook): hook must be a function');
  drainHooks.push(hook);
}

export function addHook(hook: ShutdownHook): void {
  if (typeof hook !== 'function') throw new TypeError('onShutdown(hook): hook must be a function');
  shutdownHooks.push(hook);
}

/** Forgets every hook: for an app's own tests, between cases. */
export function clearHooks(): void {
  drainHooks.length = 0;
  shutdownHooks.length = 0;
}

/** All at once, until `deadline`; a hook that throws or is still running then is logged. */
export async function runDrainHooks(base: Omit<DrainContext, 'msLeft'>): Promise<void> {
  await Promise.all(drainHooks.map((hook, i) => runOne('drain', i, hook, { ...base, msLeft: msLeft(base.deadline) })));
}

/**
 * In registration order until `deadline`; a hook that throws or is still running then is logged and the rest still run.
 */
export async function runHooks(base: Omit<ShutdownContext, 'msLeft'>): Promise<void> {
  for (const [i, hook] of shutdownHooks.entries()) {
    await runOne('shutdown', i, hook, { ...base, msLeft: msLeft(base.deadline) });
  }
}

async function runOne<C extends DrainContext>(
  kind: 'drain' | 'shutdown',
  i: number,
  hook: (context: C) => void | Promise<void>,
  context: C,
): Promise<void> {
  let timer: Timer | undefined;
  const late = new Promise<'late'>((resolve) => (timer = at(context.deadline, () => resolve('late'))));
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => hook(context)), late]);
    if (outcome === 'late')
      log('warn', `${kind} hook still running at the drain deadline`, { hook: i + 1, msGiven: context.msLeft });
  } catch (err) {
    log('error', `${kind} hook threw`, { hook: i + 1, error: errorLine(err) });
  } finally {
    timer?.cancel();
  }
}
