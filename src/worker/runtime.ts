/**
 * The process-side runtime that `baton/register` and the `baton` API install:
 * inherited sockets, listen() routing, readiness, signals and shutdown. A
 * process runs standalone (it upgrades itself on a signal) or as a master's
 * worker (sockets come from the master, which also orders the drain).
 */
import cluster from 'node:cluster';
import fs from 'node:fs';
import net from 'node:net';
import { ENV, LISTEN_VARS, type RuntimeSettings, readListenEnv, readSettings } from '../protocol/env.js';
import { message } from '../protocol/messages.js';
import { configureLog, log } from '../log.js';
import { inherit } from '../listeners/inherit.js';
import { type ListenFn, Listeners } from '../listeners/route.js';
import { drain, openConnections } from '../drain/index.js';
import { track } from '../drain/track.js';
import { logicalCwd, throughLogicalCwd } from '../cwd.js';
import { errorLine, runHooks } from './hooks.js';
import { MasterLink } from './master-link.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { Readiness } from './readiness.js';
import { captureStderr, stderrTail, stopCapture } from './stderr-tail.js';
import { Standalone } from './standalone.js';

/** How long a process that inherited fewer sockets than it listens on waits for further listens. */
const SETTLE_MS = 300;
/** A worker whose master died drains this long at most: nobody will replace it. */
const ORPHAN_DRAIN_MS = 1000;

export interface Runtime {
  settings: RuntimeSettings;
  listeners: Listeners;
  readiness: Readiness;
  state: 'serving' | 'upgrading' | 'draining';
  /** Standalone only: undefined for a master's worker. */
  standalone: Standalone | undefined;
  shutdown(reason: 'upgrade' | 'stop', timeoutMs?: number): Promise<never>;
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
    fatalError = errorLine(err).replace(/^Error: /, '');
    log('error', fatalError);
    process.exit(1);
  }
}

function create(): Runtime {
  const settings = readSettings(process.env);
  configureLog({ generation: settings.generation });
  const fromBaton = process.env[ENV.parentPid] === String(process.ppid) && typeof process.send === 'function';
  const supervised = fromBaton && process.env[ENV.role] === 'worker';
  let ready = false;
  if (fromBaton) reportFailureToParent(() => ready);
  const fds = readListenEnv(process.env, process.pid, process.ppid);
  // Like sd_listen_fds(unset=1): children the app starts must not take these for their own.
  for (const key of [...LISTEN_VARS, ENV.parentPid, ENV.role]) delete process.env[key];
  const cwd = logicalCwd();
  const inherited = inherit(fds);

  let rt: Runtime;
  const link = supervised
    ? new MasterLink((reason) => void rt.shutdown(reason), () => {
      log('warn', 'the master is gone: draining and exiting');
      void rt.shutdown('stop', ORPHAN_DRAIN_MS);
    })
    : undefined;
  const listeners = new Listeners(inherited, cwd, link && ((address) => link.acquire(address)));

  const readiness = new Readiness({
    waitReady: settings.waitReady,
    settleMs: SETTLE_MS,
    inheritedCount: inherited.filter((i) => i.address).length,
    unadopted: () => listeners.unadopted().length,
    onReady: () => {
      ready = true;
      stopCapture();
      if (fromBaton) sendToParent({ type: 'ready', pid: process.pid, listening: listeners.passable().map((p) => p.name) });
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

  let draining: Promise<never> | undefined;
  rt = {
    settings,
    listeners,
    readiness,
    state: 'serving',
    standalone: undefined,
    shutdown: (reason, timeoutMs = settings.drainTimeoutMs) => {
      draining ??= shutdown(rt, reason, timeoutMs, (connections) => link?.send({ type: 'draining', pid: process.pid, connections }));
      return draining;
    },
  };
  if (!supervised) {
    const [script, ...appArgs] = process.argv.slice(1);
    rt.standalone = new Standalone(rt, {
      execPath: process.execPath,
      args: [...process.execArgv, ...(script === undefined ? [] : [throughLogicalCwd(script, cwd)]), ...appArgs],
      cwd,
      env: { ...process.env },
    });
  }
  installSignals(rt);
  if (process.pid === 1 && !supervised) {
    log('warn', 'running as PID 1: a standalone upgrade would end the container with this process; in containers use `baton run`');
  }
  if (settings.pidFile && !fromBaton) writePidFile(settings.pidFile, process.pid);
  return rt;
}

/** A process that dies before it is ready tells its spawner why, with its stderr tail. */
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

function sendToParent(body: Parameters<typeof message>[0]): void {
  if (!process.connected) return;
  try {
    process.send!(message(body));
  } catch {
    // The parent is gone; nobody is waiting for this any more.
  }
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
  process.send = function (this: NodeJS.Process, msg: unknown, ...rest: unknown[]): boolean {
    if (msg === 'ready') {
      readiness.declare();
      return true;
    }
    return (send as (...a: unknown[]) => boolean).call(this, msg, ...rest);
  } as typeof process.send;
}

function installSignals(rt: Runtime): void {
  let interrupts = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && ++interrupts > 1) {
      log('warn', 'second SIGINT: stopping at once');
      process.exit(130);
    }
    if (rt.standalone) rt.standalone.stop();
    else void rt.shutdown('stop');
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  const { standalone } = rt;
  if (standalone) {
    process.on(rt.settings.upgradeSignal, () => void standalone.upgrade());
  } else {
    // A terminal's SIGHUP reaches the whole process group; the master decides what it means.
    for (const signal of ['SIGHUP', 'SIGUSR2'] as const) process.on(signal, () => {});
  }
}

async function shutdown(
  rt: Runtime, reason: 'upgrade' | 'stop', timeoutMs: number, announce: (connections: number) => void,
): Promise<never> {
  rt.state = 'draining';
  const servers = rt.listeners.servers();
  const paths = reason === 'stop' && rt.standalone ? rt.listeners.ownedPaths() : [];
  const connections = openConnections(servers);
  log('info', 'draining', { reason, connections });
  announce(connections);
  const result = await drain(servers, {
    timeoutMs,
    runHooks: (open) => runHooks({ reason, connections: open }, timeoutMs),
  });
  for (const p of paths) fs.rmSync(p, { force: true });
  if (reason === 'stop' && rt.settings.pidFile && rt.standalone) removePidFile(rt.settings.pidFile);
  log('info', 'drained, exiting', { ms: result.durationMs, destroyed: result.destroyed });
  process.exit(0);
}
