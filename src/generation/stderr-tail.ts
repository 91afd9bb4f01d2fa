/**
 * Keeps the last few KiB a starting process writes to stderr, so that a
 * predecessor rolling back can say why. stderr itself stays inherited (never
 * piped through a process that may exit first); the copy is kept only until the
 * process is through its crash window, so serving traffic afterwards costs nothing.
 */
import { teeStderr } from '../internals/patches.js';

const LIMIT = 4096;

let tail = '';
let restore: (() => void) | undefined;

export function captureStderr(): void {
  restore ??= teeStderr(addToTail);
}

/** Also what Node writes to stderr beneath process.stderr, as an uncaught exception's stack. */
export function addToTail(text: string): void {
  tail = (tail + text).slice(-LIMIT);
}

export function stopCapture(): void {
  restore?.();
  restore = undefined;
  tail = '';
}

export function stderrTail(): string {
  return tail;
}
