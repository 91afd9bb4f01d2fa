import type net from 'node:net';
import { log } from '../log.js';

export interface ShutdownContext {
  /** 'upgrade': a successor took over; 'stop': the service is stopping. */
  reason: 'upgrade' | 'stop';
  /** Connections still open once HTTP traffic has drained: upgraded (WebSocket) and raw ones. */
  connections: readonly net.Socket[];
}

export type ShutdownHook = (context: ShutdownContext) => void | Promise<void>;

const hooks: ShutdownHook[] = [];

export function addHook(hook: ShutdownHook): void {
  if (typeof hook !== 'function') throw new TypeError('onShutdown(hook): hook must be a function');
  hooks.push(hook);
}

/** In registration order, each bounded by `timeoutMs`; a hook that throws or hangs is logged and the rest still run. */
export async function runHooks(context: ShutdownContext, timeoutMs: number): Promise<void> {
  for (const [i, hook] of hooks.entries()) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => hook(context)), timeout]);
      if (outcome === 'timeout') log('warn', 'shutdown hook did not finish within the drain timeout', { hook: i + 1, timeoutMs });
    } catch (err) {
      log('error', 'shutdown hook threw', { hook: i + 1, error: errorLine(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An error as one log line: its name and the first line of its message. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0];
}
