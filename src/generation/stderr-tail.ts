/**
 * Keeps the last few KiB a starting process writes to stderr, so that a
 * predecessor rolling back can say why. stderr itself stays inherited (never
 * piped through a process that may exit first); the copy is kept only until the
 * process is through its crash window, so serving traffic afterwards costs nothing.
 * An uncaught exception's report is kept whole (up to FATAL_LIMIT), however much
 * was written before it: the rollback's reason shows its message, every frame
 * and its cause, with LIMIT of what came before and after it.
 */
import { teeStderr } from '../internals/patches.js';

const LIMIT = 4096;
/** The most of an uncaught exception's report kept; the whole tail stays well under the channel's 64 KiB a string. */
const FATAL_LIMIT = 16 * 1024;

let tail = '';
/** LIMIT, and once a report is kept, as much more as keeps it whole. */
let keep = LIMIT;
let restore: (() => void) | undefined;

export function captureStderr(): void {
  restore ??= teeStderr(addToTail);
}

function addToTail(text: string): void {
  tail = (tail + text).slice(-keep);
}

/** An uncaught exception's report, which Node writes beneath process.stderr: kept whole, up to FATAL_LIMIT. */
export function addFatal(report: string): void {
  const whole = report.length > FATAL_LIMIT ? `${report.slice(0, FATAL_LIMIT)}…\n` : report;
  tail = tail.slice(-LIMIT) + whole;
  keep = Math.min(tail.length, LIMIT + FATAL_LIMIT) + LIMIT;
}

export function stopCapture(): void {
  restore?.();
  restore = undefined;
  tail = '';
  keep = LIMIT;
}

export function stderrTail(): string {
  return tail;
}
