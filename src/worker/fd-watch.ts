/**
 * Says when this process is about to run out of file descriptors. Past its
 * limit, accept() fails with EMFILE and libuv accepts and closes every waiting
 * connection so that the listener does not spin: clients see resets, and
 * neither Node nor the app says a word. Linux only, where /proc gives the count
 * and the limit cheaply; where the limit cannot be read, nothing is watched.
 */
import fs from 'node:fs';
import { RAISE_FD_LIMIT } from '../generation/parent.js';
import { log } from '../log.js';

/**
 * A sample is one listing of /proc/self/fd, on the thread pool: about 0.1 ms of the main thread for a few hundred fds.
 */
const SAMPLE_EVERY_MS = 5_000;
/** However long a shortage lasts, the log gets one line per this span. */
const WARN_EVERY_MS = 60_000;

/** The soft limit on open files in the text of /proc/self/limits; undefined when unlimited or absent. */
export function parseOpenFilesLimit(text: string): number | undefined {
  const m = /^Max open files +(\d+) /m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Close enough to the limit that a burst of connections would reach it: within 2 % of it, and at least 16. */
export function nearLimit(open: number, limit: number): boolean {
  return open >= limit - Math.max(16, Math.ceil(limit * 0.02));
}

export function exhaustionLine(open: number, limit: number): string {
  return `file descriptors ${open >= limit ? 'exhausted' : 'nearly exhausted'}: new connections are reset while none are free (${RAISE_FD_LIMIT})`;
}

export interface FdWatch {
  stop(): void;
}

/** Samples every SAMPLE_EVERY_MS once the limit is known; the timer never keeps the process alive. */
export function watchFds(): FdWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let warnedAt = -Infinity;
  const sample = async (known: number): Promise<void> => {
    const open = await countOpen(known);
    let limit = known;
    // The limit may have been raised since (prlimit), so it is read again when it matters;
    // with no fd free it cannot be, and the last one read stands.
    if (open !== undefined && nearLimit(open, limit)) limit = (await readLimit()) ?? limit;
    const now = performance.now();
    if (!stopped && open !== undefined && nearLimit(open, limit) && now - warnedAt >= WARN_EVERY_MS) {
      warnedAt = now;
      log('warn', exhaustionLine(open, limit), { open, limit });
    }
    schedule(limit);
  };
  // One sample at a time, however slow a busy thread pool makes one.
  const schedule = (limit: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void sample(limit), SAMPLE_EVERY_MS);
    timer.unref();
  };
  void readLimit().then((limit) => {
    if (limit !== undefined) schedule(limit);
  });
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

async function readLimit(): Promise<number | undefined> {
  try {
    return parseOpenFilesLimit(await fs.promises.readFile('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** This process's open fds. With none free, listing them fails with EMFILE: then all `limit` are taken. */
async function countOpen(limit: number): Promise<number | undefined> {
  try {
    // The listing holds an fd of its own, and lists it.
    return (await fs.promises.readdir('/proc/self/fd')).length - 1;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EMFILE' ? limit : undefined;
  }
}
