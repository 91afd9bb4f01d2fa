/**
 * A closed log pipe must not end the app: the reader of its stdout or stderr
 * gone (`baton run … | head`, a log shipper restarted, the terminal of a
 * master that died while its workers drain) makes every later write fail with
 * EPIPE, which Node raises as an 'error' on the stream, and nobody listening,
 * as an uncaught exception. From then on its output is dropped; any other
 * error is thrown as it would have been.
 */
const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

export function survivePipeErrors(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (GONE.has(err.code ?? '')) return;
      process.nextTick(() => {
        throw err;
      });
    });
  }
}
