/**
 * What the master side does for a reload or a stop, however it was asked
 * (the control socket, control/server.ts; the admin API, admin/server.ts):
 * each says the outcome its own way, from here.
 */
import {
  type Controllable,
  type Phase,
  type ReloadAsk,
  ReloadRefused,
  type ReloadResult,
} from '../protocol/control.js';
import { errMessage, log } from '../log.js';

/**
 * Asks `master` for a reload: its result, which never rejects (a throw, a bug,
 * becomes a failed result), or a refusal before anything started, to be said
 * as such (a release that is none, another one queued).
 */
export function askReload(
  master: Controllable,
  onPhase: (phase: Phase) => void,
  ask: ReloadAsk,
): { refused: ReloadRefused } | { result: Promise<ReloadResult> } {
  const started = Date.now();
  const failed = (err: unknown): ReloadResult => {
    log('error', 'reload threw', { error: errMessage(err) });
    let generation = 0;
    try {
      generation = master.status().generation;
    } catch {
      // keep 0
    }
    return { ok: false, generation, ms: Date.now() - started, reason: `internal error: ${errMessage(err)}` };
  };
  const reportTo = (phase: Phase): void => {
    try {
      onPhase(phase);
    } catch (err) {
      log('error', 'cannot report a reload phase', { error: errMessage(err) });
    }
  };
  try {
    return { result: master.reload(reportTo, ask).catch(failed) };
  } catch (err) {
    return err instanceof ReloadRefused ? { refused: err } : { result: Promise.resolve(failed(err)) };
  }
}

/** `master.stop()`, once however often called: once the answer is out and once the client has gone both call it. */
export function stopOnce(master: Controllable): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    try {
      master.stop();
    } catch (err) {
      log('error', 'stop failed', { error: errMessage(err) });
    }
  };
}
