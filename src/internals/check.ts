/**
 * The start-up check of every Node internal baton relies on: each one that is
 * missing is said once, in one line, instead of failing silently later. (The
 * HTTP/1 connection list exists only once a server listens: it is checked then.)
 */
import { checkHandles } from './handles.js';
import { checkPatches } from './patches.js';
import { warnOnce } from './warn.js';

export function checkInternals(): void {
  for (const [key, check] of [['handles', checkHandles], ['patches', checkPatches]] as const) {
    const missing = check();
    if (missing) warnOnce(key, `this Node.js is not one baton knows: ${missing}`);
  }
}
