/**
 * Watching the serving generation's heartbeats. Watchdog tells which ready
 * workers have fallen silent: a worker beats every
 * HEARTBEAT_MS, so one silent for the limit is stopped (SIGSTOP) or stuck in
 * a loop, though its state still says ready. Each worker is reported once per
 * silence, and again as it answers if it does.
 *
 * A silence is only the worker's if the master was listening: a master that
 * was itself stopped (SIGSTOP, a frozen VM) wakes to find every worker's last
 * beat old, their later beats still unread in its channels. So a check that
 * runs late by more than a beat finds nothing, and the next one, after those
 * beats have been read, decides.
 */
import { HEARTBEAT_MS } from '../protocol/messages.js';
import { log } from '../log.js';
import type { Worker } from './worker.js';

export class Watchdog {
  private readonly silent = new WeakSet<Worker>();
  private lastCheck: number | undefined;

  constructor(
    private readonly limitMs: number,
    private readonly everyMs: number,
  ) {}

  /** How long `w` has said nothing since it was ready. */
  static silentFor(w: Worker, now: number): number {
    return now - (w.heartbeat?.at ?? w.readyAt ?? now);
  }

  isSilent(w: Worker): boolean {
    return this.silent.has(w);
  }

  /**
   * The ready workers newly silent for the limit, and the silent ones that
   * beat again; `lateMs` when this check ran that late, the master's own
   * pause, and looked at nobody.
   */
  check(workers: readonly Worker[], now: number): { silent: Worker[]; answering: Worker[]; lateMs?: number } {
    const silent: Worker[] = [];
    const answering: Worker[] = [];
    if (this.limitMs === 0) return { silent, answering };
    const lateMs = now - (this.lastCheck ?? now) - this.everyMs;
    this.lastCheck = now;
    if (lateMs > this.everyMs) return { silent, answering, lateMs };
    for (const w of workers) {
      if (w.state !== 'ready') continue;
      const quiet = Watchdog.silentFor(w, now) >= this.limitMs;
      if (quiet && !this.silent.has(w)) {
        this.silent.add(w);
        silent.push(w);
      } else if (!quiet && this.silent.has(w)) {
        this.silent.delete(w);
        answering.push(w);
      }
    }
    return { silent, answering };
  }
}

/** What watching needs of the master: its slots, and how to fill one. */
export interface WatchedSlots {
  /** The serving generation's workers, by slot. */
  readonly live: readonly (Worker | undefined)[];
  /** A new worker of the serving generation, for `slot`. */
  spawn(slot: number): Worker;
  /** `fresh` takes `slot` from `silent`; false if `silent` no longer holds it, or the master is stopping. */
  swap(slot: number, silent: Worker, fresh: Worker): boolean;
  /** The deadline of a drain ordered now. */
  deadline(): number;
}

/**
 * Checks the serving generation's heartbeats every HEARTBEAT_MS: reports the
 * workers that fell silent (and those that answer again), and with
 * --replace-unresponsive starts a new worker first, then kills the silent one
 * (or drains it, if it has answered meanwhile).
 */
export class HeartbeatWatch {
  private readonly detector: Watchdog;
  /** Silent workers whose replacement is starting, and that replacement. */
  private readonly replacing = new Map<Worker, Worker>();
  /** Silent workers replaced, draining (or being killed). */
  private readonly replaced = new Set<Worker>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { unresponsiveMs: number; replaceUnresponsive: boolean },
    private readonly slots: WatchedSlots,
  ) {
    this.detector = new Watchdog(o.unresponsiveMs, HEARTBEAT_MS);
  }

  start(): void {
    if (this.o.unresponsiveMs === 0) return;
    this.timer = setInterval(() => this.check(), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  isSilent(w: Worker): boolean {
    return this.detector.isSilent(w);
  }

  /** A silent worker died while its replacement was starting: the replacement, which takes its slot. */
  takeReplacement(dead: Worker): Worker | undefined {
    const fresh = this.replacing.get(dead);
    this.replacing.delete(dead);
    return fresh;
  }

  /** A worker that has exited. */
  forget(w: Worker): void {
    this.replaced.delete(w);
  }

  /** The replacements starting and the silent workers they replaced, for status and a stop. */
  workers(): Worker[] {
    return [...this.replacing.values(), ...this.replaced];
  }

  private check(): void {
    const now = Date.now();
    const live = this.slots.live.filter((w): w is Worker => w !== undefined);
    const { silent, answering, lateMs } = this.detector.check(live, now);
    if (lateMs !== undefined) {
      log(
        'info',
        `the master's own timers ran ${lateMs} ms late (it was paused): looking at the workers' heartbeats again in ${HEARTBEAT_MS} ms`,
      );
    }
    for (const w of answering) log('info', `${w.name} answers again`, { worker: w.pid });
    for (const w of silent) {
      const what = this.o.replaceUnresponsive ? 'replacing it' : 'not replacing it (--replace-unresponsive would)';
      const how = 'its event loop is blocked, or it is stopped';
      log('warn', `${w.name} has sent no heartbeat for ${Watchdog.silentFor(w, now)} ms: ${how}; ${what}`, {
        worker: w.pid,
      });
      if (this.o.replaceUnresponsive) this.replace(w);
    }
  }

  private replace(silent: Worker): void {
    const slot = this.slots.live.indexOf(silent);
    if (slot < 0) return;
    const fresh = this.slots.spawn(slot);
    this.replacing.set(silent, fresh);
    fresh.ready.then(
      () => {
        if (!this.replacing.delete(silent)) return; // it took the slot of the silent one, which died meanwhile
        if (!this.slots.swap(slot, silent, fresh)) {
          fresh.drain('stop', this.slots.deadline());
          return;
        }
        this.replaced.add(silent);
        if (this.detector.isSilent(silent)) {
          log('warn', `killing ${silent.name}: ${fresh.name} has replaced it`, { worker: silent.pid });
          silent.kill();
        } else {
          silent.drain('stop', this.slots.deadline());
        }
      },
      (err: Error) => {
        this.replacing.delete(silent);
        log('error', `could not replace ${silent.name}: ${err.message}`);
      },
    );
  }
}
