/**
 * Tells systemd how the service is doing, as sd_notify(3) does: READY=1 once
 * it serves, RELOADING=1 and READY=1 around each reload or upgrade, STOPPING=1
 * at a stop, STATUS= with the generation, and MAINPID= when a standalone
 * process hands over to its successor.
 *
 * NOTIFY_SOCKET names a unix datagram socket, which Node cannot write to
 * (node:dgram is UDP only, node:net streams only), so each message is sent by
 * systemd's own `systemd-notify`, which comes with systemd. One runs at a
 * time, so messages arrive in order; each waits until systemd has read its
 * message (its barrier), so a process about to exit can wait for what it said
 * (flushed()). Nothing else waits: a slow or stuck systemd-notify never holds
 * up a reload.
 * systemd sees the message come from systemd-notify's pid unless it may pass
 * itself off as its parent (root, CAP_SYS_ADMIN): units set NotifyAccess=all
 * (docs/systemd.md).
 */
import type { Env } from '../protocol/settings.js';
import { log } from '../log.js';
import { builtin } from '../internals/builtins.js';

const NOTIFY_SOCKET = 'NOTIFY_SOCKET';
const COMMAND = 'systemd-notify';
/** systemd-notify gives systemd 5 s to confirm it read a message; one still running at twice that is stuck. */
const SEND_TIMEOUT_MS = 10_000;

export interface Serving {
  mainPid?: number;
  failed?: { generation: number; reason: string };
}

export interface Notifier {
  /**
   * READY=1: `generation` serves, in `mainPid` when that is no longer this
   * process; `failed`: the generation that was to replace it, and why it did not.
   */
  serving(generation: number, o?: Serving): void;
  /**
   * RELOADING=1, stamped with CLOCK_MONOTONIC (MONOTONIC_USEC), by which Type=notify-reload tells it came after its
   * signal.
   */
  reloading(next: number, serving: number): void;
  /** STOPPING=1. systemd ignores READY=1 after it, so nothing more is said. */
  stopping(): void;
  /** Resolves once every message said so far has been sent or given up on. */
  flushed(): Promise<void>;
}

/**
 * The notifier for the socket in `env`, silent without one. `unset` removes
 * the variable, as sd_notify(unset_environment=1) does, so that the processes
 * this one starts cannot speak for the service: a master's worker saying
 * READY=1 would end a reload in systemd's eyes before the master's verdict.
 */
export function systemdNotifier(env: Env, { unset }: { unset: boolean }): Notifier {
  const socket = env[NOTIFY_SOCKET];
  if (unset) delete env[NOTIFY_SOCKET];
  return socket ? new SystemdNotify(socket) : SILENT;
}

const SILENT: Notifier = {
  serving: () => {},
  reloading: () => {},
  stopping: () => {},
  flushed: () => Promise.resolve(),
};

class SystemdNotify implements Notifier {
  private queue = Promise.resolve();
  private stopped = false;
  private missing = false;

  constructor(private readonly socket: string) {}

  serving(generation: number, { mainPid, failed }: Serving = {}): void {
    const status = `generation ${generation} serving${failed ? `; generation ${failed.generation} failed: ${failed.reason}` : ''}`;
    this.send([...(mainPid === undefined ? [] : [`MAINPID=${mainPid}`]), 'READY=1', `STATUS=${status}`]);
  }

  reloading(next: number, serving: number): void {
    const usec = process.hrtime.bigint() / 1000n; // libuv's hrtime is CLOCK_MONOTONIC on Linux
    this.send([
      'RELOADING=1',
      `MONOTONIC_USEC=${usec}`,
      `STATUS=reloading: generation ${next} starting, generation ${serving} serving`,
    ]);
  }

  stopping(): void {
    this.send(['STOPPING=1', 'STATUS=stopping: draining']);
    this.stopped = true;
  }

  flushed(): Promise<void> {
    return this.queue;
  }

  private send(fields: string[]): void {
    if (this.stopped) return;
    // A field is one line of the datagram: a reason quoting a stack must not start fields of its own.
    const lines = fields.map((f) => f.replace(/\s*\n\s*/g, ' '));
    this.queue = this.queue.then(() => this.run(lines));
  }

  private run(fields: string[]): Promise<void> {
    if (this.missing) return Promise.resolve();
    return new Promise((resolve) => {
      const env: Env = { ...process.env, [NOTIFY_SOCKET]: this.socket };
      const child = builtin('child_process').spawn(COMMAND, fields, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let said = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (said += d));
      let failure: string | undefined;
      const timer = setTimeout(() => {
        failure = `${COMMAND} was still running after ${SEND_TIMEOUT_MS} ms`;
        child.kill('SIGKILL');
      }, SEND_TIMEOUT_MS);
      // Not once: an 'error' with no listener (a failed kill, say) would throw.
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') this.missing = true;
        else failure ??= `${COMMAND} did not run: ${err.message}`;
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (this.missing) {
          log(
            'warn',
            `NOTIFY_SOCKET is set, but ${COMMAND} is not in PATH: systemd is not told when the service is ready, reloading or stopping (${COMMAND} comes with systemd, in /usr/bin or /bin: put that directory in the unit's PATH)`,
            { path: env.PATH },
          );
        } else if (failure !== undefined || code !== 0) {
          log(
            'warn',
            `systemd was not told ${fields[0]}: ${failure ?? (said.trim().split('\n')[0] || `${COMMAND} exited ${code}`)}`,
            { socket: this.socket },
          );
        }
        resolve();
      });
    });
  }
}
