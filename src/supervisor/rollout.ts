/**
 * A reload's rollout as steps: without a canary, one step of every worker
 * through the crash window; with one, a first step of its few workers that
 * serves for its own time beside the whole old generation and is judged on
 * its answers and latency, then the rest through the crash window. With
 * --batch, the rest come a batch at a time, each through its crash window,
 * and every step but the last takes over as many old workers' slots (they
 * drain) before the next starts: a canary is the first batch with a wait. While the
 * canary serves, keep-alive clients (a load balancer's pool) would stay on
 * the old workers' connections and send it nothing: every serving worker then
 * ends a share of its responses with Connection: close, so that its clients
 * reconnect where the kernel accepts them, the canary's workers included.
 */
import { type Batch, type Canary, batchSize, parseBatch } from '../protocol/control.js';
import type { Settings } from '../protocol/settings.js';
import { awaitReady, stopNew } from '../generation/parent.js';
import { log } from '../log.js';
import { deadlineIn } from '../time.js';
import type { ReplaceSlots } from './replace.js';
import type { Worker } from './worker.js';

/** The canary and the batch size that reload requests ask for (a batch: theirs, else --batch's `setting`). */
export function rolloutOf(
  requests: readonly { canary?: Canary; batch?: Batch }[],
  setting: string | undefined,
  workers: number,
): { canary?: Canary; batch?: number } {
  const canary = requests.find((r) => r.canary !== undefined)?.canary;
  const batch = requests.find((r) => r.batch !== undefined)?.batch ?? (setting && parseBatch(setting));
  return { canary, batch: batch && !('error' in batch) ? batchSize(batch, workers) : undefined };
}

/**
 * A batch failed: the slots its generation's earlier batches took get workers of the serving generation's code
 * again, which take them back once ready; only then are the new ones stopped, so capacity never falls. Workers of
 * the old code that cannot start leave the new ones in their slots (said): returned, they serve on.
 */
export async function giveBack(
  { slots, stopped }: { slots: ReplaceSlots; stopped: AbortSignal },
  generation: number,
  o: Pick<Settings, 'readyTimeoutMs' | 'drainTimeoutMs'>,
): Promise<Worker[]> {
  const taken = slots.live.flatMap((w, slot) => (w?.generation === generation ? [{ w, slot }] : []));
  if (taken.length === 0) return [];
  const back = taken.map(({ slot }) => slots.spawn(slot));
  const failure = await awaitReady(back, o.readyTimeoutMs, stopped);
  if (failure) {
    log(
      'error',
      `the old code could not start again (${failure.reason}): generation ${generation} serves on in its slots`,
    );
    stopNew(back, deadlineIn(o.drainTimeoutMs));
    return taken.map(({ w }) => w);
  }
  taken.forEach(({ w, slot }, i) => slots.swap(slot, w, back[i]!));
  return [];
}

/** `workers` more of the new generation start, serve `forMs` beside the old ones, and are judged. */
export interface Step {
  workers: number;
  forMs: number;
  /** The canary's step: its phases are said, and it is judged on latency too. */
  canary: boolean;
  /** Once judged, its workers take as many old workers' slots, which drain before the next step starts (--batch). */
  swapIn: boolean;
}

/** The steps of a reload of `workers`, with a canary and batches of `batch` workers if asked. */
export function stepsOf(
  workers: number,
  crashWindowMs: number,
  { canary, batch }: { canary?: Canary; batch?: number },
): Step[] {
  const steps: Step[] = [];
  let left = workers;
  if (canary) {
    steps.push({ workers: canary.workers, forMs: canary.forMs, canary: true, swapIn: batch !== undefined });
    left -= canary.workers;
  }
  for (const size = batch ?? left; left > 0; left -= size)
    steps.push({ workers: Math.min(size, left), forMs: crashWindowMs, canary: false, swapIn: batch !== undefined });
  steps[steps.length - 1]!.swapIn = false;
  return steps;
}

/** How often a canary's comparison so far is said: every 5 s, or thrice in a shorter canary. */
const reportEvery = (forMs: number): number => Math.min(5000, Math.max(1000, Math.floor(forMs / 3)));

/**
 * While `canary` serves beside `old`: each of them ends the canary's share of its responses with Connection: close
 * (the old ones alone would let every connection drift to the canary, which closes none), and `report` is called every
 * few seconds of its `forMs`. end() stops both.
 */
export function watchCanary(
  old: readonly Worker[],
  { workers: canary, forMs }: { workers: readonly Worker[]; forMs: number },
  report: () => void,
): { end(): void } {
  const all = [...old, ...canary];
  const tell = (share: number): void => {
    for (const w of all) if (w.state === 'ready') w.send({ type: 'close-share', share });
  };
  tell(canary.length / all.length);
  const timer = setInterval(report, reportEvery(forMs));
  return {
    end: () => {
      clearInterval(timer);
      tell(0);
    },
  };
}
