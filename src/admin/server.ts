/**
 * The admin listener, in the master (so a reload never takes it down): a
 * JSON API over HTTP for fleet tooling, probes for orchestrators, and
 * Prometheus metrics. It reaches the master only through what the control
 * socket serves (Controllable) and two probes of its state.
 *
 *   GET  /              the admin page (page.ts), signed in to with the token (session.ts)
 *   GET  /healthz       200 ok                        no token: the master is alive
 *   GET  /readyz        200 ready | 503 not ready     no token
 *   GET  /metrics       Prometheus text               token unless metricsPublic
 *   GET  /api/status    the status, as `baton status --json`
 *   GET  /api/releases  the releases, as `baton releases --json` (404 without --releases)
 *   GET  /api/events    the master's timeline, Server-Sent Events resumed after Last-Event-ID (control/events.ts)
 *   GET  /api/logs      with --log-file, the last lines kept: ?after=SEQ&worker=PID&limit=N; Accept:
 *                       text/event-stream streams them as they come, resumed after Last-Event-ID (logs.ts)
 *   POST /api/reload    the reload's result; Accept: text/event-stream streams the phases first;
 *                       a body {"release":"NAME"} names the release to start
 *   POST /api/stop      202, then the master drains and exits
 *   POST /signin        the token as a bearer token: a session cookie for the page; /signout ends it
 *
 * No action is ever taken on GET: a link, a prefetch or an image tag cannot
 * reload or stop. A request names a path, never a host (origin-form only), so
 * a proxy that filters by path sees what is served. What a client can make
 * the master hold is bounded: a request must arrive whole within a deadline
 * and with a small body, an idle connection is closed soon, and each client
 * holds only a few connections (connections.ts), so probes always find a slot.
 * With --admin-tls-cert and --admin-tls-key it serves HTTPS (tls.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import {
  type Controllable,
  NO_RELEASES,
  type Timeline,
  type TimelineEvent,
  parseBatch,
  parseCanary,
} from '../protocol/control.js';
import type { LogSource } from '../protocol/logs.js';
import { askReload, stopOnce } from '../control/answers.js';
import { quote } from '../protocol/quote.js';
import { log } from '../log.js';
import { Guard } from './auth.js';
import { clientOf } from './client.js';
import { limitConnections } from './connections.js';
import { type AdminOptions, cannotListen } from './options.js';
import { RefusalLog } from './refusals.js';
import { loadCertificate } from './tls.js';
import { CONTENT_TYPE } from './metrics.js';
import { SECURITY_HEADERS, servePage } from './page.js';
import { serveLogs } from './logs.js';
import { followAsEvents } from './sse.js';
import { crossSite, PAGE_HEADER, Sessions } from './session.js';
import { fdOf } from '../internals/handles.js';

/** The master, or a standalone process, as the admin listener sees it. */
export interface AdminTarget extends Controllable {
  isServing(): boolean;
  isStopping(): boolean;
}

/** Makes `server` listen; the default binds o.host:o.port, a standalone process listens on the socket it holds. */
export type Listen = (server: net.Server, o: AdminOptions) => Promise<void>;

export interface AdminServer {
  /** The port bound (the one asked for, or the kernel's pick for 0). */
  readonly port: number;
  /** The listening socket's fd, which `baton upgrade` passes to the new master. */
  readonly fd: number | undefined;
  /** Reads the TLS files again (at a reload); a bad pair is logged, and the one in use kept. */
  reloadCertificate(): void;
  close(): Promise<void>;
}

/** The largest request body read. */
export const MAX_BODY_BYTES = 16 * 1024;
/** From connecting, how long a client has to send its whole request. */
const REQUEST_DEADLINE_MS = 5000;
/**
 * An idle keep-alive connection is closed after this: a slot is held only while it is used (the page polls every
 * second).
 */
const KEEP_ALIVE_MS = 2000;

type Access = 'open' | 'token' | 'metrics';
interface Route {
  method: 'GET' | 'POST';
  access: Access;
  /** What a POST's JSON body may hold (nothing, by default). */
  params?: readonly (keyof Params)[];
  handle: (c: Call, params: Params) => void | Promise<void>;
}
interface Call {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  master: AdminTarget;
  render: (status: ReturnType<Controllable['status']>) => string;
  /** The master's timeline; absent in a standalone process. */
  timeline?: Timeline;
  /** The lines kept with --log-file; absent without it. */
  logs?: LogSource;
  /** The page's sign-ins; absent without a token, when there is nothing to sign in with. */
  sessions?: Sessions;
  /** Who asks (client.ts): the address that failures and refusals are counted for. */
  client: string;
  scheme: 'http' | 'https';
  refusals: RefusalLog;
}
/** A POST's parameters, from its JSON body (strings, but for the canary's worker count). */
interface Params {
  release?: string;
  node?: string;
  canary?: string | number;
  canaryFor?: string;
  batch?: string;
}

const ROUTES: Record<string, Route> = {
  '/': { method: 'GET', access: 'open', handle: ({ res, sessions }) => servePage(res, sessions !== undefined) },
  '/signin': { method: 'POST', access: 'token', handle: signIn },
  '/signout': { method: 'POST', access: 'token', handle: signOut },
  '/healthz': { method: 'GET', access: 'open', handle: ({ res }) => text(res, 200, 'ok') },
  '/readyz': {
    method: 'GET',
    access: 'open',
    handle: ({ res, master }) =>
      master.isServing() && !master.isStopping() ? text(res, 200, 'ready') : text(res, 503, 'not ready'),
  },
  '/metrics': {
    method: 'GET',
    access: 'metrics',
    handle: ({ res, master, render }) => send(res, 200, CONTENT_TYPE, render(master.status())),
  },
  '/api/status': { method: 'GET', access: 'token', handle: ({ res, master }) => json(res, 200, master.status()) },
  '/api/releases': {
    method: 'GET',
    access: 'token',
    handle: ({ res, master }) => {
      const list = master.releases();
      if (list) json(res, 200, list);
      else json(res, 404, { error: NO_RELEASES });
    },
  },
  '/api/reload': {
    method: 'POST',
    access: 'token',
    params: ['release', 'node', 'canary', 'canaryFor', 'batch'],
    handle: reload,
  },
  '/api/stop': { method: 'POST', access: 'token', handle: stop },
  '/api/events': { method: 'GET', access: 'token', handle: events },
  '/api/logs': {
    method: 'GET',
    access: 'token',
    handle: ({ req, res, logs }) => serveLogs(req, res, logs, (status, value) => json(res, status, value)),
  },
};

/** Listens on o.host:o.port and serves `master`. Rejects with a one-line error when the address cannot be bound. */
export async function startAdminServer(
  o: AdminOptions,
  master: AdminTarget,
  metrics: { render: Call['render']; timeline?: Timeline; logs?: LogSource },
  listen: Listen = listenAt,
): Promise<AdminServer> {
  const guard = o.token === undefined ? undefined : new Guard(o.token);
  const server = createServer(o);
  const scheme = o.tls ? 'https' : 'http';
  const refusals = new RefusalLog();
  let sessions: Sessions | undefined;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const call = {
      req,
      res,
      master,
      render: metrics.render.bind(metrics),
      timeline: metrics.timeline,
      logs: metrics.logs,
      sessions,
      client: clientOf(req.socket.remoteAddress),
      scheme,
      refusals,
    } as const;
    serve(call, guard, o.metricsPublic).catch((err: unknown) => {
      log('error', 'admin request failed', { path: req.url, error: (err as Error).message });
      if (!res.headersSent) json(res, 500, { error: `internal error: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await listen(server, o);
  const port = (server.address() as { port: number }).port;
  if (guard !== undefined) sessions = new Sessions(port, o.tls !== undefined);
  if (guard === undefined) {
    log(
      'warn',
      `admin API on ${o.host}:${port} without a token: any local user can reload and stop (give --admin-token-file)`,
    );
  }
  if (o.warning !== undefined) log('warn', o.warning);
  log('info', 'admin API listening', { admin: `${scheme}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}` });
  return {
    port,
    fd: fdOf(server),
    reloadCertificate: () => reloadCertificate(server, o),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** HTTP, or HTTPS with the certificate; either bounded as the module's comment says. */
function createServer(o: AdminOptions): http.Server | https.Server {
  // The deadline is checked every connectionsCheckingInterval: at the default 30 s, a 5 s deadline would be 30 s.
  const bounds = {
    requestTimeout: REQUEST_DEADLINE_MS,
    headersTimeout: REQUEST_DEADLINE_MS,
    connectionsCheckingInterval: 1000,
  };
  // A TLS handshake is bounded by the same deadline (Node's default is 120 s).
  const server = o.tls
    ? https.createServer({ ...bounds, handshakeTimeout: REQUEST_DEADLINE_MS, ...loadCertificate(o.tls) })
    : http.createServer(bounds);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  limitConnections(server);
  return server;
}

function reloadCertificate(server: http.Server | https.Server, o: AdminOptions): void {
  if (o.tls === undefined || !('setSecureContext' in server)) return;
  try {
    server.setSecureContext(loadCertificate(o.tls));
    log('info', 'admin: TLS certificate read again', { cert: o.tls.cert });
  } catch (err) {
    log('error', `admin: kept the TLS certificate in use: ${(err as Error).message}`);
  }
}

function listenAt(server: net.Server, o: AdminOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(cannotListen(`--admin ${o.host}:${o.port}`, err));
    });
    server.listen(o.port, o.host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log('error', 'admin listener error', { error: err.message }));
      resolve();
    });
  });
}

async function serve(c: Call, guard: Guard | undefined, metricsPublic: boolean): Promise<void> {
  const { req, res } = c;
  res.setHeader('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  const target = req.url ?? '';
  // `//host/path` and `http://host/path` would name a host that `new URL` reads, and a path a proxy's filter does not
  // see.
  if (!target.startsWith('/') || target.startsWith('//'))
    return json(res, 400, { error: 'the request target must be a path starting with a single /' });
  const path = new URL(target, 'http://admin').pathname;
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path]! : undefined;
  if (route === undefined)
    return json(res, 404, { error: `no endpoint ${quote(path.slice(0, 100))} (see baton's README, Admin API)` });
  const methods = route.method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
  if (!methods.includes(req.method ?? '')) {
    res.setHeader('Allow', methods.join(', '));
    const why = route.method === 'POST' ? ' (an action is never taken on GET)' : '';
    return json(res, 405, { error: `${path} takes ${methods.join(' or ')}${why}` });
  }
  const open = route.access === 'open' || (route.access === 'metrics' && metricsPublic);
  if (!open && !authorized(c, guard, path)) return;
  const params = route.method === 'POST' ? await readParams(c, route.params ?? []) : {};
  if (params) await route.handle(c, params);
}

/**
 * By the bearer token, or the page's session cookie. Without a token anyone
 * who reaches the (loopback) address may act, except a browser sent by
 * another site, or led there under another site's name. Only a credential
 * shown and wrong counts as a failure: a page asking whether it is signed in
 * is not guessing. The right credential is served even from an address
 * limited for failures: others' guesses from there (a shared host, a NAT)
 * must not lock the operator out.
 */
function authorized(c: Call, guard: Guard | undefined, path: string): boolean {
  const { req, res, sessions, client, refusals } = c;
  if (guard === undefined || sessions === undefined) return fromPage(c, false, path);
  if (guard.accepts(req.headers.authorization)) return true;
  const session = sessions.check(req.headers.cookie);
  if (session === 'live') return fromPage(c, true, path);
  const wait = guard.retryAfter(client);
  if (wait > 0) {
    refusals.refused(client, 'too many failed attempts');
    res.setHeader('Retry-After', String(wait));
    json(res, 429, { error: `too many failed attempts from ${client}; try again in ${wait} s` });
    return false;
  }
  if (session === 'wrong' || req.headers.authorization !== undefined) guard.failed(client);
  refusals.refused(client, `missing or wrong token for ${path.slice(0, 100)}`);
  res.setHeader('WWW-Authenticate', 'Bearer realm="baton"');
  json(res, 401, { error: 'missing or wrong token (send Authorization: Bearer <token>)' });
  return false;
}

/**
 * A request that no token authenticates must come from the page itself, or at least not from another site (session.ts's
 * crossSite).
 */
function fromPage({ req, res, client, scheme, refusals }: Call, cookie: boolean, path: string): boolean {
  const forged = crossSite(req, cookie ? 'cookie' : 'nothing', scheme);
  if (forged === undefined) return true;
  refusals.refused(client, `cross-site request for ${path.slice(0, 100)}: ${forged}`);
  json(res, 403, {
    error: `${forged}: refused as a possible cross-site request forgery; act from the admin page itself`,
  });
  return false;
}

/**
 * Reads the body, at most MAX_BODY_BYTES: none, or a JSON object of the
 * string parameters in `allowed`. Anything else is refused rather than
 * ignored, so that a client asking for something this version cannot do is
 * told so and nothing happens. Undefined once refused.
 */
async function readParams({ req, res }: Call, allowed: readonly (keyof Params)[]): Promise<Params | undefined> {
  const refuse = (status: number, error: string): undefined => {
    res.setHeader('Connection', 'close');
    json(res, status, { error });
    return undefined;
  };
  const tooLarge = `request body over ${MAX_BODY_BYTES} bytes`;
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return refuse(413, tooLarge);
  const body = await readBody(req);
  if (body === 'gone') return undefined;
  if (body === 'too large') return refuse(413, tooLarge);
  if (body.trim() === '') return {};
  const takes =
    allowed.length === 0
      ? 'takes no parameters (send no body, or {})'
      : `takes only ${allowed.map((k) => `{"${k}":"..."}`).join(', ')}, or no body`;
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return refuse(400, `the body is not JSON: this endpoint ${takes}`);
  }
  const fields = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v) : undefined;
  const valid = (k: string, x: unknown): boolean => typeof x === 'string' || (k === 'canary' && typeof x === 'number');
  if (!fields?.every(([k, x]) => (allowed as readonly string[]).includes(k) && valid(k, x)))
    return refuse(400, `this endpoint ${takes}`);
  return Object.fromEntries(fields) as Params;
}

/** Not by async iteration: leaving its loop early would destroy the socket before the 413 is written. */
function readBody(req: http.IncomingMessage): Promise<string | 'too large' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= MAX_BODY_BYTES) return;
      req.off('data', onData);
      req.pause();
      resolve('too large');
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('close', () => resolve('gone'));
  });
}

/** The master's timeline as Server-Sent Events (sse.ts), after the client's Last-Event-ID or ?after=N. */
function events({ req, res, timeline }: Call): void {
  if (!timeline) {
    json(res, 404, { error: 'a standalone process keeps no timeline (baton run does)' });
    return;
  }
  const asked = req.headers['last-event-id'] ?? new URL(req.url ?? '/', 'http://admin').searchParams.get('after');
  const after = /^\d{1,15}$/.test(String(asked ?? '')) ? Number(asked) : 0;
  const subscribe = timeline.subscribe.bind(timeline);
  followAsEvents(res, { event: 'event', id: (e: TimelineEvent) => e.id, kept: timeline.after(after), subscribe });
}

async function reload({ req, res, master }: Call, { release, node, ...asked }: Params): Promise<void> {
  const canary = parseCanary(asked.canary, asked.canaryFor);
  if (canary !== undefined && 'error' in canary) return json(res, 400, { error: canary.error });
  const batch = asked.batch === undefined ? undefined : parseBatch(asked.batch);
  if (batch !== undefined && 'error' in batch) return json(res, 400, { error: batch.error });
  const stream = (req.headers.accept ?? '').includes('text/event-stream');
  // Opened at the first event at the latest (a queued reload's phase comes at once), and only once a release is not
  // refused.
  const open = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    res.flushHeaders();
  };
  const event = (name: string, data: unknown): void => {
    open();
    if (!res.destroyed) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const by = req.headers[PAGE_HEADER] === undefined ? 'api' : 'page';
  const reloading = askReload(master, stream ? (p) => event('phase', p) : () => {}, {
    release,
    node,
    canary,
    batch,
    remote: true,
    by,
  });
  if ('refused' in reloading)
    return json(res, reloading.refused.busy ? 409 : 400, { error: reloading.refused.message });
  if (stream) open();
  const result = await reloading.result;
  if (stream) {
    event('result', result);
    res.end();
  } else {
    json(res, result.ok ? 200 : master.isStopping() ? 409 : 500, result);
  }
}

function signIn({ req, res, sessions }: Call): void {
  if (sessions !== undefined) {
    res.setHeader('Set-Cookie', sessions.start());
    log('info', 'admin: signed in', { client: req.socket.remoteAddress });
  }
  json(res, 200, { signedIn: true });
}

function signOut({ req, res, sessions }: Call): void {
  if (sessions !== undefined) res.setHeader('Set-Cookie', sessions.end(req.headers.cookie));
  json(res, 200, { signedIn: false });
}

function stop({ res, master }: Call): void {
  const once = stopOnce(master);
  // Stop once the answer is handed to the kernel, or once the client has gone: the answer is not lost to the exit.
  res.once('finish', once);
  res.once('close', once);
  json(res, 202, { stopping: true });
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`);
}

function text(res: http.ServerResponse, status: number, word: string): void {
  send(res, status, 'text/plain; charset=utf-8', `${word}\n`);
}
