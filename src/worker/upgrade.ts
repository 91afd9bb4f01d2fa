/**
 * Standalone hot upgrade (no supervisor): spawn a successor with the same
 * command, pass it every listening socket, wait until it is ready, then drain.
 * If it throws, exits or is not ready in time, it is stopped and reaped and this
 * process keeps serving.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ENV, type RuntimeSettings, writeListenEnv } from '../protocol/env.js';
import { type FailedMessage, isBatonMessage, parseMessage } from '../protocol/messages.js';
import { log } from '../log.js';
import type { Listeners } from '../listeners/route.js';

export interface Launch {
  execPath: string;
  /** Node flags, script and app arguments, as this process was started. */
  args: string[];
  /** The logical working directory, so a `current -> releases/vN` switch takes effect. */
  cwd: string;
  /** The environment this process started with, minus the socket hand-over variables. */
  env: Record<string, string | undefined>;
}

export type UpgradeOutcome =
  | { ok: true; child: ChildProcess; pid: number; ms: number }
  | { ok: false; reason: string; stderrTail: string };

export async function spawnSuccessor(
  launch: Launch, listeners: Listeners, settings: RuntimeSettings, signal: AbortSignal,
): Promise<UpgradeOutcome> {
  const started = Date.now();
  const sockets = listeners.passable();
  const env = {
    ...launch.env,
    ...writeListenEnv(sockets.map((s) => s.name), process.pid),
    [ENV.generation]: String(settings.generation + 1),
  };
  let child: ChildProcess;
  try {
    child = spawn(launch.execPath, launch.args, {
      cwd: launch.cwd,
      env,
      stdio: ['inherit', 'inherit', 'inherit', ...sockets.map((s) => s.fd), 'ipc'],
    });
  } catch (err) {
    return { ok: false, reason: `cannot start the successor: ${(err as Error).message}`, stderrTail: '' };
  }
  log('info', 'successor spawned', { successor: child.pid, sockets: sockets.map((s) => s.name).join(',') });

  return new Promise<UpgradeOutcome>((resolve) => {
    let failed: FailedMessage | undefined;
    let settled = false;
    const finish = (outcome: UpgradeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      child.off('message', onMessage);
      if (!outcome.ok) stopFailed(child, settings.drainTimeoutMs);
      resolve(outcome);
    };
    const fail = (reason: string): void =>
      finish({ ok: false, reason: failed?.error ? `${reason}: ${failed.error}` : reason, stderrTail: failed?.stderrTail ?? '' });

    const onMessage = (raw: unknown): void => {
      if (!isBatonMessage(raw)) return;
      const parsed = parseMessage(raw);
      if (!parsed.ok) {
        log('warn', 'ignored a malformed message from the successor', { reason: parsed.reason });
      } else if (parsed.message.type === 'ready') {
        finish({ ok: true, child, pid: child.pid!, ms: Date.now() - started });
      } else if (parsed.message.type === 'failed') {
        failed = parsed.message;
      }
    };
    const onAbort = (): void => fail('upgrade cancelled by a stop');
    const timer = setTimeout(() => fail(`successor pid ${child.pid} was not ready within ${settings.readyTimeoutMs} ms`), settings.readyTimeoutMs);

    child.on('message', onMessage);
    child.once('error', (err) => fail(`cannot start the successor: ${err.message}`));
    // 'close', not 'exit': it comes after the IPC channel has delivered its last message.
    child.once('close', (code, sig) => fail(`successor pid ${child.pid} exited before it was ready (${sig ?? `code ${code}`})`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A successor that failed may already have accepted connections from the shared
 * queue: ask it to drain (SIGTERM) rather than kill it, and kill it only if it
 * outlives the drain timeout. Node reaps it, so no zombie is left.
 */
function stopFailed(child: ChildProcess, drainTimeoutMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), drainTimeoutMs + 1000);
  killer.unref();
  child.once('exit', () => clearTimeout(killer));
}
