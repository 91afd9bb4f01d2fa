/**
 * Waiting, in one place. Deadlines are absolute (ms since the epoch) so that
 * one deadline can pass from the master to a worker, and from the drain to
 * each shutdown hook, each step getting what is left rather than a fresh span.
 */

/** Node's timers hold a signed 32-bit count of ms; a longer delay would fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export const msLeft = (deadline: number): number => Math.max(0, deadline - Date.now());

/** The deadline of a span that starts now (a drain ordered now ends `ms` from now). */
export const deadlineIn = (ms: number): number => Date.now() + ms;

export interface Timer {
  cancel(): void;
}

/** Calls `fn` at `deadline`, however far away (a long wait is taken in steps Node's timers can hold). */
export function at(deadline: number, fn: () => void, options: { unref?: boolean } = {}): Timer {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = msLeft(deadline);
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.min(left, MAX_TIMER_MS));
    if (options.unref) timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/**
 * Resolves once `done()` holds or `deadline` has passed, looking every `pollMs`
 * and whenever `wake` calls the function it is given (an event that may have
 * made it hold: a wait on events ends with the event, not up to a poll later);
 * true if it held.
 */
export async function until(
  done: () => boolean | Promise<boolean>,
  deadline: number,
  { pollMs = 20, wake }: { pollMs?: number; wake?: (look: () => void) => void } = {},
): Promise<boolean> {
  let look = (): void => {};
  wake?.(() => look());
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(pollMs, msLeft(deadline)));
      look = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    look = () => {};
  }
}
