/**
 * The app's own server.close() while baton drains the server (from its
 * SIGTERM listener: Next.js's, terminus's, close-with-grace's). Node's would
 * fail, baton having closed the listening handle already: its callback got
 * ERR_SERVER_NOT_RUNNING, which Next.js printed with its stack at every stop,
 * and terminus took for a failed shutdown. Instead the call asks to be told
 * when the server's drain has ended: its callback runs then, without an error,
 * so `server.close(() => process.exit(0))` exits after the requests in flight.
 */
import type net from 'node:net';

type CloseCallback = (err?: Error) => unknown;

/** Per server baton drains: the app's close() calls, and the callbacks they wait with. */
const calls = new WeakMap<net.Server, { count: number; callbacks: CloseCallback[] }>();

/** From now on the app's close() of `server` waits for the drain's end. */
export function holdClose(server: net.Server): void {
  const held = { count: 0, callbacks: [] as CloseCallback[] };
  calls.set(server, held);
  server.close = function close(this: net.Server, cb?: CloseCallback) {
    held.count++;
    if (typeof cb === 'function') held.callbacks.push(cb);
    return this;
  } as typeof server.close;
}

/**
 * The drain of `servers` has ended: the callbacks waiting run now, and those
 * of later calls at once. Returns whether the app closed any of them during
 * the drain, and what the callbacks returned, a throw as a rejection.
 */
export function releaseClose(servers: readonly net.Server[]): { closed: boolean; results: Promise<unknown>[] } {
  let closed = false;
  const results = servers.flatMap((server) => {
    const run = (cb: CloseCallback): Promise<unknown> => Promise.resolve().then(() => cb.call(server));
    server.close = function close(this: net.Server, cb?: CloseCallback) {
      if (typeof cb === 'function') void run(cb);
      return this;
    } as typeof server.close;
    const held = calls.get(server);
    closed ||= (held?.count ?? 0) > 0;
    return (held?.callbacks.splice(0) ?? []).map(run);
  });
  return { closed, results };
}
