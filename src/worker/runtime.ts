/**
 * The process-side runtime that `baton/register` and the `baton` API install:
 * inherited sockets, listen() routing, readiness, signals, and the standalone
 * upgrade and shutdown sequences.
 */
import cluster from 'node:cluster';
import fs from 'node:fs';
import net from 'node:net';
import { ENV, LISTEN_VARS, type RuntimeSettings, readListenEnv, readSettings } from '../protocol/env.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { configureLog, log } from '../log.js';
import { inherit } from '../listeners/inherit.js';
import { type ListenFn, Listeners } from '../listeners/route.js';
import { drain, openConnections } from '../drain/index.js';
import { track } from '../drain/track.js';
import { errorLine, runHooks } from './hooks.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { Readiness } from './readiness.js';
import { captureStderr, stderrTail, stopCapture } from './stderr-tail.js';
import { type Launch, spawnSuccessor } from './upgrade.js';

/** How long a process that inherited fewer sockets than it listens on waits for further listens. */
const SETTLE_MS = 300;

export interface Runtime {
  settings: RuntimeSettings;
  listeners: Listeners;
  readiness: Readiness;
  state: 'serving' | 'upgrading' | 'draining';
  upgrade(): Promise<boolean>;
  stop(): Promise<never>;
}

let runtime: Runtime | undefined;
let fatalError: string | undefined;

export function current(): Runtime | undefined {
  return runtime;
}

export function install(): Runtime | undefined {
  if (runtime) return runtime;
  if (process.platform === 'win32') {
    log('warn', 'socket hand-over needs fd passing, which Windows lacks: upgrades are off; restart the process to deploy (stop, then start)');
    return undefined;
  }
  if (cluster.isWorker) return undefined;
  try {
    runtime = create();
    return runtime;
  } catch (err) {
    fatal(errorLine(err).replace(/^Error: /, ''));
  }
}

function fatal(message: string): never {
  fatalError = message;
  log('error', message);
  process.exit(1);
}

function create(): Runtime {
  const settings = readSettings(process.env);
  configureLog({ generation: settings.generation });
  const parentPid = process.env[ENV.parentPid];
  const fromBaton = parentPid === String(process.ppid) && typeof process.send === 'function';
  let ready = false;
  if (fromBaton) reportFailureToParent(() => ready);
  const fds = readListenEnv(process.env, process.pid, process.ppid);
  // Like sd_listen_fds(unset=1): children the app starts must not take these for their own.
  for (const key of [...LISTEN_VARS, ENV.parentPid]) delete process.env[key];
  const launch: Launch = {
    execPath: process.execPath,
    args: [...process.execArgv, ...process.argv.slice(1)],
    cwd: logicalCwd(),
    env: { ...process.env },
  };
  const listeners = new Listeners(inherit(fds), launch.cwd);

  const readiness = new Readiness({
    waitReady: settings.waitReady,
    settleMs: SETTLE_MS,
    inheritedCount: listeners.inherited.filter((i) => i.address).length,
    unadopted: () => listeners.unadopted().length,
    onReady: () => {
      ready = true;
      stopCapture();
      if (fromBaton) sendToParent({ type: 'ready', pid: process.pid });
      const unused = setTimeout(() => {
        const closed = listeners.closeUnadopted();
        if (closed.length) log('warn', 'closed inherited sockets the new code does not listen on', { sockets: closed.join(',') });
      }, SETTLE_MS);
      unused.unref();
    },
  });
  listeners.onListening = () => readiness.listened();
  patchListen(listeners);
  acceptPm2Ready(readiness);

  const rt: Runtime = {
    settings,
    listeners,
    readiness,
    state: 'serving',
    upgrade: () => upgrade(rt, launch),
    stop: () => stop(rt),
  };
  installSignals(rt);
  if (process.pid === 1) {
    log('warn', 'running as PID 1: a standalone upgrade would end the container with this process; in containers use `baton run`');
  }
  if (settings.pidFile && !fromBaton) writePidFile(settings.pidFile, process.pid);
  return rt;
}

/** A successor that dies before it is ready tells its predecessor why, with its stderr tail. */
function reportFailureToParent(isReady: () => boolean): void {
  captureStderr();
  process.on('uncaughtExceptionMonitor', (err) => {
    fatalError ??= errorLine(err);
  });
  process.on('exit', (code) => {
    if (!isReady()) {
      sendToParent({ type: 'failed', pid: process.pid, error: fatalError ?? `exit code ${code}`, stderrTail: stderrTail() });
    }
  });
}

function sendToParent(message: Record<string, unknown>): void {
  if (!process.connected) return;
  try {
    process.send!({ baton: PROTOCOL_VERSION, ...message });
  } catch {
    // The parent is gone; nobody is waiting for this any more.
  }
}

/** getcwd() resolves symlinks; the shell's PWD keeps `current -> releases/vN` so the next start re-resolves it. */
function logicalCwd(): string {
  const pwd = process.env.PWD;
  try {
    if (pwd && fs.realpathSync(pwd) === fs.realpathSync(process.cwd())) return pwd;
  } catch {
    // PWD names a directory that is gone.
  }
  return process.cwd();
}

function patchListen(listeners: Listeners): void {
  const original = net.Server.prototype.listen as ListenFn;
  net.Server.prototype.listen = function listen(this: net.Server, ...args: unknown[]): net.Server {
    track(this);
    return listeners.listen(this, args, original);
  } as typeof net.Server.prototype.listen;
}

/** PM2's readiness convention, process.send('ready'), for apps migrating with --wait-ready. */
function acceptPm2Ready(readiness: Readiness): void {
  const send = process.send;
  if (typeof send !== 'function') return;
  process.send = function (this: NodeJS.Process, message: unknown, ...rest: unknown[]): boolean {
    if (message === 'ready') {
      readiness.declare();
      return true;
    }
    return (send as (...a: unknown[]) => boolean).call(this, message, ...rest);
  } as typeof process.send;
}

function installSignals(rt: Runtime): void {
  let interrupts = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && ++interrupts > 1) {
      log('warn', 'second SIGINT: stopping at once');
      process.exit(130);
    }
    void rt.stop();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on(rt.settings.upgradeSignal, () => void rt.upgrade());
}

let pendingUpgrade = false;
let successorPid: number | undefined;
const stopping = new AbortController();

/** One upgrade at a time; a request during one is coalesced into at most one more. */
async function upgrade(rt: Runtime, launch: Launch): Promise<boolean> {
  if (rt.state === 'draining') {
    if (successorPid !== undefined && !stopping.signal.aborted) {
      log('info', 'already handed over: passing the upgrade request on', { successor: successorPid });
      process.kill(successorPid, rt.settings.upgradeSignal);
    }
    return false;
  }
  if (rt.state === 'upgrading') {
    if (!pendingUpgrade) log('info', 'upgrade requested during an upgrade: one more will follow');
    pendingUpgrade = true;
    return false;
  }
  if (process.pid === 1) {
    log('error', 'refusing a standalone upgrade as PID 1: this process exiting would end the container; use `baton run`');
    return false;
  }
  rt.state = 'upgrading';
  log('info', 'upgrade started');
  const outcome = await spawnSuccessor(launch, rt.listeners, rt.settings, stopping.signal);
  if (!outcome.ok) {
    if (rt.state === 'upgrading') rt.state = 'serving';
    log('error', `upgrade failed, still serving: ${outcome.reason}`);
    for (const line of outcome.stderrTail.trimEnd().split('\n').filter(Boolean).slice(-20)) log('error', `successor stderr | ${line}`);
    if (pendingUpgrade && !stopping.signal.aborted) {
      pendingUpgrade = false;
      return upgrade(rt, launch);
    }
    return false;
  }
  successorPid = outcome.pid;
  log('info', 'successor ready', { successor: outcome.pid, readyMs: outcome.ms });
  if (rt.settings.pidFile) writePidFile(rt.settings.pidFile, outcome.pid);
  outcome.child.disconnect();
  if (pendingUpgrade) {
    pendingUpgrade = false;
    process.kill(outcome.pid, rt.settings.upgradeSignal);
  }
  await shutdown(rt, 'upgrade');
  return true;
}

async function stop(rt: Runtime): Promise<never> {
  if (rt.state === 'draining') {
    log('info', 'already draining');
    return new Promise<never>(() => {});
  }
  stopping.abort();
  return shutdown(rt, 'stop');
}

async function shutdown(rt: Runtime, reason: 'upgrade' | 'stop'): Promise<never> {
  rt.state = 'draining';
  const servers = rt.listeners.servers();
  const paths = reason === 'stop' ? rt.listeners.ownedPaths() : [];
  log('info', 'draining', { reason, connections: openConnections(servers) });
  const timeoutMs = rt.settings.drainTimeoutMs;
  const result = await drain(servers, {
    timeoutMs,
    runHooks: (connections) => runHooks({ reason, connections }, timeoutMs),
  });
  for (const p of paths) fs.rmSync(p, { force: true });
  if (reason === 'stop' && rt.settings.pidFile) removePidFile(rt.settings.pidFile);
  log('info', 'drained, exiting', { ms: result.durationMs, destroyed: result.destroyed });
  process.exit(0);
}
