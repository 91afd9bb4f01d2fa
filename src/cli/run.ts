/**
 * `baton run`, assembled: the socket table (systemd's sockets adopted), the
 * workers' spawner, the master, its control socket, the admin listener (with
 * --admin), and the signals: SIGHUP
 * and SIGUSR2 reload, SIGTERM and SIGINT drain and stop, a second SIGINT stops
 * at once. The master's pid never changes, so it suits systemd and a
 * container's PID 1.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANDOVER_VARS, readListenEnv } from '../protocol/fds.js';
import { DEFAULTS, type LogFormat } from '../protocol/settings.js';
import { checkInternals } from '../internals/check.js';
import { inherit } from '../listeners/inherit.js';
import { DEFAULT_NAME } from '../control/paths.js';
import { startControlServer } from '../control/server.js';
import { Master } from '../supervisor/master.js';
import { SocketTable } from '../supervisor/sockets.js';
import { warnStickySessions } from '../supervisor/sticky.js';
import { workerSpawner } from '../supervisor/worker.js';
import { compileCacheDir, compileCacheEnv } from '../supervisor/compile-cache.js';
import { systemdNotifier } from '../systemd/notify.js';
import { logicalCwd } from '../cwd.js';
import { configureLog, log } from '../log.js';
import { onStopSignals } from '../signals.js';
import type { RunCommand } from './args.js';

type Closable = { close(): Promise<void> };

const register = fileURLToPath(new URL('../register.js', import.meta.url));

/** Workers of `o.script` with the preload, on the master's sockets. */
function spawnerFor(o: RunCommand, sockets: SocketTable, controlPath: string, logFormat: LogFormat): ReturnType<typeof workerSpawner> {
  return workerSpawner({
    execPath: process.execPath,
    nodeArgs: o.nodeArgs,
    register,
    script: o.script,
    args: o.args,
    cwd: logicalCwd(),
    env: { ...process.env, ...compileCacheEnv(process.env, o.compileCache ? compileCacheDir(controlPath) : undefined) },
    settings: {
      ...DEFAULTS, readyTimeoutMs: o.readyTimeoutMs, drainTimeoutMs: o.drainTimeoutMs, waitReady: o.waitReady, closeWebSockets: o.closeWebSockets, closeEventStreams: o.closeEventStreams, logFormat,
    },
  }, sockets);
}

export async function run(o: RunCommand, controlPath: string, logFormat: LogFormat): Promise<void> {
  configureLog({ format: logFormat });
  checkInternals();
  const inherited = inherit(readListenEnv(process.env, process.pid, process.ppid));
  for (const key of HANDOVER_VARS) delete process.env[key];
  // The master alone speaks for the service: its pid never changes, and only it knows a reload's outcome.
  const notify = systemdNotifier(process.env, { unset: true });
  const sockets = new SocketTable();
  warnStickySessions(path.resolve(logicalCwd(), o.script), o.workers);
  const spawner = spawnerFor(o, sockets, controlPath, logFormat);
  // Loaded only with --admin: a master without it loads none of the admin listener's code.
  const admin = o.admin && { options: o.admin, module: await import('../admin/index.js') };
  const metrics = admin && new admin.module.Metrics();
  const closing: Closable[] = [];
  const exit = (code: number): void => {
    // STOPPING=1 may still be on its way: it goes out before the master does, not from an orphan.
    void Promise.allSettled([...closing.map((c) => c.close()), notify.flushed()]).finally(() => process.exit(code));
  };
  const master = new Master({
    name: o.name ?? DEFAULT_NAME,
    workers: o.workers,
    readyTimeoutMs: o.readyTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    ...o.supervisor,
    listen: o.listen.map((l) => ({ label: l.name, address: l.address })),
    inherited,
    releases: o.releases,
    events: metrics,
  }, sockets, spawner, exit, notify);
  try {
    closing.push(await startControlServer(controlPath, master));
    if (admin && metrics) closing.push(await admin.module.startAdminServer(admin.options, master, metrics));
    await master.start();
  } catch (err) {
    await Promise.allSettled(closing.map((c) => c.close()));
    throw err;
  }
  log('info', 'control socket ready', { control: controlPath, pid: process.pid });
  if (process.pid === 1) {
    // Node reaps only the children it spawned; orphans re-parented to PID 1 would stay zombies.
    log('info', 'running as PID 1: baton reaps its workers, but not processes the app orphans; if the app starts processes of its own, run the container with an init (docker run --init)');
  }
  for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
    process.on(signal, () => {
      log('info', `${signal}: reload requested`);
      void master.reload();
    });
  }
  onStopSignals(() => master.stop(), () => master.kill());
}
