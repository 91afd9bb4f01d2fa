/**
 * Refused requests in the log: at most one line per client per window, the
 * first at once, the others counted into a line at the window's end. A flood
 * of guesses is then a few lines a minute, not one per request, and the log
 * still says who, how many times, and why.
 */
import { log } from '../log.js';

const REFUSALS_WINDOW_MS = 60_000;
/** Clients followed at once; past it a refusal is counted for no one, under this name. */
const MAX_CLIENTS = 4096;
const OTHERS = 'others';

type Say = (client: string, count: number, why: string) => void;

const sayInLog: Say = (client, count, why) => log('warn', 'admin: refused requests', { client, count, why });

export class RefusalLog {
  /** Per client whose line went out within the window: refusals since then, and the latest reason. */
  private readonly quiet = new Map<string, { count: number; why: string }>();

  constructor(
    private readonly say: Say = sayInLog,
    private readonly windowMs = REFUSALS_WINDOW_MS,
  ) {}

  refused(client: string, why: string): void {
    const who = this.quiet.has(client) || this.quiet.size < MAX_CLIENTS ? client : OTHERS;
    const entry = this.quiet.get(who);
    if (entry) {
      entry.count += 1;
      entry.why = why;
      return;
    }
    this.say(who, 1, why);
    this.hush(who);
  }

  /**
   * Holds `client`'s lines back for a window; at its end, says what was held back (and holds back again), or forgets
   * it.
   */
  private hush(client: string): void {
    const entry = { count: 0, why: '' };
    this.quiet.set(client, entry);
    setTimeout(() => {
      this.quiet.delete(client);
      if (entry.count === 0) return;
      this.say(client, entry.count, entry.why);
      this.hush(client);
    }, this.windowMs).unref();
  }
}
