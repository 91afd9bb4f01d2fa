/**
 * A stand-in for baton's runtime in an app's own unit tests. It patches
 * nothing, adds no signal handler and never exits the process; it lets a test
 * see what the app does with the API: call ready(), flip isDraining(), and run
 * the onDrain and onShutdown hooks against a deadline, each told the time left.
 */
import type net from 'node:net';
import type { DrainReason } from '../protocol/messages.js';
import { setRuntime } from '../worker/current.js';
import { clearHooks, runDrainHooks, runHooks } from '../worker/hooks.js';

export interface DrainOptions {
  reason?: DrainReason;
  /** How long the hooks have, from now (default 30 s, as --drain-timeout). */
  deadlineMs?: number;
}

export interface ShutdownOptions extends DrainOptions {
  /** What the hooks are handed as still open: upgraded or raw connections. */
  connections?: net.Socket[];
}

export interface TestRuntime {
  readonly generation: number;
  /** True once the app has called ready(). */
  readonly isReady: boolean;
  /** How many times the app asked for an upgrade(). */
  readonly upgradeRequests: number;
  /** Resolves when the app calls ready(). */
  readonly whenReady: Promise<void>;
  /**
   * Turns isDraining() true and starts the onDrain hooks registered so far, together; resolves when they finish or the
   * deadline passes.
   */
  drain(options?: DrainOptions): Promise<void>;
  /**
   * As baton's drain goes on: the onDrain hooks unless drain() ran them, then
   * the onShutdown hooks in order, until they finish or the deadline passes.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Takes the stub away and forgets the hooks registered so far, for the next test. */
  restore(): void;
}

/** Installs the stub behind `ready`, `isDraining`, `upgrade`, `onDrain` and `onShutdown` until restore(). */
export function installTestRuntime({ generation = 1 }: { generation?: number } = {}): TestRuntime {
  let isReady = false;
  let draining = false;
  let upgradeRequests = 0;
  let markReady: () => void = () => {};
  const whenReady = new Promise<void>((resolve) => (markReady = resolve));
  setRuntime({
    generation,
    ready: () => {
      isReady = true;
      markReady();
    },
    isDraining: () => draining,
    upgrade: () => {
      upgradeRequests++;
      return Promise.resolve(false);
    },
  });
  return {
    generation,
    get isReady() {
      return isReady;
    },
    get upgradeRequests() {
      return upgradeRequests;
    },
    whenReady,
    async drain({ reason = 'stop', deadlineMs = 30_000 } = {}) {
      draining = true;
      await runDrainHooks({ reason, deadline: Date.now() + deadlineMs });
    },
    async shutdown({ reason = 'stop', deadlineMs = 30_000, connections = [] } = {}) {
      const deadline = Date.now() + deadlineMs;
      if (!draining) {
        draining = true;
        await runDrainHooks({ reason, deadline });
      }
      await runHooks({ reason, connections, deadline });
    },
    restore() {
      setRuntime(undefined);
      clearHooks();
    },
  };
}
