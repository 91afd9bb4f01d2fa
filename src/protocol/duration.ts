import { quote } from './quote.js';
/** Parses `500ms`, `2s`, `1m` or bare milliseconds; `what` names the input in the error. */
export function parseDuration(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) {
    throw new Error(`${what}: ${quote(value)} is not a duration (use e.g. 500ms, 2s, 1m or plain milliseconds)`);
  }
  const n = Number(m[1]);
  const unit = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1;
  return Math.round(n * unit);
}
