/**
 * The health gate of a reload: through its crash window, or its canary's
 * time, the new generation is judged on its answers as well as its exits.
 * Its share of requests answered 5xx or not at all is set against the old
 * generation's over the same seconds; well above it (by --max-error-increase
 * points), the reload is rolled back as for a crash. A canary is judged on
 * its p99 latency too (--max-latency-ratio): it serves long enough for that
 * to mean something, where a crash window's first answers are cold. Too few
 * requests to judge: the verdict says so, and --unjudged decides. The counts
 * are the workers' own (requests.ts).
 */
import { CODES, quantileMs } from '../protocol/requests.js';
import type { SupervisorSettings } from '../protocol/settings.js';
import type { RequestHistory } from './requests.js';

export type HealthRules = Pick<
  SupervisorSettings,
  'maxErrorIncrease' | 'minJudgedRequests' | 'unjudged' | 'maxLatencyRatio'
>;

/** ok: in service; the text says why, for the log or the rollback's reason. */
export interface Verdict {
  ok: boolean;
  text: string;
}

/** Generation `next` beside `old`, from `fromMs` to `toMs`: a crash window, or (`canary`) a canary's time. */
export interface Window {
  next: number;
  old: number;
  fromMs: number;
  toMs: number;
  canary?: boolean;
}

const FAILED = [CODES.indexOf('5xx'), CODES.indexOf('unanswered')];

/** `generation`'s requests between two moments (whole seconds, as heartbeats counted them), the failed ones, p99. */
function tally(history: RequestHistory, generation: number, fromMs: number, toMs: number) {
  const counts = history.between(generation, Math.floor(fromMs / 1000), Math.floor(toMs / 1000));
  const codes = counts?.codes ?? [];
  const requests = codes.reduce((n, c) => n + c, 0);
  const failed = FAILED.reduce((n, i) => n + (codes[i] ?? 0), 0);
  const answered = counts?.buckets.reduce((n, c) => n + c, 0) ?? 0;
  const p99 = counts ? quantileMs(counts.buckets, 0.99) : null;
  return { requests, failed, share: requests === 0 ? 0 : (100 * failed) / requests, answered, p99 };
}

const pct = (share: number): string => `${share < 10 && share > 0 ? share.toFixed(1) : Math.round(share)} %`;
const ms = (p99: number | null): string =>
  p99 === null ? 'none' : `${p99 < 10 ? p99.toFixed(1) : Math.round(p99)} ms`;

/** How `next` and `old` have answered so far: a canary's running comparison. */
export function comparison(history: RequestHistory, { next, old, fromMs, toMs }: Window): string {
  const n = tally(history, next, fromMs, toMs);
  const o = tally(history, old, fromMs, toMs);
  return `generation ${next}: ${pct(n.share)} 5xx or nothing of ${n.requests} requests, p99 ${ms(n.p99)}; generation ${old}: ${pct(o.share)} of ${o.requests}, p99 ${ms(o.p99)}`;
}

/** The new generation `next` against `old`, over its window `fromMs`–`toMs`. */
export function judge(history: RequestHistory, w: Window, rules: HealthRules): Verdict {
  const { next, old } = w;
  const n = tally(history, next, w.fromMs, w.toMs);
  const o = tally(history, old, w.fromMs, w.toMs);
  if (n.requests < rules.minJudgedRequests) {
    const text = `generation ${next} was sent ${n.requests} requests in its ${w.canary ? 'canary' : 'crash window'}, fewer than the ${rules.minJudgedRequests} it is judged on (--unjudged ${rules.unjudged})`;
    return { ok: rules.unjudged === 'proceed', text };
  }
  const errors = `generation ${next} answered 5xx or nothing to ${pct(n.share)} of ${n.requests} requests (generation ${old}: ${pct(o.share)} of ${o.requests})`;
  if (rules.maxErrorIncrease > 0 && n.share - o.share >= rules.maxErrorIncrease) return { ok: false, text: errors };
  if (!w.canary) return { ok: true, text: errors };
  const ratio = rules.maxLatencyRatio;
  // Both sides need answers enough for a p99 to be one.
  const judged = ratio > 0 && n.p99 !== null && o.p99 !== null && o.answered >= rules.minJudgedRequests;
  const latency = `p99 ${ms(n.p99)} of ${n.answered} answers (generation ${old}: ${ms(o.p99)} of ${o.answered})`;
  if (judged && n.p99! > ratio * o.p99!)
    return { ok: false, text: `generation ${next} answered slower than ${ratio} × generation ${old}: ${latency}` };
  return { ok: true, text: `${errors}; ${latency}` };
}
