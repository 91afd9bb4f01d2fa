/**
 * The master's end of the control socket. A client writes one JSON line
 * (`{"cmd":"reload"}`, `stop` or `status`) and reads JSON lines back: a reload
 * streams its phases, then its result. Nothing a client does (garbage, a huge
 * line, silence or a byte now and then, hanging up mid-reload, a flood of
 * connections) can throw into the master, stop a reload that has started, or
 * hold more than a bounded number of its fds for more than a few seconds.
 *
 * The socket is bound under a temporary name, set to 0600 and renamed into
 * place: a client never sees it with looser permissions, a stale socket is
 * replaced atomically, and — because libuv unlinks the path it bound when the
 * server closes — closing never removes a socket that another master has put
 * at the path since. close() removes the path itself, only if it is still ours.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { errMessage, log } from '../log.js';
import { oneLine, quote } from '../protocol/quote.js';
import {
  type Controllable,
  NO_RELEASES,
  type Phase,
  type UpgradeResult,
  type ReloadAsk,
  type Reply,
  type Timeline,
  type Request,
  parseRequest,
} from '../protocol/control.js';
import { type LogSource, wanted } from '../protocol/logs.js';
import { FOLLOW_BACKLOG_BYTES } from '../ring.js';
import { fdOf } from '../internals/handles.js';
import { MAX_SOCKET_PATH } from '../listeners/address.js';
import { probeSocket } from '../listeners/unix-path.js';
import { askReload, stopOnce } from './answers.js';
import { controlDirProblem } from './paths.js';

/** The longest request line accepted, newline excluded. */
export const MAX_REQUEST_BYTES = 4096;
/** Connections served at once by default (ControlServerOptions.maxConnections). */
const MAX_CONNECTIONS = 64;
/** How long a client has by default, from connecting, to send its whole request line. */
const REQUEST_DEADLINE_MS = 5000;
/** How long close() lets answers in flight finish before cutting them off. */
const CLOSE_GRACE_MS = 2000;

export interface ControlServer {
  /** The absolute path of the socket. */
  readonly path: string;
  /** The listening socket's fd, which `baton upgrade` passes to the new master. */
  readonly fd: number | undefined;
  /**
   * Whether close() removes the socket file: false for a new master that took the socket over until it is in service,
   * and for the old one after.
   */
  owns: boolean;
  /** Stops listening and removes the socket file (if it is still this server's); idempotent. */
  close(): Promise<void>;
}

export interface ControlServerOptions {
  /**
   * Connections served at once; over it a new one is answered with a one-line
   * error and closed at once. Each holds an fd of the master's, which a reload
   * needs to spawn workers.
   */
  maxConnections?: number;
  /** How long a client has, from connecting, to send its whole request line. */
  requestDeadlineMs?: number;
  /** The master's timeline, for `baton events`. */
  timeline?: Timeline;
  /** The lines kept with --log-file, for `baton logs`. */
  logs?: LogSource;
  /** An inherited listening socket at `file` (from the master `baton upgrade` replaces), not bound anew. */
  fd?: number;
  /** `baton upgrade`; absent, refused. */
  upgrade?: Upgrade;
}

/** Starts a new master; throws UpgradeRefused (one line) when it cannot start one here. */
export type Upgrade = (onPhase: (phase: Phase) => void, ask: { node?: string }) => Promise<UpgradeResult>;

export class UpgradeRefused extends Error {}

interface Conn {
  sock: net.Socket;
  state: 'waiting' | 'busy' | 'done';
}

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException | undefined)?.code ?? errMessage(err);

/**
 * Listens on the unix socket `file` (its directory must exist: for the default
 * one, call prepareControlDir first) and serves `master`. Rejects with a
 * one-line Error when another master answers there or the path is unusable.
 */
export async function startControlServer(
  file: string,
  master: Controllable,
  options: ControlServerOptions = {},
): Promise<ControlServer> {
  const target = path.resolve(file);
  if (Buffer.byteLength(target) > MAX_SOCKET_PATH) {
    throw new Error(
      `control socket path ${quote(target)} is too long for a unix socket ` +
        `(${Buffer.byteLength(target)} bytes, at most ${MAX_SOCKET_PATH}); pass --control with a shorter PATH`,
    );
  }
  let bound: { server: net.Server; ino: number; dev: number };
  if (options.fd === undefined) {
    await clearStale(target);
    bound = await bindPrivately(target);
  } else bound = await listenOnFd(target, options.fd);
  const { server, ino, dev } = bound;
  server.on('error', (err) => log('error', 'control socket error', { path: target, error: errMessage(err) }));

  const conns = new Set<Conn>();
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const deadlineMs = options.requestDeadlineMs ?? REQUEST_DEADLINE_MS;
  server.on('connection', (sock) => {
    if (conns.size >= maxConnections) {
      sock.on('error', () => sock.destroy());
      sock.end(
        `${JSON.stringify({ type: 'error', message: `too many control connections (${maxConnections} open); try again shortly` })}\n`,
      );
      sock.destroySoon();
      return;
    }
    const conn: Conn = { sock, state: 'waiting' };
    conns.add(conn);
    sock.once('close', () => conns.delete(conn));
    try {
      serve(conn, master, deadlineMs, options);
    } catch (err) {
      log('error', 'control connection failed', { error: errMessage(err) });
      sock.destroy();
    }
  });

  let closing: Promise<void> | undefined;
  const control = {
    path: target,
    fd: fdOf(server),
    owns: options.fd === undefined,
    close: (): Promise<void> => {
      closing ??= closeServer(server, conns, () => {
        const st = fs.statSync(target);
        if (control.owns && st.ino === ino && st.dev === dev) fs.unlinkSync(target);
      });
      return closing;
    },
  };
  return control;
}

/** The socket the old master listened on, at `target`: the same file, so the same identity for close(). */
async function listenOnFd(target: string, fd: number): Promise<{ server: net.Server; ino: number; dev: number }> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(`cannot listen on the control socket passed by the old master (${codeOf(err)})`);
  });
  const { ino, dev } = fs.statSync(target);
  return { server, ino, dev };
}

const FIX = 'pass --control PATH in a writable directory';

/**
 * Binds under a temporary name next to `target` when it fits, set to 0600 and
 * renamed into place (see the top of this file). Returns the server and the
 * socket file's identity, so that close() removes only a file that is still ours.
 */
async function bindPrivately(target: string): Promise<{ server: net.Server; ino: number; dev: number }> {
  const tmp = path.join(path.dirname(target), `.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const bindPath = Buffer.byteLength(tmp) <= MAX_SOCKET_PATH ? tmp : target;
  const server = net.createServer({ allowHalfOpen: true });
  await listenPrivately(server, bindPath, target);
  try {
    fs.chmodSync(bindPath, 0o600);
    if (bindPath !== target) fs.renameSync(bindPath, target);
    const { ino, dev } = fs.statSync(target);
    return { server, ino, dev };
  } catch (err) {
    server.close();
    if (bindPath !== target) fs.rmSync(bindPath, { force: true });
    throw new Error(`cannot create control socket ${quote(target)} (${codeOf(err)}); ${FIX}`);
  }
}

function listenPrivately(server: net.Server, bindPath: string, target: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const code = codeOf(err);
      if (code === 'EADDRINUSE') {
        reject(
          new Error(
            `another baton master is already running at ${oneLine(target)} (stop it, or choose another --name/--control)`,
          ),
        );
      } else {
        reject(
          new Error(controlDirProblem(target) ?? `cannot create control socket ${quote(target)} (${code}); ${FIX}`),
        );
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // The socket file is created by bind() inside listen(): give it no group/other bits from the start.
    let old: number | undefined;
    try {
      old = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask: the chmod that follows still applies before the rename.
    }
    try {
      server.listen(bindPath);
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
}

/** Stops listening, lets answers in flight finish for a grace, and removes the socket file with `unlink`. */
function closeServer(server: net.Server, conns: Set<Conn>, unlink: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      unlink();
    } catch {
      // gone already, or not ours to check
    }
    const timer = setTimeout(() => {
      for (const c of conns) c.sock.destroy();
    }, CLOSE_GRACE_MS);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Nobody is waiting for an answer on a connection that has asked nothing yet.
    for (const c of conns) if (c.state === 'waiting') c.sock.destroy();
  });
}

/** Refuses a live socket at `target`, removes a stale one, refuses anything else in the way. */
async function clearStale(target: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw new Error(`cannot create control socket ${quote(target)} (${codeOf(err)}); ${FIX}`);
  }
  if (!st.isSocket()) {
    throw new Error(`${quote(target)} exists and is not a socket; remove it, or pass --control PATH elsewhere`);
  }
  const probe = await probeSocket(target);
  if (probe === 'live') {
    throw new Error(
      `another baton master is already running at ${oneLine(target)} (stop it, or choose another --name/--control)`,
    );
  }
  if (probe !== 'stale') {
    throw new Error(`cannot check the existing control socket ${quote(target)} (${probe}); remove it, or ${FIX}`);
  }
  try {
    fs.unlinkSync(target);
    log('info', 'removed a stale control socket', { path: target });
  } catch (err) {
    if (codeOf(err) !== 'ENOENT')
      throw new Error(`cannot remove the stale control socket ${quote(target)} (${codeOf(err)}); ${FIX}`);
  }
}

function serve(conn: Conn, master: Controllable, deadlineMs: number, options: ControlServerOptions): void {
  const { sock } = conn;
  // EPIPE / ECONNRESET: the client went away. Whatever it asked for carries on.
  sock.on('error', () => sock.destroy());
  const reply = replier(conn);
  // Counted from connecting, not from the last byte, so that a byte now and
  // then cannot hold the connection. Once the request is in, a reload takes
  // as long as it takes: the master bounds it.
  const deadline = setTimeout(() => {
    if (conn.state === 'waiting')
      reply.refuse(
        `no complete request within ${deadlineMs / 1000} s of connecting (send one line like {"cmd":"status"})`,
      );
  }, deadlineMs);
  sock.once('close', () => clearTimeout(deadline));
  const handleLine = (raw: Buffer): void => {
    conn.state = 'busy';
    clearTimeout(deadline);
    const req = parseRequest(raw.toString('utf8').replace(/\r$/, ''));
    if ('error' in req) {
      reply.refuse(req.error);
      return;
    }
    answer(req, master, reply, options).catch((err: unknown) => {
      log('error', 'control command failed', { cmd: req.cmd, error: errMessage(err) });
      if (conn.state !== 'done') reply.refuse(`${req.cmd} failed: ${errMessage(err)}`);
    });
  };
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    if (conn.state !== 'waiting') return; // one request per connection; the rest is ignored
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(10);
    if (nl > MAX_REQUEST_BYTES || (nl === -1 && buf.length > MAX_REQUEST_BYTES)) {
      reply.refuse(`request line longer than ${MAX_REQUEST_BYTES} bytes`);
      return;
    }
    if (nl !== -1) handleLine(buf.subarray(0, nl));
  });
  sock.on('end', () => {
    if (conn.state !== 'waiting') return; // busy: the answer is still written (allowHalfOpen)
    if (buf.length > 0)
      handleLine(buf); // a request without its newline
    else reply.finish({ type: 'error', message: 'no request (send one line like {"cmd":"status"})' });
  });
}

interface Replier {
  send(reply: Reply): void;
  /** True once writing to the client has failed, or the connection is closed. */
  gone(): boolean;
  finish(reply: Reply, then?: () => void): void;
  refuse(message: string): void;
  /** Calls `fn` once the client has gone. */
  onGone(fn: () => void): void;
  /** Bytes written and not yet taken by the client. */
  backlog(): number;
  /** Closes the connection at once, whatever is waiting to be written. */
  drop(): void;
}

function replier(conn: Conn): Replier {
  const { sock } = conn;
  const finish = (reply: Reply, then?: () => void): void => {
    conn.state = 'done';
    if (sock.destroyed || !sock.writable) {
      then?.();
      return;
    }
    // The answer is the last thing on a connection: closed once flushed, since
    // a client that never ends its side would otherwise keep it half-open.
    sock.end(`${JSON.stringify(reply)}\n`, then);
    sock.destroySoon();
  };
  return {
    send: (reply) => {
      if (!sock.destroyed && sock.writable) sock.write(`${JSON.stringify(reply)}\n`);
    },
    gone: () => sock.destroyed,
    finish,
    refuse: (message) => finish({ type: 'error', message }),
    onGone: (fn) => sock.once('close', fn),
    backlog: () => sock.writableLength,
    drop: () => sock.destroy(),
  };
}

async function answer(
  req: Request,
  master: Controllable,
  reply: Replier,
  { timeline, logs, upgrade }: ControlServerOptions,
): Promise<void> {
  if (req.cmd === 'events') answerEvents(timeline, req, reply);
  else if (req.cmd === 'logs') answerLogs(logs, req, reply);
  else if (req.cmd === 'upgrade') await answerUpgrade(upgrade, reply, req);
  else if (req.cmd === 'status') answerStatus(master, reply);
  else if (req.cmd === 'stop') answerStop(master, reply);
  else if (req.cmd === 'releases') answerReleases(master, reply);
  else await answerReload(master, reply, req);
}

/** The events kept after `req.after`, then, with `follow`, each as it comes (followOn). */
function answerEvents(timeline: Timeline | undefined, req: Request, reply: Replier): void {
  if (!timeline) {
    reply.refuse('this master keeps no timeline');
    return;
  }
  // At once, so that a client following a quiet master knows it was heard.
  reply.send({ type: 'accepted' });
  for (const e of timeline.after(req.after ?? 0)) reply.send({ type: 'event', data: e });
  if (req.follow) followOn(reply, timeline.subscribe.bind(timeline), (e) => ({ type: 'event', data: e }));
  else reply.finish({ type: 'events-end' });
}

/** The lines kept (those `req` asks for), then, with `follow`, each as it comes (followOn). */
function answerLogs(logs: LogSource | undefined, req: Request, reply: Replier): void {
  if (!logs || !req.follow) {
    for (const l of logs?.lines(req) ?? []) reply.send({ type: 'log', data: l });
    reply.finish({ type: 'logs-end', enabled: logs !== undefined });
    return;
  }
  // At once, so that a client following a quiet master knows it was heard.
  reply.send({ type: 'accepted' });
  for (const l of logs.lines(req)) reply.send({ type: 'log', data: l });
  followOn(reply, logs.subscribe.bind(logs), (l) => (wanted(l, req) ? { type: 'log', data: l } : undefined));
}

/**
 * A follower, until it leaves, or falls FOLLOW_BACKLOG_BYTES behind: then it is cut off rather than held in the
 * master's memory (it reads nothing of what waits for it, so no message would reach it either).
 */
function followOn<T>(
  reply: Replier,
  subscribe: (listener: (entry: T) => void) => () => void,
  message: (entry: T) => Reply | undefined,
): void {
  const unsubscribe = subscribe((entry) => {
    const m = message(entry);
    if (!m) return;
    if (reply.backlog() > FOLLOW_BACKLOG_BYTES) reply.drop();
    else reply.send(m);
  });
  reply.onGone(unsubscribe);
}

function answerReleases(master: Controllable, reply: Replier): void {
  const list = master.releases();
  reply.finish(list ? { type: 'releases', data: list } : { type: 'error', message: NO_RELEASES });
}

function answerStatus(master: Controllable, reply: Replier): void {
  let line: Reply;
  try {
    line = { type: 'status', data: master.status() };
    JSON.stringify(line); // fail here, not half-written
  } catch (err) {
    log('error', 'status failed', { error: errMessage(err) });
    reply.refuse(`status failed: ${errMessage(err)}`);
    return;
  }
  reply.finish(line);
}

function answerStop(master: Controllable, reply: Replier): void {
  const stop = stopOnce(master);
  // Stop once the answer is handed to the kernel, or once the client has gone.
  reply.onGone(stop);
  reply.finish({ type: 'stopping' }, stop);
}

async function answerReload(master: Controllable, reply: Replier, ask: ReloadAsk): Promise<void> {
  // A client gives up on a master that does not answer (one frozen by SIGSTOP,
  // say): its request may be read only when the master resumes. On a unix
  // socket, writing to a peer that has closed fails at once (EPIPE), so the
  // first line tells, a turn later, whether anyone still waits for this reload.
  reply.send({ type: 'accepted' });
  await new Promise(setImmediate);
  if (reply.gone()) {
    log('warn', 'reload not run: its client left before it started');
    return;
  }
  const { release, node, canary, batch } = ask;
  const asked = askReload(master, (phase) => reply.send({ type: 'phase', data: phase }), {
    release,
    node,
    canary,
    batch,
    by: 'cli',
  });
  if ('refused' in asked) return reply.refuse(asked.refused.message);
  reply.finish({ type: 'reload', data: await asked.result });
}

async function answerUpgrade(upgrade: Upgrade | undefined, reply: Replier, { node }: Request): Promise<void> {
  if (!upgrade) return reply.refuse('this master cannot be upgraded');
  reply.send({ type: 'accepted' });
  await new Promise(setImmediate);
  if (reply.gone()) {
    log('warn', 'upgrade not run: its client left before it started');
    return;
  }
  let result: UpgradeResult;
  try {
    result = await upgrade((phase) => reply.send({ type: 'phase', data: phase }), { node });
  } catch (err) {
    return reply.refuse(err instanceof UpgradeRefused ? err.message : `upgrade failed: ${errMessage(err)}`);
  }
  reply.finish({ type: 'upgrade', data: result });
}
