// An app that keeps what it has accepted in an outbox, written out in
// batches, and uses baton's API for a clean hand-over: its onShutdown hook
// writes out the outbox within the time baton says is left, and once it is
// draining it writes each new item at once instead of queueing it (requests
// on connections that were open at the hand-over still arrive). Its test, outbox.test.mjs, shows
// batonjs/testing at both levels: the hook in a unit test, the app under load.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { isDraining, onShutdown } from 'batonjs';

/** Accepted but not yet written out. */
export const outbox = [];
/** Written out (a stand-in for a database or a queue). */
export const written = [];

const BATCH = 100;
const MS_PER_BATCH = 5;

/** Writes out what is waiting, a batch per MS_PER_BATCH, as far as `msLeft` allows; returns how many. */
export async function flush(msLeft) {
  const until = Date.now() + msLeft;
  let n = 0;
  while (outbox.length > 0 && Date.now() + MS_PER_BATCH <= until) {
    await new Promise((resolve) => setTimeout(resolve, MS_PER_BATCH));
    const batch = outbox.splice(0, BATCH);
    written.push(...batch);
    n += batch.length;
  }
  return n;
}

export function createServer() {
  setInterval(() => void flush(50), 100).unref();
  onShutdown(async ({ msLeft }) => {
    const n = await flush(msLeft);
    console.log(`outbox: wrote ${n}, ${outbox.length} left`);
  });
  return http.createServer((req, res) => {
    (isDraining() ? written : outbox).push(req.url);
    res.end(`${process.pid}\n`);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env.PORT ?? 8080);
  createServer().listen(port, process.env.HOST ?? '127.0.0.1', () =>
    console.log(`outbox app on ${port} pid ${process.pid}`),
  );
}
