/**
 * A reload's rollout as steps: without a canary, one step of every worker
 * through the crash window; with one, a first step of its few workers that
 * serves for its own time beside the whole old generation and is judged on
 * its answers and latency, then the rest through the crash window. While the
 * canary serves, keep-alive clients (a load balancer's pool) would stay on
 * the old workers' connections and send it nothing: every serving worker then
 * ends a share of its responses with Connection: close, so that its clients
 * reconnect where the kernel accepts them, the canary's workers included.
 */
import type { Canary } from '../protocol/control.js';
import type { Worker } from './worker.js';

/** `workers` more of the new generation start, serve `forMs` beside the old ones, and are judged. */
export interface Step {
  workers: number;
  forMs: number;
  /** The canary's step: its phases are said, and it is judged on latency too. */
  canary: boolean;
}

export function stepsOf(workers: number, crashWindowMs: number, canary?: Canary): Step[] {
  if (!canary) return [{ workers, forMs: crashWindowMs, canary: false }];
  return [
    { workers: canary.workers, forMs: canary.forMs, canary: true },
    { workers: workers - canary.workers, forMs: crashWindowMs, canary: false },
  ];
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
