/**
 * `baton upgrade`, the new master's side (supervisor/upgrade.ts starts it):
 * it serves on the sockets it was passed, answers on the control socket and
 * the admin listener it was passed, and tells the old master once its first
 * generation is in service (ready, and through the crash window). Until then
 * systemd hears nothing from it (a failed new master must not end the
 * service), and what it writes to stderr also goes to the old master, which
 * quotes it if this master fails. Then it announces its pid (MAINPID=, with
 * READY=1) and owns the control socket's path.
 */
import fs from 'node:fs';
import { teeStderr } from '../internals/patches.js';
import { type LogEntry, errMessage, log, textLine } from '../log.js';
import type { Status } from '../protocol/control.js';
import type { InheritedFd } from '../protocol/fds.js';
import type { Env } from '../protocol/settings.js';
import { ADMIN_FD_NAME, CONTROL_FD_NAME, UPGRADE_OWNED, UPGRADE_TAIL_FD, inService } from '../protocol/upgrade.js';
import type { Inherited } from '../listeners/inherit.js';
import type { Notifier } from '../systemd/notify.js';

/** What the new master does as it takes over: answer on the control socket and admin listener; then the rest. */
export interface Hooks {
  listen(): Promise<void>;
  tookOver(): void;
}

/** What the new master watches of its own master. */
export interface Watched {
  status(): Status;
  isStopping(): boolean;
  stop(code?: number): void;
}

export class Takeover {
  /** The inherited control socket and admin listener; the rest are the app's. */
  readonly controlFd: number | undefined;
  readonly adminFd: number | undefined;
  readonly listening: InheritedFd[];
  private restoreStderr: (() => void) | undefined;
  private inService = false;

  /** A master started by `baton upgrade` (the tail pipe named, an IPC channel to it); otherwise undefined. */
  static from(env: Env, fds: readonly InheritedFd[]): Takeover | undefined {
    const tail = Number(env[UPGRADE_TAIL_FD]);
    const owned = env[UPGRADE_OWNED];
    delete env[UPGRADE_TAIL_FD];
    delete env[UPGRADE_OWNED];
    if (!Number.isInteger(tail) || tail < 3 || typeof process.send !== 'function') return undefined;
    return new Takeover(tail, fds, ownedNames(owned));
  }

  private constructor(
    private readonly tailFd: number,
    fds: readonly InheritedFd[],
    private readonly owned: ReadonlySet<string>,
  ) {
    this.controlFd = fds.find((f) => f.name === CONTROL_FD_NAME)?.fd;
    this.adminFd = fds.find((f) => f.name === ADMIN_FD_NAME)?.fd;
    this.listening = fds.filter((f) => f.name !== CONTROL_FD_NAME && f.name !== ADMIN_FD_NAME);
    this.restoreStderr = teeStderr((text) => this.toTail(text));
  }

  /** One of this master's log lines (written to fd 2 directly, past process.stderr): for the tail too. */
  logged(entry: LogEntry): void {
    if (!this.inService) this.toTail(`${textLine(entry)}\n`);
  }

  private toTail(text: string): void {
    try {
      fs.writeSync(this.tailFd, text);
    } catch {
      // The old master is gone, or stopped reading: the text still went to stderr.
    }
  }

  /** Marks the inherited sockets whose unix paths are this master's now, as they were the old one's. */
  ownPaths(inherited: readonly Inherited[]): void {
    for (const i of inherited) if (this.owned.has(i.name)) i.ownsPath = true;
  }

  private inner: Notifier | undefined;
  private watched: { master: Watched; crashWindowMs: number; version: string; hooks: Hooks } | undefined;
  private judging: false | 'waiting' | 'telling' = false;

  /** `inner`, silent until this master is in service; then READY=1 with MAINPID=. */
  notifier(inner: Notifier): Notifier {
    this.inner = inner;
    return {
      serving: (generation, o) => {
        if (this.inService) inner.serving(generation, o);
        else this.served(generation);
      },
      reloading: (next, serving) => {
        if (this.inService) inner.reloading(next, serving);
      },
      stopping: () => {
        if (this.inService) inner.stopping();
      },
      flushed: () => inner.flushed(),
    };
  }

  /**
   * Once `master`'s first generation serves and has stayed up through `crashWindowMs`: listens on the control socket
   * and the admin listener, tells the old master, then `tookOver`. A crash meanwhile, or the old master gone: this
   * master stops, failed.
   */
  watch(master: Watched, crashWindowMs: number, version: string, hooks: Hooks): void {
    this.watched = { master, crashWindowMs, version, hooks };
    process.once('disconnect', () => {
      if (this.inService || this.judging === 'telling') return;
      log('error', 'the old master is gone before this one served: stopping');
      master.stop(1);
    });
  }

  private served(generation: number): void {
    const w = this.watched;
    if (!w || this.judging) return;
    this.judging = 'waiting';
    const pids = readyPids(w.master.status());
    setTimeout(() => this.judge(generation, pids), w.crashWindowMs);
  }

  private judge(generation: number, pids: string): void {
    const { master } = this.watched!;
    if (master.isStopping()) return;
    if (readyPids(master.status()) !== pids) {
      log('error', 'a worker of the first generation exited within the crash window: the old master serves on');
      master.stop(1);
      return;
    }
    this.judging = 'telling';
    this.watched!.hooks.listen().then(
      () => this.tell(generation),
      (err: unknown) => {
        log('error', `cannot answer on the sockets the old master passed: ${errMessage(err)}`);
        master.stop(1);
      },
    );
  }

  private tell(generation: number): void {
    const { version, hooks } = this.watched!;
    process.send!(inService(process.pid, version), undefined, {}, (err: Error | null) => {
      if (err)
        log('warn', 'the old master was not told that this one serves (it is gone?)', { error: errMessage(err) });
      this.inService = true;
      this.restoreStderr?.();
      this.restoreStderr = undefined;
      try {
        fs.closeSync(this.tailFd);
      } catch {
        // already closed
      }
      process.disconnect?.();
      this.inner?.serving(generation, { mainPid: process.pid });
      log('info', 'upgrade: this master serves; the old one drains and exits', { pid: process.pid, version });
      hooks.tookOver();
    });
  }
}

function ownedNames(json: string | undefined): ReadonlySet<string> {
  try {
    const names: unknown = JSON.parse(json ?? '[]');
    return new Set(Array.isArray(names) ? names.filter((n) => typeof n === 'string') : []);
  } catch {
    return new Set();
  }
}

/** The pids of the ready workers, as one string: the same ones later, or not. */
function readyPids(s: Status): string {
  return s.workers
    .filter((w) => w.state === 'ready')
    .map((w) => w.pid)
    .sort()
    .join(',');
}
