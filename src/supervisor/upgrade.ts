/**
 * `baton upgrade`, the old master's side: it starts a new master from the
 * baton on disk (the command it was started with, its path resolved anew, so
 * an npm install of another version takes effect), on the same settings,
 * passing it every listening socket, the admin listener and the control
 * socket as inherited fds (LISTEN_FDS, each named); the new master starts its
 * own first generation on them. Once that generation is in service it says so
 * over the IPC channel, and this master drains its workers and exits (as nginx
 * does after USR2 and QUIT, HAProxy's master after its re-exec). A new master
 * that exits first, or is not in service in time, is stopped; this one serves
 * on, and the answer quotes what the new master wrote to stderr.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import fs from 'node:fs';
import { UpgradeRefused, type Upgrade } from '../control/server.js';
import { nodeVersion, versionOf } from '../generation/node-binary.js';
import { log, logTail } from '../log.js';
import type { Phase, UpgradeResult } from '../protocol/control.js';
import { writeListenEnv } from '../protocol/fds.js';
import type { Env } from '../protocol/settings.js';
import { UPGRADE_OWNED, UPGRADE_TAIL_FD, isInService } from '../protocol/upgrade.js';
import type { Readable } from 'node:stream';
import { builtin } from '../internals/builtins.js';

/** The last bytes of the new master's stderr kept, to say why it failed. */
const TAIL_BYTES = 4096;
/** Loading the new baton and reading its version (`baton version`); a build that takes longer is broken. */
const PROBE_TIMEOUT_MS = 15_000;
/** Beyond its ready timeout and crash window, what the new master may take to load and bind its control socket. */
const START_GRACE_MS = 10_000;
/** How long the stderr tail is read after the new master exited, if a process it started still holds the pipe. */
const TAIL_WAIT_MS = 1000;

export interface UpgradeSpec {
  /** How this master was started: node flags, the `baton` bin's path (as given, not resolved), its arguments. */
  execArgv: readonly string[];
  entry: string;
  argv: readonly string[];
  cwd: string;
  /** The environment as this master got it, less what it took for itself (LISTEN_FDS), NOTIFY_SOCKET put back. */
  env: Env;
  readyTimeoutMs: number;
  crashWindowMs: number;
  drainTimeoutMs: number;
  /**
   * Every socket to pass, in order: the listening ones (`ownsPath`: a unix path this master bound), the control socket,
   * the admin listener.
   */
  sockets(): readonly { name: string; fd: number; ownsPath?: boolean }[];
  /** Why no upgrade may start now (a stop or a reload under way), or undefined. */
  busy(): string | undefined;
  /** Told to stop meanwhile: the new master is stopped too. */
  isStopping(): boolean;
  /** The new master serves: this one stops answering, drains and exits. */
  handOver(): void;
}

/** The control socket's `upgrade`: one at a time. */
export function upgrader(spec: UpgradeSpec): Upgrade {
  let running = false;
  return async (onPhase, { node = process.execPath }) => {
    const fixed = pidFixedBy(process.pid, process.ppid, initName);
    if (fixed)
      throw new UpgradeRefused(
        `${fixed}: roll the container instead (start one from the new image, then stop this one)`,
      );
    const busy = running ? 'an upgrade is already running' : spec.busy();
    if (busy) throw new UpgradeRefused(`upgrade refused: ${busy}`);
    const checked = nodeVersion(node);
    if ('error' in checked) throw new UpgradeRefused(checked.error);
    running = true;
    try {
      return await upgrade(spec, node, onPhase);
    } finally {
      running = false;
    }
  };
}

/** The inits that run one child and exit with it, ending the container: `docker run --init`'s, and dumb-init. */
const CONTAINER_INITS = ['tini', 'docker-init', 'dumb-init'];

/** Why this master's pid cannot change (a container's PID 1, or the one child of its init), or undefined. */
export function pidFixedBy(pid: number, ppid: number, init: () => string | undefined): string | undefined {
  if (pid === 1) return "baton is this container's PID 1, whose pid cannot change";
  const name = ppid === 1 ? init() : undefined;
  if (name !== undefined && CONTAINER_INITS.includes(name))
    return `baton is the child of ${name}, this container's PID 1, which exits with it: its pid cannot change`;
  return undefined;
}

function initName(): string | undefined {
  try {
    return fs.readFileSync('/proc/1/comm', 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function upgrade(spec: UpgradeSpec, node: string, onPhase: (p: Phase) => void): Promise<UpgradeResult> {
  const started = Date.now();
  const failed = (reason: string, o: Partial<UpgradeResult> = {}): UpgradeResult => {
    log('error', `upgrade failed, serving on: ${reason}`, { successor: o.pid });
    logTail('new master', o.stderrTail ?? '');
    return { ok: false, ms: Date.now() - started, reason, ...o };
  };
  const args = [...spec.execArgv, spec.entry];
  const probe = await probeVersion(node, args, spec);
  if ('error' in probe) return failed(probe.error, { stderrTail: probe.stderrTail });
  const { version } = probe;
  const { child, tail } = spawnMaster(node, args, spec);
  if (child.pid === undefined) return failed(`the new master could not be started on ${node}`);
  const pid = child.pid;
  log('info', 'upgrade: new master started', { successor: pid, version, node });
  onPhase({ phase: 'master', pid, version, node: versionOf(node) ?? node });
  const outcome = await outcomeOf(child, tail, spec);
  if (outcome.ok) {
    log('info', 'upgrade: the new master serves; draining and exiting', { successor: pid, version });
    setImmediate(spec.handOver);
    return { ok: true, pid, version, ms: Date.now() - started };
  }
  return failed(outcome.reason, { pid, version, stderrTail: outcome.tail() });
}

/** The new baton loads, and its version: `baton version` from the path the new master will be started from. */
function probeVersion(
  node: string,
  args: string[],
  spec: UpgradeSpec,
): Promise<{ version: string } | { error: string; stderrTail: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [...args, 'version'],
      { cwd: spec.cwd, env: spec.env, timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const version = String(stdout).trim();
        if (!err && /^\S+$/.test(version)) return resolve({ version });
        const why = err ? (err.killed ? `still loading after ${PROBE_TIMEOUT_MS} ms` : `exit ${err.code}`) : version;
        resolve({
          error: `the baton at ${spec.entry} does not start (${why})`,
          stderrTail: String(stderr).slice(-TAIL_BYTES),
        });
      },
    );
  });
}

/** The new master, with the sockets from fd 3 on, then the pipe for its stderr's tail (read here), then IPC. */
function spawnMaster(node: string, args: string[], spec: UpgradeSpec): { child: ChildProcess; tail: Readable | null } {
  const sockets = spec.sockets();
  const tailFd = 3 + sockets.length;
  const child = builtin('child_process').spawn(node, [...args, ...spec.argv], {
    cwd: spec.cwd,
    env: {
      ...spec.env,
      ...writeListenEnv(
        sockets.map((s) => s.name),
        process.pid,
      ),
      [UPGRADE_TAIL_FD]: String(tailFd),
      [UPGRADE_OWNED]: JSON.stringify(sockets.filter((s) => s.ownsPath).map((s) => s.name)),
    },
    stdio: ['inherit', 'inherit', 'inherit', ...sockets.map((s) => s.fd), 'pipe', 'ipc'],
  });
  // A spawn that fails after the fact (EAGAIN) says so here, not as an unhandled 'error' that would end this master.
  child.on('error', (err) => log('error', 'upgrade: the new master could not be started', { error: err.message }));
  return { child, tail: (child.stdio[tailFd] as Readable | null | undefined) ?? null };
}

type Outcome = { ok: true } | { ok: false; reason: string; tail: () => string };

/**
 * In service (its word over IPC), or not: it exited, or it was not in service within its ready timeout and crash
 * window (then it is stopped, and waited for).
 */
function outcomeOf(child: ChildProcess, pipe: Readable | null, spec: UpgradeSpec): Promise<Outcome> {
  let tail = '';
  pipe?.setEncoding('utf8');
  pipe?.on('data', (d: string) => (tail = (tail + d).slice(-TAIL_BYTES)));
  pipe?.on('error', () => {});
  const limitMs = spec.readyTimeoutMs + spec.crashWindowMs + START_GRACE_MS;
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(o);
    };
    const onMessage = (m: unknown): void => {
      if (!isInService(m)) return;
      pipe?.destroy();
      child.off('exit', onExit);
      child.disconnect?.();
      child.unref();
      // Stopped meanwhile (a stop answered here before the new master took the control socket): both stop.
      const stopping = spec.isStopping();
      if (stopping) child.kill('SIGTERM');
      const reason = 'this master was told to stop meanwhile: the new master is stopped too';
      done(stopping ? { ok: false, reason, tail: () => tail } : { ok: true });
    };
    // Its last words may still be in the pipe: read to its end, or for a moment if a child of its holds it open.
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const reason = `the new master exited (${signal ?? `code ${code}`}) before it served`;
      const end = (): void => done({ ok: false, reason, tail: () => tail });
      if (!pipe || pipe.readableEnded || pipe.destroyed) {
        end();
        return;
      }
      pipe.once('close', end);
      setTimeout(end, TAIL_WAIT_MS).unref();
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), spec.drainTimeoutMs + START_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(kill);
        done({ ok: false, reason: `the new master was not in service within ${limitMs} ms`, tail: () => tail });
      });
    }, limitMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
