/**
 * What baton reaches in Node's HTTP/2 that Node does not publish: the streams
 * a session has open (its state's map, read at drain time, so that no stream
 * costs a step of bookkeeping), and a stream's native handle, whose
 * shutdown() sends END_STREAM (or, for a response with trailers, lets them be
 * asked for). Node calls shutdown() from two places (the stream's _final, and
 * right after the last write of end(data), so that the last DATA frame
 * carries END_STREAM), so the end is held there, where both meet. Without
 * them the drain still works: a request a client sends just before it sees
 * the first GOAWAY may have to be sent again.
 */
import type http2 from 'node:http2';
import { warnOnce } from './warn.js';

const HANDLE = 'kHandle';
const STATE = 'state';
const MISSING = 'http2.internals';

interface ShutdownReq {
  oncomplete(status: number): void;
}
interface StreamHandle {
  shutdown(req: ShutdownReq): number;
}

let kHandle: symbol | undefined;
let kState: symbol | undefined;

/** The streams `session` has open, or undefined when this Node keeps them elsewhere. */
export function openStreams(session: http2.Http2Session): http2.Http2Stream[] | undefined {
  kState ??= Object.getOwnPropertySymbols(session).find((s) => s.description === STATE);
  const streams =
    kState &&
    (session as unknown as Record<symbol, { streams?: { values?: () => Iterable<unknown> } } | undefined>)[kState]
      ?.streams;
  if (typeof streams?.values !== 'function') {
    warnOnce(
      MISSING,
      `this Node.js keeps no '${STATE}.streams' on HTTP/2 sessions: a request sent as the drain starts may have to be sent again`,
    );
    return undefined;
  }
  return [...streams.values()] as http2.Http2Stream[];
}

/**
 * Holds the stream's END_STREAM until the returned release is called (headers
 * and data go out meanwhile); a no-op release when the handle is not there or
 * the stream has already ended.
 */
export function holdStreamEnd(stream: http2.Http2Stream): () => void {
  kHandle ??= Object.getOwnPropertySymbols(stream).find((s) => s.description === HANDLE);
  const handle = kHandle && (stream as unknown as Record<symbol, StreamHandle | undefined>)[kHandle];
  if (typeof handle?.shutdown !== 'function') {
    if (!stream.destroyed)
      warnOnce(
        MISSING,
        `this Node.js has no '${HANDLE}' on HTTP/2 streams: a request sent as the drain starts may have to be sent again`,
      );
    return () => {};
  }
  const shutdown = handle.shutdown;
  let held: ShutdownReq | undefined;
  let holding = true;
  handle.shutdown = (req) => {
    if (!holding) return Reflect.apply(shutdown, handle, [req]) as number;
    held = req;
    return 0;
  };
  return () => {
    if (!holding) return;
    holding = false;
    if (held === undefined) return;
    // 1: done at once, and Node then calls oncomplete itself; here nobody would.
    if (Reflect.apply(shutdown, handle, [held]) === 1) held.oncomplete(0);
  };
}
