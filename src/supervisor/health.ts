/**
 * The health gate of a reload: through its crash window, the new generation
 * is judged on its answers as well as its exits. Its share of requests
 * answered 5xx or not at all is set against the old generation's over the
 * same seconds; well above it (by --max-error-increase points), the reload
 * is rolled back as for a crash. Too few requests to judge: the verdict says
 * so, and --unjudged decides. The counts are the workers' own (requests.ts).
 */
import { CODES } from '../protocol/requests.js';
import type { SupervisorSettings } from '../protocol/settings.js';
import type { RequestHistory } from './requests.js';

export type HealthRules = Pick<SupervisorSettings, 'maxErrorIncrease' | 'minJudgedRequests' | 'unjudged'>;

/** ok: in service; the text says why, for the log or the rollback's reason. */
export interface Verdict {
  ok: boolean;
  text: string;
}

const FAILED = [CODES.indexOf('5xx'), CODES.indexOf('unanswered')];

/** `generation`'s requests between two moments (whole seconds, as the heartbeats counted them), and the failed ones. */
function tally(history: RequestHistory, generation: number, fromMs: number, toMs: number) {
  const codes = history.between(generation, Math.floor(fromMs / 1000), Math.floor(toMs / 1000))?.codes ?? [];
  const requests = codes.reduce((n, c) => n + c, 0);
  const failed = FAILED.reduce((n, i) => n + (codes[i] ?? 0), 0);
  return { requests, failed, share: requests === 0 ? 0 : (100 * failed) / requests };
}

const pct = (share: number): string => `${share < 10 && share > 0 ? share.toFixed(1) : Math.round(share)} %`;

/** The new generation `next` against `old`, over its window `fromMs`–`toMs`. */
export function judge(
  history: RequestHistory,
  { next, old, fromMs, toMs }: { next: number; old: number; fromMs: number; toMs: number },
  rules: HealthRules,
): Verdict {
  const n = tally(history, next, fromMs, toMs);
  const o = tally(history, old, fromMs, toMs);
  if (n.requests < rules.minJudgedRequests) {
    const text = `generation ${next} was sent ${n.requests} requests in its crash window, fewer than the ${rules.minJudgedRequests} it is judged on (--unjudged ${rules.unjudged})`;
    return { ok: rules.unjudged === 'proceed', text };
  }
  const text = `generation ${next} answered 5xx or nothing to ${pct(n.share)} of ${n.requests} requests (generation ${old}: ${pct(o.share)} of ${o.requests})`;
  return { ok: n.share - o.share < rules.maxErrorIncrease, text };
}
