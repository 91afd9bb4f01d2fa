/**
 * Keeps the last few KiB a starting process writes to stderr, so that a
 * predecessor rolling back can say why. stderr itself stays inherited (never
 * piped through a process that may exit first); the copy is kept only until the
 * process is ready, so serving traffic costs nothing.
 */
const LIMIT = 4096;

let tail = '';
let restore: (() => void) | undefined;

export function captureStderr(): void {
  if (restore) return;
  const stream = process.stderr;
  const original = stream.write;
  stream.write = function (this: typeof stream, chunk: unknown, ...rest: unknown[]): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : '';
    tail = (tail + text).slice(-LIMIT);
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stream.write;
  restore = () => {
    stream.write = original;
  };
}

export function stopCapture(): void {
  restore?.();
  restore = undefined;
  tail = '';
}

export function stderrTail(): string {
  return tail;
}
