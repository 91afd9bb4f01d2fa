/**
 * The app's own shutdown code around baton's drain. As the drain starts, its
 * SIGTERM listeners run (signals.ts); the callbacks of its server.close()
 * calls run once the drain has ended (drain/close.ts). An app whose
 * listeners began a shutdown of their own (they closed a server, or returned
 * a promise) then finishes it (flushes what it kept in memory, closes its
 * pools) and exits by itself, as under Kubernetes: baton waits for that until
 * the drain deadline, or until the app has nothing left to run or re-raises
 * the signal at itself (terminus, NestJS). Listeners that began nothing (a
 * library's that only logs, signal-exit's) are not waited for: a process kept
 * by its pools would otherwise outlive every drain until the deadline. An app
 * that exits during the drain, with requests in flight, loses them as it would
 * without baton: said in one line, with the count.
 */
import type net from 'node:net';
import { inFlight } from '../drain/index.js';
import { releaseClose } from '../drain/close.js';
import { errorLine, log } from '../log.js';
import type { AppStopListeners, StopSignal } from '../signals.js';
import { at } from '../time.js';

export class AppShutdown {
  private hasOwn = false;
  private promised = false;
  private exiting = false;
  private stopWaiting: () => void = () => {};

  constructor(private readonly listeners: AppStopListeners) {}

  /** As the drain of `servers` starts, once baton has stopped accepting. */
  start(cause: StopSignal | undefined, servers: readonly net.Server[]): void {
    process.once('exit', () => {
      const n = this.exiting ? 0 : inFlight(servers);
      if (n > 0)
        log(
          'warn',
          `the app exited during the drain with ${n} ${n === 1 ? 'request' : 'requests'} in flight: lost, as without baton`,
        );
    });
    const results = this.listeners.run(cause);
    this.hasOwn = results.length > 0;
    this.promised = reportFailures(results);
  }

  /** A stop signal while draining: the app re-raising it, its own listeners taken off first, asks to exit by it. */
  signalled(signal: StopSignal): void {
    if (this.hasOwn && !this.listeners.listens(signal)) this.stopWaiting();
  }

  /** The parent moved the deadline up: the app's shutdown is not waited for any longer. */
  cutShort(): void {
    this.stopWaiting();
  }

  /**
   * Once the drain has ended: the app's close() callbacks run, and its own shutdown is waited for; then baton exits.
   */
  async finish(servers: readonly net.Server[], deadline: number): Promise<void> {
    const { closed, results } = releaseClose(servers);
    reportFailures(results);
    if (this.hasOwn && (closed || this.promised)) await this.appExit(deadline);
    this.exiting = true;
  }

  private appExit(deadline: number): Promise<void> {
    log('info', "waiting for the app's own shutdown (its SIGTERM listeners) to exit, until the drain deadline", {
      msLeft: Math.max(0, deadline - Date.now()),
    });
    return new Promise((resolve) => {
      const timer = at(
        deadline,
        () => {
          log('warn', "the app's own shutdown did not exit by the drain deadline: exiting");
          resolve();
        },
        { unref: true },
      );
      const done = (): void => {
        timer.cancel();
        resolve();
      };
      this.stopWaiting = done;
      // Nothing but baton's channel to its parent is left: the app has finished.
      process.channel?.unref();
      process.once('beforeExit', done);
    });
  }
}

/**
 * A rejection from the app's async listener or callback is said, not left to end the process; whether any was a
 * promise.
 */
function reportFailures(results: readonly unknown[]): boolean {
  const promises = results.filter(
    (r): r is PromiseLike<unknown> => typeof (r as PromiseLike<unknown> | undefined)?.then === 'function',
  );
  for (const p of promises)
    p.then(undefined, (err: unknown) => log('error', `the app's shutdown failed: ${errorLine(err)}`));
  return promises.length > 0;
}
