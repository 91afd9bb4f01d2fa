// A bounded load client that counts every request's outcome. It never retries
// a request the server may have processed: the only retries are HTTP/2 streams
// that the protocol guarantees were not processed (GOAWAY, REFUSED_STREAM),
// and those are counted apart.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * target: { protocol: 'http'|'https'|'http2', host, port } or { protocol: 'http', socketPath }
 * mode: 'keepalive' (connections reused) or 'close' (a new connection per request)
 */
export function startLoad({ target, mode = 'keepalive', concurrency = 16, maxMs = 120_000, maxRequests = 2_000_000, path = '/' }) {
  const stats = { ok: 0, failed: 0, failures: {}, samples: [], pids: new Map(), retried: 0, retries: {} };
  const started = Date.now();
  let stopped = false;
  let issued = 0;
  const more = () => !stopped && Date.now() - started < maxMs && issued < maxRequests;
  const client = target.protocol === 'http2' ? http2Client(target, mode) : http1Client(target, mode);

  const record = (outcome) => {
    if (outcome.ok) {
      stats.ok++;
      stats.pids.set(outcome.pid, (stats.pids.get(outcome.pid) ?? 0) + 1);
    } else if (outcome.retry) {
      stats.retried++;
      stats.retries[outcome.kind] = (stats.retries[outcome.kind] ?? 0) + 1;
    } else {
      stats.failed++;
      stats.failures[outcome.kind] = (stats.failures[outcome.kind] ?? 0) + 1;
      if (stats.samples.length < 20) stats.samples.push({ at: Date.now() - started, kind: outcome.kind, detail: outcome.detail });
    }
  };

  const loops = Array.from({ length: concurrency }, async (_, i) => {
    while (more()) {
      issued++;
      record(await client.request(i, path));
    }
  });
  const done = Promise.all(loops).then(() => client.close());
  return {
    stats,
    /** Stops issuing, waits for requests in flight, returns the counts. */
    async stop() {
      stopped = true;
      await done;
      return stats;
    },
  };
}

function outcomeOf(status, body) {
  if (status !== 200) return { ok: false, kind: `status_${status}`, detail: body.slice(0, 80) };
  const pid = Number(body.trim());
  return Number.isInteger(pid) && pid > 0 ? { ok: true, pid } : { ok: false, kind: 'bad_body', detail: body.slice(0, 80) };
}

function http1Client(target, mode) {
  const lib = target.protocol === 'https' ? https : http;
  const agent = mode === 'keepalive' ? new lib.Agent({ keepAlive: true, maxSockets: Infinity }) : false;
  const base = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
  return {
    request(_i, path) {
      return new Promise((resolve) => {
        let settled = false;
        const settle = (o) => {
          if (!settled) {
            settled = true;
            resolve(o);
          }
        };
        const req = lib.request({ ...base, path, agent, rejectUnauthorized: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => settle(outcomeOf(res.statusCode, body)));
          res.on('error', (err) => settle({ ok: false, kind: err.code ?? 'response_error', detail: err.message }));
        });
        req.on('timeout', () => {
          settle({ ok: false, kind: 'timeout' });
          req.destroy();
        });
        req.on('error', (err) => settle({ ok: false, kind: `${err.code ?? 'error'}${req.reusedSocket ? '(reused)' : ''}`, detail: err.message }));
        req.end();
      });
    },
    close() {
      if (agent) agent.destroy();
    },
  };
}

function authorityOf(target) {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.tls === false ? 'http' : 'https'}://${host}:${target.port}`;
}

// HTTP/2 streams refused before the server processed them: RFC 9113 §8.7 says
// the client may retry these; browsers do.
const UNPROCESSED = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']);

function http2Client(target, mode) {
  const authority = authorityOf(target);
  const sessions = new Map();
  const connect = () => {
    const s = http2.connect(authority, { rejectUnauthorized: false });
    s.on('error', () => {});
    return s;
  };
  const sessionFor = (i) => {
    if (mode === 'close') return connect();
    let s = sessions.get(i % 4);
    if (!s || s.closed || s.destroyed || s.goingAway) {
      s = connect();
      s.on('goaway', () => (s.goingAway = true));
      sessions.set(i % 4, s);
    }
    return s;
  };
  return {
    request(i, path) {
      return new Promise((resolve) => {
        const session = sessionFor(i);
        let settled = false;
        const settle = (o) => {
          if (settled) return;
          settled = true;
          if (mode === 'close') session.close();
          resolve(o);
        };
        let stream;
        try {
          stream = session.request({ ':path': path });
        } catch (err) {
          settle(UNPROCESSED.has(err.code) ? { ok: false, retry: true, kind: err.code } : { ok: false, kind: err.code ?? 'error', detail: err.message });
          return;
        }
        let body = '';
        let status = 0;
        stream.setEncoding('utf8');
        stream.setTimeout(REQUEST_TIMEOUT_MS, () => {
          settle({ ok: false, kind: 'timeout' });
          stream.close();
        });
        stream.on('response', (h) => (status = h[':status']));
        stream.on('data', (d) => (body += d));
        stream.on('end', () => settle(outcomeOf(status, body)));
        stream.on('close', () => {
          if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) settle({ ok: false, retry: true, kind: 'REFUSED_STREAM' });
          else settle({ ok: false, kind: `stream_closed_${stream.rstCode}` });
        });
        stream.on('error', (err) => {
          if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) settle({ ok: false, retry: true, kind: 'REFUSED_STREAM' });
          else if (UNPROCESSED.has(err.code)) settle({ ok: false, retry: true, kind: err.code });
          else settle({ ok: false, kind: err.code ?? 'error', detail: err.message });
        });
        stream.end();
      });
    },
    close() {
      for (const s of sessions.values()) s.close();
    },
  };
}

/** One request, for probes: resolves { status, body } or rejects. */
export function get(target, path = '/') {
  const lib = target.protocol === 'https' ? https : http;
  const base = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
  if (target.protocol === 'http2') {
    return new Promise((resolve, reject) => {
      const s = http2.connect(authorityOf(target), { rejectUnauthorized: false });
      s.on('error', reject);
      const st = s.request({ ':path': path });
      let body = '';
      let status = 0;
      st.setEncoding('utf8');
      st.on('response', (h) => (status = h[':status']));
      st.on('data', (d) => (body += d));
      st.on('end', () => {
        s.close();
        resolve({ status, body });
      });
      st.on('error', (e) => {
        s.destroy();
        reject(e);
      });
      st.setTimeout(REQUEST_TIMEOUT_MS, () => st.close());
      st.end();
    });
  }
  return new Promise((resolve, reject) => {
    const req = lib.request({ ...base, path, agent: false, rejectUnauthorized: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
