// An HTTP/2 load generator that behaves like a real client at a GOAWAY, as
// browsers, Go and grpc-js do: it opens no new stream on a connection that
// said GOAWAY, opens a new connection for what comes next, and sends again on
// it what the server said it never processed (a stream above the GOAWAY's last
// stream id). h2load does neither: it counts the requests it can no longer
// submit as errored and stops, which measures h2load, not the server.
//
// Each of `connections` slots keeps `streams` requests in flight for
// `durationS` seconds. Outcomes, per request:
//   ok       a 200 response
//   retried  not processed per the server's GOAWAY, sent again on a new
//            connection (counted once per retry; the request still ends ok or failed)
//   refused  RST_STREAM(REFUSED_STREAM) from the server on a stream its
//            GOAWAY had not excluded: a server that dropped a request it
//            had accepted (target 0)
//   failed   anything else: a reset, a connection error, a non-200, a timeout
import http2 from 'node:http2';

/** How often a request is sent again after GOAWAYs before it counts as failed. */
const MAX_RETRIES = 3;
const REQUEST_TIMEOUT_MS = 5000;

/**
 * Runs the load; resolves { requests, ok, failed, refused, retried, connectionsOpened, errors, latencyMs } after
 * `durationS` once every request in flight has ended.
 */
export function runH2Load({ url, connections = 20, streams = 10, durationS, tls = false }) {
  const stats = { ok: 0, failed: 0, refused: 0, retried: 0, connectionsOpened: 0, errors: {}, latencies: [] };
  const end = Date.now() + durationS * 1000;
  const connectOptions = tls ? { rejectUnauthorized: false } : {};

  const fail = (why) => {
    stats.failed++;
    stats.errors[why] = (stats.errors[why] ?? 0) + 1;
  };

  /** @typedef {http2.ClientHttp2Session & { goneAway?: boolean, lastStreamID?: number }} Session */
  /** One connection slot: a session, replaced once it says GOAWAY or closes. */
  function slot() {
    /** @type {Session} */
    let session;
    const current = () => {
      if (session && !session.closed && !session.destroyed && !session.goneAway) return session;
      stats.connectionsOpened++;
      /** @type {Session} */
      const s = http2.connect(url, connectOptions);
      s.goneAway = false;
      s.lastStreamID = Infinity;
      s.on('goaway', (_code, lastStreamID) => {
        s.goneAway = true;
        s.lastStreamID = lastStreamID;
      });
      s.on('error', () => {});
      session = s;
      return s;
    };
    /** One request, sent again on a new connection while the server's GOAWAY says it was not processed. */
    const request = (attempt = 0) =>
      new Promise((resolve) => {
        const s = current();
        const t0 = performance.now();
        let req;
        try {
          req = s.request({ ':path': '/' });
        } catch (err) {
          // The session closed between current() and request(): nothing was sent.
          session = undefined;
          resolve(attempt < MAX_RETRIES ? request(attempt + 1) : fail(err.code ?? err.message));
          return;
        }
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.close(http2.constants.NGHTTP2_CANCEL));
        let status;
        req.on('response', (h) => (status = h[':status']));
        req.resume();
        const settle = () => {
          const unprocessed = req.id === undefined || req.id > s.lastStreamID;
          if (status === undefined && unprocessed && attempt < MAX_RETRIES) {
            stats.retried++;
            return resolve(request(attempt + 1));
          }
          if (status === undefined && req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && !unprocessed) {
            stats.refused++;
            return resolve();
          }
          resolve(fail(status === undefined ? `rst ${req.rstCode}` : `status ${status}`));
        };
        req.on('close', () => {
          if (status === 200 && req.rstCode === http2.constants.NGHTTP2_NO_ERROR) {
            stats.ok++;
            stats.latencies.push(performance.now() - t0);
            return resolve();
          }
          // A stream the final GOAWAY excludes closes as REFUSED_STREAM, sometimes
          // before that GOAWAY's 'goaway' event: decide once the session is over.
          if (req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && !s.destroyed) s.once('close', settle);
          else settle();
        });
        req.on('error', () => {});
        req.end();
      });
    const lane = async () => {
      while (Date.now() < end) await request();
    };
    return {
      run: () => Promise.all(Array.from({ length: streams }, lane)),
      close: () => session?.close(),
    };
  }

  const slots = Array.from({ length: connections }, slot);
  const startedAt = Date.now();
  return Promise.all(slots.map((s) => s.run())).then(() => {
    for (const s of slots) s.close();
    const sorted = stats.latencies.sort((a, b) => a - b);
    const at = (p) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null;
    return {
      durationMs: Date.now() - startedAt,
      requests: stats.ok + stats.failed + stats.refused,
      ok: stats.ok,
      failed: stats.failed,
      refused: stats.refused,
      retried: stats.retried,
      connectionsOpened: stats.connectionsOpened,
      errors: stats.errors,
      latencyMs: { p50: at(50), p99: at(99), max: sorted.at(-1) ?? null },
    };
  });
}
