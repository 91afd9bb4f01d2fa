/**
 * The master's end of the control socket. A client writes one JSON line
 * (`{"cmd":"reload"}`, `stop` or `status`) and reads JSON lines back: a reload
 * streams its phases, then its result. Nothing a client does (garbage, a huge
 * line, silence, hanging up mid-reload) can throw into the master or stop a
 * reload that has started.
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
import { log } from '../log.js';
import { quote } from '../protocol/quote.js';
import { MAX_SOCKET_PATH, oneLine, probeSocket } from './paths.js';
import type { Command, Controllable, Phase, ReloadResult, Reply } from './types.js';

/** The longest request line accepted, newline excluded. */
export const MAX_REQUEST_BYTES = 4096;
/** How long a client may take to send its request line. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long close() lets answers in flight finish before cutting them off. */
const CLOSE_GRACE_MS = 2000;

const COMMANDS: readonly Command[] = ['reload', 'stop', 'status'];

export interface ControlServer {
  /** The absolute path of the socket. */
  readonly path: string;
  /** Stops listening and removes the socket file (if it is still this server's); idempotent. */
  close(): Promise<void>;
}

interface Conn {
  sock: net.Socket;
  state: 'waiting' | 'busy' | 'done';
}

const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException | undefined)?.code ?? errMessage(err);

/**
 * Listens on the unix socket `file` (its directory must exist: for the default
 * one, call prepareControlDir first) and serves `master`. Rejects with a
 * one-line Error when another master answers there or the path is unusable.
 */
export async function startControlServer(file: string, master: Controllable): Promise<ControlServer> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const fix = 'pass --control PATH in a writable directory';
  if (Buffer.byteLength(target) > MAX_SOCKET_PATH) {
    throw new Error(
      `control socket path ${quote(target)} is too long for a unix socket ` +
        `(${Buffer.byteLength(target)} bytes, at most ${MAX_SOCKET_PATH}); pass --control with a shorter PATH`,
    );
  }

  await clearStale(target, fix);

  // Bind under a temporary name next to the target when it fits (see above).
  const tmp = path.join(dir, `.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const bindPath = Buffer.byteLength(tmp) <= MAX_SOCKET_PATH ? tmp : target;

  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const code = codeOf(err);
      if (code === 'EADDRINUSE') {
        reject(new Error(`another baton master is already running at ${oneLine(target)} (stop it, or choose another --name/--control)`));
      } else if (code === 'ENOENT') {
        reject(new Error(`cannot create control socket ${quote(target)}: directory ${quote(dir)} does not exist (ENOENT); create it, or ${fix}`));
      } else {
        reject(new Error(`cannot create control socket ${quote(target)} (${code}); ${fix}`));
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
      // Worker threads cannot change the umask: the chmod below still applies before the rename.
    }
    try {
      server.listen(bindPath);
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });

  let ino: number;
  let dev: number;
  try {
    fs.chmodSync(bindPath, 0o600);
    if (bindPath !== target) fs.renameSync(bindPath, target);
    const st = fs.statSync(target);
    ino = st.ino;
    dev = st.dev;
  } catch (err) {
    server.close();
    try {
      if (bindPath !== target) fs.unlinkSync(bindPath);
    } catch {
      // already gone
    }
    throw new Error(`cannot create control socket ${quote(target)} (${codeOf(err)}); ${fix}`);
  }

  server.on('error', (err) => log('error', 'control socket error', { path: target, error: errMessage(err) }));

  const conns = new Set<Conn>();
  server.on('connection', (sock) => {
    const conn: Conn = { sock, state: 'waiting' };
    conns.add(conn);
    sock.once('close', () => conns.delete(conn));
    try {
      serve(conn, master);
    } catch (err) {
      log('error', 'control connection failed', { error: errMessage(err) });
      sock.destroy();
    }
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      try {
        const st = fs.statSync(target);
        if (st.ino === ino && st.dev === dev) fs.unlinkSync(target);
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
    return closing;
  };

  return { path: target, close };
}

/** Refuses a live socket at `target`, removes a stale one, refuses anything else in the way. */
async function clearStale(target: string, fix: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw new Error(`cannot create control socket ${quote(target)} (${codeOf(err)}); ${fix}`);
  }
  if (!st.isSocket()) {
    throw new Error(`${quote(target)} exists and is not a socket; remove it, or pass --control PATH elsewhere`);
  }
  const probe = await probeSocket(target);
  if (probe === 'live') {
    throw new Error(`another baton master is already running at ${oneLine(target)} (stop it, or choose another --name/--control)`);
  }
  if (probe !== 'stale') {
    throw new Error(`cannot check the existing control socket ${quote(target)} (${probe}); remove it, or ${fix}`);
  }
  try {
    fs.unlinkSync(target);
    log('info', 'removed a stale control socket', { path: target });
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw new Error(`cannot remove the stale control socket ${quote(target)} (${codeOf(err)}); ${fix}`);
  }
}

function serve(conn: Conn, master: Controllable): void {
  const { sock } = conn;
  let buf: Buffer = Buffer.alloc(0);

  // EPIPE / ECONNRESET: the client went away. Whatever it asked for carries on.
  sock.on('error', () => sock.destroy());

  const send = (reply: Reply): void => {
    if (sock.destroyed || !sock.writable) return;
    sock.write(`${JSON.stringify(reply)}\n`);
  };
  const finish = (reply: Reply, then?: () => void): void => {
    conn.state = 'done';
    if (sock.destroyed || !sock.writable) {
      then?.();
      return;
    }
    sock.end(`${JSON.stringify(reply)}\n`, then);
  };
  const refuse = (message: string): void => finish({ type: 'error', message });

  sock.setTimeout(REQUEST_TIMEOUT_MS, () => {
    if (conn.state === 'waiting') refuse(`no request within ${REQUEST_TIMEOUT_MS / 1000} s (send one line like {"cmd":"status"})`);
  });

  const handleLine = (raw: Buffer): void => {
    conn.state = 'busy';
    sock.setTimeout(0);
    const line = raw.toString('utf8').replace(/\r$/, '');
    let cmd: unknown;
    try {
      const req: unknown = JSON.parse(line);
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('not an object');
      cmd = (req as Record<string, unknown>).cmd;
    } catch {
      refuse('malformed request: expected one JSON line like {"cmd":"status"}');
      return;
    }
    if (typeof cmd !== 'string' || !(COMMANDS as readonly string[]).includes(cmd)) {
      const shown = typeof cmd === 'string' ? quote(cmd.slice(0, 40)) : String(JSON.stringify(cmd) ?? 'none').slice(0, 40);
      refuse(`unknown command ${shown} (expected reload, stop or status)`);
      return;
    }
    run(cmd as Command).catch((err: unknown) => {
      log('error', 'control command failed', { cmd: cmd as string, error: errMessage(err) });
      if (conn.state !== 'done') refuse(`${cmd as string} failed: ${errMessage(err)}`);
    });
  };

  const run = async (cmd: Command): Promise<void> => {
    if (cmd === 'status') {
      let line: Reply;
      try {
        line = { type: 'status', data: master.status() };
        JSON.stringify(line); // fail here, not half-written
      } catch (err) {
        log('error', 'status failed', { error: errMessage(err) });
        refuse(`status failed: ${errMessage(err)}`);
        return;
      }
      finish(line);
    } else if (cmd === 'stop') {
      let called = false;
      const stop = (): void => {
        if (called) return;
        called = true;
        try {
          master.stop();
        } catch (err) {
          log('error', 'stop failed', { error: errMessage(err) });
        }
      };
      // Stop once the answer is handed to the kernel, or once the client has gone.
      sock.once('close', stop);
      finish({ type: 'stopping' }, stop);
    } else {
      const started = Date.now();
      let result: ReloadResult;
      try {
        result = await master.reload((phase: Phase) => {
          try {
            send({ type: 'phase', data: phase });
          } catch (err) {
            log('error', 'cannot report a reload phase', { error: errMessage(err) });
          }
        });
      } catch (err) {
        log('error', 'reload threw', { error: errMessage(err) });
        let generation = 0;
        try {
          generation = master.status().generation;
        } catch {
          // keep 0
        }
        result = { ok: false, generation, ms: Date.now() - started, reason: `internal error: ${errMessage(err)}` };
      }
      finish({ type: 'reload', data: result });
    }
  };

  sock.on('data', (chunk: Buffer) => {
    if (conn.state !== 'waiting') return; // one request per connection; the rest is ignored
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(10);
    if (nl > MAX_REQUEST_BYTES || (nl === -1 && buf.length > MAX_REQUEST_BYTES)) {
      refuse(`request line longer than ${MAX_REQUEST_BYTES} bytes`);
      return;
    }
    if (nl !== -1) handleLine(buf.subarray(0, nl));
  });

  sock.on('end', () => {
    if (conn.state !== 'waiting') return; // busy: the answer is still written (allowHalfOpen)
    if (buf.length > 0) handleLine(buf); // a request without its newline
    else finish({ type: 'error', message: 'no request (send one line like {"cmd":"status"})' });
  });
}
