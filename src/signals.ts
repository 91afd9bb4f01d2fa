import { errorLine, log } from './log.js';

/** SIGTERM and a first SIGINT stop gracefully; a second SIGINT (an impatient Ctrl-C) stops at once. */
export function onStopSignals(stop: () => void, stopNow: () => void): void {
  let interrupts = 0;
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {
    if (++interrupts === 1) return stop();
    log('warn', 'second SIGINT: stopping at once');
    stopNow();
  });
}

type Listener = (...args: unknown[]) => unknown;

/**
 * The upgrade signal is baton's. An app's own listeners for it (NestJS's
 * shutdown hooks listen for SIGUSR2, close the app and re-raise the signal)
 * are taken off the process as they are added, and run by the returned
 * function once the process has handed over and is going away, as they
 * expect. Run at the signal, they closed the app before its successor was
 * ready (new connections waited for it), and for good if the upgrade failed.
 */
export function onUpgradeSignal(signal: NodeJS.Signals, upgrade: () => void): () => void {
  const held: Listener[] = [];
  process.on(signal, upgrade);
  process.on('newListener', (event: string | symbol, listener: Listener) => {
    if (event !== signal || listener === upgrade) return;
    // 'newListener' comes before the listener is added.
    queueMicrotask(() => {
      if (!process.listeners(signal).includes(listener)) return;
      process.removeListener(signal, listener);
      held.push(listener);
    });
  });
  return () => {
    for (const listener of held.splice(0)) {
      try {
        listener.call(process, signal);
      } catch (err) {
        log('error', `the app's ${signal} listener threw: ${errorLine(err)}`);
      }
    }
  };
}
