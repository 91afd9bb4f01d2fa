import { errorLine, log } from './log.js';

type Listener = (...args: unknown[]) => unknown;
export type StopSignal = 'SIGTERM' | 'SIGINT';

/** The app's own stop listeners, which baton runs as its drain starts. */
export interface AppStopListeners {
  /**
   * Runs, once each, the app's SIGTERM listeners (and its SIGINT ones if the stop came from SIGINT); returns what they
   * returned.
   */
  run(cause: StopSignal | undefined): unknown[];
  /** Whether the app still listens for `signal` (one that re-raises it at itself has taken its listeners off first). */
  listens(signal: StopSignal): boolean;
}

const kHeld = Symbol('baton.held');
type Held = Listener & { listener: Listener; [kHeld]?: true };

/**
 * An app listens on several signals with one function (close-with-grace, NestJS, lightship): it runs once, whichever
 * signal ran it.
 */
const ran = new WeakSet<Listener>();

/**
 * SIGTERM and a first SIGINT stop gracefully; a second SIGINT (an impatient
 * Ctrl-C) stops at once. The app's own SIGTERM and SIGINT listeners are
 * baton's to run, once, as the drain starts, whatever started it (a reload, a
 * stop, an upgrade, the signal), as they would run under Kubernetes; a worker
 * that is only told to drain never gets the signal. Each stays on the process
 * where the app put it (listeners() shows it, removeListener() takes it off),
 * inside a holder the signal itself does not run: the drain runs it, after
 * baton has stopped accepting, so what the app's listener closes or exits is
 * on top of a drain under way.
 */
export function onStopSignals(stop: (signal: StopSignal) => void, stopNow: () => void): AppStopListeners {
  let interrupts = 0;
  const own: Listener[] = [
    () => stop('SIGTERM'),
    () => {
      if (++interrupts === 1) return stop('SIGINT');
      log('warn', 'second SIGINT: stopping at once');
      stopNow();
    },
  ];
  const signals: StopSignal[] = ['SIGTERM', 'SIGINT'];
  signals.forEach((signal, i) => process.on(signal, own[i]!));
  const hold = (signal: StopSignal, listener: Listener): void => {
    if (own.includes(listener)) return;
    const entry = (process.rawListeners(signal) as Held[]).find((l) => l === listener || l.listener === listener);
    if (!entry || entry[kHeld]) return;
    process.removeListener(signal, listener);
    process.on(
      signal,
      Object.assign(() => {}, { listener, [kHeld]: true as const }),
    );
  };
  for (const signal of signals) for (const l of process.listeners(signal) as Listener[]) hold(signal, l);
  process.on('newListener', (event: string | symbol, listener: Listener) => {
    // 'newListener' comes before the listener is added.
    if (event === 'SIGTERM' || event === 'SIGINT') queueMicrotask(() => hold(event, listener));
  });
  const heldOn = (signal: StopSignal): Held[] => (process.rawListeners(signal) as Held[]).filter((l) => l[kHeld]);
  return {
    run: (cause) =>
      (cause === 'SIGINT' ? signals : ['SIGTERM' as const]).flatMap((signal) =>
        heldOn(signal).flatMap((h) => runOnce(h.listener, signal)),
      ),
    listens: (signal) => heldOn(signal).length > 0,
  };
}

/** Runs `listener` for `signal` unless it has run already; [] if it had, else what it returned. */
function runOnce(listener: Listener, signal: NodeJS.Signals): unknown[] {
  if (ran.has(listener)) return [];
  ran.add(listener);
  try {
    return [listener.call(process, signal)];
  } catch (err) {
    log('error', `the app's ${signal} listener threw: ${errorLine(err)}`);
    return [];
  }
}

/**
 * The upgrade signal is baton's. An app's own listeners for it (NestJS's
 * shutdown hooks listen for SIGUSR2, close the app and re-raise the signal)
 * are taken off the process as they are added, and run by the returned
 * function once the process has handed over and is going away, as they
 * expect. Run at the signal, they closed the app before its successor was
 * ready (new connections waited for it), and for good if the upgrade failed.
 * One that is also a stop listener has run already, as the drain started.
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
    for (const listener of held.splice(0)) runOnce(listener, signal);
  };
}
