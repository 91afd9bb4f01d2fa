/**
 * A bounded load client that counts every request's outcome. It never retries
 * a request the server may have processed: the only retries are HTTP/2 streams
 * that the protocol guarantees were not processed (GOAWAY, REFUSED_STREAM,
 * RFC 9113 §8.7), and those are counted apart from failures.
 *
 * Only node: modules; every loop stops at `maxMs` or `maxRequests`.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import { sleep } from '../time.js';

/** A TCP address. `tls: false` with protocol 'http2' is cleartext HTTP/2 (h2c). */
export interface TcpTarget {
  protocol: 'http' | 'https' | 'http2';
  host: string;
  port: number;
  tls?: boolean;
}

/** A unix socket path, HTTP/1 (or HTTPS) only. */
export interface UnixTarget {
  protocol?: 'http' | 'https';
  socketPath: string;
}

export type Target = TcpTarget | UnixTarget;

/** 'keepalive': connections are reused; 'close': a new connection per request. */
export type LoadMode = 'keepalive' | 'close';

/**
 * What counts as a good response. 'ok' (the default): status 200-399.
 * 'pid': status 200 and a body that is the serving process's pid (baton's
 * examples answer that way), counted per pid in `stats.pids`. A function: its
 * verdict, given a response's status and (up to 4 KiB of) body.
 */
export type Expect = 'ok' | 'pid' | ((status: number, body: string) => boolean);

export interface LoadOptions {
  target: Target;
  mode?: LoadMode;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Stops issuing after this long even without stop() (default 120 000). */
  maxMs?: number;
  /** Stops issuing after this many requests even without stop() (default 2 000 000). */
  maxRequests?: number;
  /** Request path (default '/'). */
  path?: string;
  expect?: Expect;
  /** A request without a complete response after this long is a failure, kind 'timeout' (default 10 000). */
  timeoutMs?: number;
  /**
   * HTTP/1: a request whose reused keep-alive connection closed before any of
   * its response came is counted in `retried`, not `failed`, and the next
   * request goes out, as browsers retry such a request (RFC 9112 §9.3.1). For
   * load through a proxy that closes its idle client connections when it
   * reloads (nginx does): that close is the proxy's, and a backend's failure
   * still reaches the client as a status (502). Off by default: a server's own
   * close of a connection a request was sent on is a failure.
   */
  retryClosedReused?: boolean;
  /**
   * Each loop waits between its requests, a random time from `min` to `max`
   * ms, and in 'keepalive' mode over HTTP/1 holds a connection of its own, as
   * a browser or a pooled service caller does: its connection sits idle
   * between requests, which a load that never pauses never shows.
   */
  pauseMs?: { min: number; max: number };
}

/** One failed request, with the ms since the load started. */
export interface FailureSample {
  at: number;
  kind: string;
  detail?: string;
}

export interface LoadStats {
  /** Requests answered as expected. */
  ok: number;
  /** Requests that failed: error, timeout, unexpected status or body. */
  failed: number;
  /** Failures by kind: an error code (`ECONNRESET`, `ECONNRESET(reused)`), `status_503`, `bad_body`, `timeout`... */
  failures: Record<string, number>;
  /** The first 20 failures. */
  samples: FailureSample[];
  /** With expect 'pid': ok responses by serving pid. */
  pids: Map<number, number>;
  /**
   * HTTP/2 streams refused unprocessed, and with retryClosedReused closed reused connections (not failures: a client
   * may retry them).
   */
  retried: number;
  retries: Record<string, number>;
}

export interface Load {
  /** Counts so far, updated live. */
  readonly stats: LoadStats;
  /** Stops issuing, waits for the requests in flight, returns the counts. */
  stop(): Promise<LoadStats>;
}

export interface Response {
  status: number;
  body: string;
}

type Outcome = { ok: true; pid?: number } | { ok: false; retry?: boolean; kind: string; detail?: string };

interface Client {
  request(slot: number, path: string): Promise<Outcome>;
  close(): void;
}

const MAX_BODY = 4096;
const MAX_SAMPLES = 20;

export function emptyStats(): LoadStats {
  return { ok: 0, failed: 0, failures: {}, samples: [], pids: new Map(), retried: 0, retries: {} };
}

/** Starts `concurrency` request loops against `target`; they run until stop(), `maxMs` or `maxRequests`. */
export function startLoad(options: LoadOptions): Load {
  const {
    target,
    mode = 'keepalive',
    concurrency = 16,
    maxMs = 120_000,
    maxRequests = 2_000_000,
    path = '/',
  } = options;
  const judge = judgeOf(options.expect ?? 'ok');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const stats = emptyStats();
  const started = Date.now();
  let stopped = false;
  let issued = 0;
  const more = () => !stopped && Date.now() - started < maxMs && issued < maxRequests;
  const { pauseMs } = options;
  const client = isHttp2(target)
    ? http2Client(target, mode, judge, timeoutMs)
    : http1Client(target, mode, judge, timeoutMs, {
        retryClosedReused: options.retryClosedReused === true,
        ownConnections: pauseMs !== undefined,
      });
  const loops = Array.from({ length: Math.max(1, concurrency) }, async (_, slot) => {
    while (more()) {
      issued++;
      record(stats, await client.request(slot, path), started);
      if (pauseMs && more()) await sleep(pauseMs.min + Math.random() * Math.max(0, pauseMs.max - pauseMs.min));
    }
  });
  const done = Promise.all(loops).then(() => client.close());
  return {
    stats,
    async stop() {
      stopped = true;
      await done;
      return stats;
    },
  };
}

function record(stats: LoadStats, outcome: Outcome, started: number): void {
  if (outcome.ok) {
    stats.ok++;
    if (outcome.pid !== undefined) stats.pids.set(outcome.pid, (stats.pids.get(outcome.pid) ?? 0) + 1);
  } else if (outcome.retry) {
    stats.retried++;
    stats.retries[outcome.kind] = (stats.retries[outcome.kind] ?? 0) + 1;
  } else {
    stats.failed++;
    stats.failures[outcome.kind] = (stats.failures[outcome.kind] ?? 0) + 1;
    if (stats.samples.length < MAX_SAMPLES)
      stats.samples.push({ at: Date.now() - started, kind: outcome.kind, detail: outcome.detail });
  }
}

/** Adds `from`'s counts into `into` (samples up to 20); returns `into`. */
export function mergeStats(into: LoadStats, from: LoadStats): LoadStats {
  into.ok += from.ok;
  into.failed += from.failed;
  into.retried += from.retried;
  for (const [k, n] of Object.entries(from.failures)) into.failures[k] = (into.failures[k] ?? 0) + n;
  for (const [k, n] of Object.entries(from.retries)) into.retries[k] = (into.retries[k] ?? 0) + n;
  for (const [pid, n] of from.pids) into.pids.set(pid, (into.pids.get(pid) ?? 0) + n);
  into.samples.push(...from.samples.slice(0, Math.max(0, MAX_SAMPLES - into.samples.length)));
  return into;
}

type Judge = (status: number, body: string) => Outcome;

function judgeOf(expect: Expect): Judge {
  const bad = (kind: string, body: string): Outcome => ({ ok: false, kind, detail: body.slice(0, 80) });
  if (expect === 'pid') {
    return (status, body) => {
      if (status !== 200) return bad(`status_${status}`, body);
      const pid = Number(body.trim());
      return Number.isInteger(pid) && pid > 0 ? { ok: true, pid } : bad('bad_body', body);
    };
  }
  if (expect === 'ok')
    return (status, body) => (status >= 200 && status < 400 ? { ok: true } : bad(`status_${status}`, body));
  return (status, body) =>
    expect(status, body) ? { ok: true } : bad(status >= 200 && status < 400 ? 'bad_body' : `status_${status}`, body);
}

function isHttp2(target: Target): target is TcpTarget {
  return target.protocol === 'http2';
}

function http1Base(target: Target): http.RequestOptions {
  return 'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
}

function errorOutcome(err: NodeJS.ErrnoException, suffix = ''): Outcome & { ok: false } {
  return { ok: false, kind: `${err.code ?? 'error'}${suffix}`, detail: err.message };
}

/** A promise settled by the first outcome given to `settle`, for callbacks that may fire more than once. */
function once<T>(body: (settle: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => {
    let settled = false;
    body((v) => {
      if (settled) return;
      settled = true;
      resolve(v);
    });
  });
}

function http1Client(
  target: Target,
  mode: LoadMode,
  judge: Judge,
  timeoutMs: number,
  { retryClosedReused, ownConnections }: { retryClosedReused: boolean; ownConnections: boolean },
): Client {
  const lib = target.protocol === 'https' ? https : http;
  const shared =
    mode === 'keepalive' && !ownConnections ? new lib.Agent({ keepAlive: true, maxSockets: Infinity }) : false;
  const own = new Map<number, http.Agent>();
  const agentFor = (slot: number): http.Agent | false => {
    if (mode !== 'keepalive' || !ownConnections) return shared;
    if (!own.has(slot)) own.set(slot, new lib.Agent({ keepAlive: true, maxSockets: 1 }));
    return own.get(slot)!;
  };
  const base = http1Base(target);
  return {
    request: (slot, path) =>
      once<Outcome>((settle) => {
        const agent = agentFor(slot);
        const req = lib.request({ ...base, path, agent, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            if (body.length < MAX_BODY) body += d;
          });
          res.on('end', () => settle(judge(res.statusCode ?? 0, body)));
          res.on('error', (err) =>
            settle({ ok: false, kind: (err as NodeJS.ErrnoException).code ?? 'response_error', detail: err.message }),
          );
        });
        req.on('timeout', () => {
          settle({ ok: false, kind: 'timeout' });
          req.destroy();
        });
        req.on('error', (err) => {
          // No response has begun: a connection lost mid-response is the response's error, above.
          const outcome = errorOutcome(err, req.reusedSocket ? '(reused)' : '');
          settle(req.reusedSocket && retryClosedReused ? { ...outcome, retry: true } : outcome);
        });
        req.end();
      }),
    close() {
      if (shared) shared.destroy();
      for (const a of own.values()) a.destroy();
    },
  };
}

function authorityOf(target: TcpTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.tls === false ? 'http' : 'https'}://${host}:${target.port}`;
}

// Streams refused before the server processed them: the client may retry these; browsers do.
const UNPROCESSED = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']);
const SESSIONS = 4;

function refusedOrFailed(stream: http2.ClientHttp2Stream | undefined, err?: NodeJS.ErrnoException): Outcome {
  if (stream?.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM)
    return { ok: false, retry: true, kind: 'REFUSED_STREAM' };
  if (err && UNPROCESSED.has(err.code ?? '')) return { ok: false, retry: true, kind: err.code! };
  if (err) return errorOutcome(err);
  return { ok: false, kind: `stream_closed_${stream?.rstCode}` };
}

function http2Client(target: TcpTarget, mode: LoadMode, judge: Judge, timeoutMs: number): Client {
  const authority = authorityOf(target);
  const sessions = new Map<number, http2.ClientHttp2Session>();
  const going = new WeakSet<http2.ClientHttp2Session>();
  const connect = () => {
    const s = http2.connect(authority, { rejectUnauthorized: false });
    s.on('error', () => {});
    return s;
  };
  const sessionFor = (slot: number) => {
    if (mode === 'close') return connect();
    let s = sessions.get(slot % SESSIONS);
    if (!s || s.closed || s.destroyed || going.has(s)) {
      const fresh = connect();
      fresh.on('goaway', () => going.add(fresh));
      sessions.set(slot % SESSIONS, fresh);
      s = fresh;
    }
    return s;
  };
  return {
    async request(slot, path) {
      const session = sessionFor(slot);
      const outcome = await once<Outcome>((settle) => h2Stream(session, path, timeoutMs, judge, settle));
      if (mode === 'close') session.close();
      return outcome;
    },
    close() {
      for (const s of sessions.values()) s.close();
    },
  };
}

function h2Stream(
  session: http2.ClientHttp2Session,
  path: string,
  timeoutMs: number,
  judge: Judge,
  done: (o: Outcome) => void,
): void {
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request({ ':path': path });
  } catch (err) {
    done(refusedOrFailed(undefined, err as NodeJS.ErrnoException));
    return;
  }
  let body = '';
  let status = 0;
  stream.setEncoding('utf8');
  stream.setTimeout(timeoutMs, () => {
    done({ ok: false, kind: 'timeout' });
    stream.close();
  });
  stream.on('response', (h) => (status = Number(h[':status'])));
  stream.on('data', (d: string) => {
    if (body.length < MAX_BODY) body += d;
  });
  stream.on('end', () => done(judge(status, body)));
  stream.on('close', () => done(refusedOrFailed(stream)));
  stream.on('error', (err) => done(refusedOrFailed(stream, err)));
  stream.end();
}

/** One request, for probes: resolves { status, body } (any status) or rejects on an error or after `timeoutMs`. */
export function get(target: Target, path = '/', timeoutMs = 10_000): Promise<Response> {
  return isHttp2(target) ? get2(target, path, timeoutMs) : get1(target, path, timeoutMs);
}

function get1(target: Target, path: string, timeoutMs: number): Promise<Response> {
  const lib = target.protocol === 'https' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      { ...http1Base(target), path, agent: false, rejectUnauthorized: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function get2(target: TcpTarget, path: string, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(authorityOf(target), { rejectUnauthorized: false });
    let settled = false;
    const finish = (err: Error | undefined, res?: Response) => {
      if (settled) return;
      settled = true;
      if (err) s.destroy();
      else s.close();
      if (err) reject(err);
      else resolve(res!);
    };
    s.on('error', (err) => finish(err));
    const st = s.request({ ':path': path });
    let body = '';
    let status = 0;
    st.setEncoding('utf8');
    st.on('response', (h) => (status = Number(h[':status'])));
    st.on('data', (d: string) => (body += d));
    st.on('end', () => finish(undefined, { status, body }));
    st.on('error', (err) => finish(err));
    st.on('close', () => finish(new Error(`stream closed (code ${st.rstCode}) before the response ended`)));
    st.setTimeout(timeoutMs, () => finish(new Error(`no response within ${timeoutMs} ms`)));
    st.end();
  });
}
