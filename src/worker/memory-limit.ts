/**
 * BATON_MAX_MEMORY for a standalone process: past the limit for a few
 * heartbeats (generation/limits.ts, the rule a master applies to its
 * workers), it upgrades onto a new process of itself, as on the upgrade
 * signal: the successor first, then this one drains. An upgrade that fails
 * leaves it serving; the next is tried after a back-off.
 */
import { Limits } from '../generation/limits.js';
import { log } from '../log.js';
import type { ReloadResult } from '../protocol/control.js';
import { HEARTBEAT_MS } from '../protocol/messages.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/** Checks this process's memory every heartbeat while `serving()`; returns what stops it. */
export function watchOwnMemory(
  limitBytes: number,
  serving: () => boolean,
  upgrade: () => Promise<ReloadResult>,
): () => void {
  const limits = new Limits({ maxMemoryBytes: limitBytes, maxAgeMs: 0, maxAgeJitterMs: 0 });
  const self = { state: 'ready' as const, readyAt: Date.now(), rssBytes: () => process.memoryUsage.rss() };
  let busy = false;
  let failures = 0;
  let notBefore = 0;
  const timer = setInterval(() => {
    if (!serving()) return;
    const [due] = limits.check([self], Date.now());
    if (!due || busy || Date.now() < notBefore) return;
    busy = true;
    log('warn', `${due.detail} (BATON_MAX_MEMORY): upgrading onto a new process`);
    void upgrade().then((r) => {
      busy = false;
      if (r.ok) return;
      const waitMs = Math.min(FIRST_RETRY_MS * 2 ** failures++, MAX_RETRY_MS);
      notBefore = Date.now() + waitMs;
      log('error', `the upgrade past BATON_MAX_MEMORY failed (${r.reason}); serving on, trying again in ${waitMs} ms`);
    });
  }, HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
