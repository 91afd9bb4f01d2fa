import { log } from './log.js';

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
