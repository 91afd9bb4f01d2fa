/**
 * `baton run`, assembled: the socket table (systemd's sockets adopted), the
 * workers' spawner, the master, its control socket, the admin listener (with
 * --admin), and the signals: SIGHUP
 * and SIGUSR2 reload, SIGTERM and SIGINT drain and stop, a second SIGINT stops
 * at once. The master's pid changes only at a `baton upgrade` (refused as a
 * container's PID 1), so it suits systemd and a container's PID 1.
 */
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANDOVER_VARS, readListenEnv } from '../protocol/fds.js';
import { checkInternals } from '../internals/check.js';
import { type Inherited, inherit } from '../listeners/inherit.js';
import { DEFAULT_NAME } from '../control/paths.js';
import { type ControlServer, type Upgrade, startControlServer } from '../control/server.js';
import { ADMIN_FD_NAME, CONTROL_FD_NAME } from '../protocol/upgrade.js';
import { Takeover } from '../supervisor/takeover.js';
import { removePidFile, writePidFile } from '../worker/pidfile.js';
import { upgrader } from '../supervisor/upgrade.js';
import { batonVersion } from './version.js';
import { EventLog } from '../control/events.js';
import type { Status, Timeline } from '../protocol/control.js';
import type { LogSource } from '../protocol/logs.js';
import { Master, type MasterEvents, type MasterOptions } from '../supervisor/master.js';
import { SocketTable } from '../supervisor/sockets.js';
import { warnStickySessions } from '../supervisor/sticky.js';
import { workerSpawner } from '../supervisor/worker.js';
import { BeatHistory } from '../supervisor/beats.js';
import { RequestHistory } from '../supervisor/requests.js';
import { compileCacheDir, compileCacheEnv, prepareCompileCacheDir } from '../supervisor/compile-cache.js';
import { type Notifier, systemdNotifier } from '../systemd/notify.js';
import { configureLog, errMessage, log, tapLog } from '../log.js';
import { LogFile } from '../supervisor/log-file.js';
import { onStopSignals } from '../signals.js';
import type { AdminServer } from '../admin/server.js';
import type { RunCommand } from './resolve.js';

type Closable = { close(): Promise<void> };
/** What clients read as it comes: the timeline, and with --log-file the last lines. */
type Feeds = { timeline: Timeline; logs: LogSource | undefined };
/** What the master keeps of the workers' heartbeats: their requests added up, their last figures. */
type Kept = { requests: RequestHistory; beats: BeatHistory };

const register = fileURLToPath(new URL('../register.js', import.meta.url));

/**
 * Workers of `o.script` with the preload, on the master's sockets. Throws a one-line error when the compile cache is
 * not private.
 */
function spawnerFor(
  o: RunCommand,
  sockets: SocketTable,
  controlPath: string,
  { requests, beats }: Kept,
  logFile: LogFile | undefined,
): ReturnType<typeof workerSpawner> {
  const { options } = o;
  const cache = compileCacheEnv(process.env, options.compileCache ? compileCacheDir(controlPath) : undefined);
  if (cache.NODE_COMPILE_CACHE !== undefined) prepareCompileCacheDir(cache.NODE_COMPILE_CACHE);
  return workerSpawner(
    {
      execPath: options.node ?? process.execPath,
      nodeArgs: options.nodeArgs,
      register,
      script: o.script,
      args: o.args,
      cwd: o.cwd,
      env: { ...process.env, ...o.env, ...cache },
      settings: o.settings,
      logFile,
    },
    sockets,
    (w, beat) => {
      if (beat.requests) requests.add(w.pid, w.generation, beat.requests);
      beats.add(w, beat);
    },
  );
}

/**
 * --admin's code, loaded only then: a master without it loads none of it. A reload also takes up a renewed certificate.
 */
async function loadAdmin(
  o: RunCommand,
): Promise<
  { events: MasterEvents; start: (master: Master, feeds: Feeds, fd?: number) => Promise<AdminServer> } | undefined
> {
  const options = o.admin;
  if (!options) return undefined;
  const module = await import('../admin/index.js');
  const metrics = new module.Metrics();
  let server: AdminServer | undefined;
  const events: MasterEvents = {
    reloaded: (result) => {
      metrics.reloaded(result);
      server?.reloadCertificate();
    },
    respawned: () => metrics.respawned(),
    replaced: (reason) => metrics.replaced(reason),
    cut: (n) => metrics.cut(n),
  };
  return {
    events,
    start: async (master, feeds, fd) =>
      (server = await module.startAdminServer(
        options,
        master,
        { render: (s) => metrics.render(s), ...feeds },
        fd === undefined ? undefined : (s) => listenOnFd(s, fd),
      )),
  };
}

/** The admin listener `baton upgrade` passed: served on as it is, not bound anew. */
function listenOnFd(server: net.Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** --log-file, opened (a one-line error, exit 1, if it cannot be), and reopened on SIGUSR1. */
function logFileOf(o: RunCommand): LogFile | undefined {
  const file = o.options.logFile;
  if (file === undefined) return undefined;
  const logFile = new LogFile(file, o.settings.logFormat);
  process.on('SIGUSR1', () => {
    try {
      logFile.reopen();
      log('info', 'log file reopened', { path: file });
    } catch (err) {
      log('error', `cannot reopen the log file; writing on to the one open: ${errMessage(err)}`);
    }
  });
  return logFile;
}

function masterOptions(
  o: RunCommand,
  inherited: MasterOptions['inherited'],
  events: MasterEvents | undefined,
  kept: Kept,
): MasterOptions {
  const { options } = o;
  const { readyTimeoutMs, drainTimeoutMs, crashWindowMs } = o.settings;
  return {
    name: options.name ?? DEFAULT_NAME,
    workers: options.workers,
    readyTimeoutMs,
    drainTimeoutMs,
    crashWindowMs,
    ...o.supervisor,
    listen: options.listen.map((l) => ({ label: l.name, address: l.address })),
    inherited,
    releases: options.releases,
    node: options.node,
    nodeAllow: options.nodeAllow,
    version: batonVersion(),
    events,
    sources: o.sources,
    ...kept,
  };
}

/**
 * Past this many workers per CPU they only compete for it: every start and reload takes longer, for no more throughput.
 */
const WORKERS_PER_CPU = 4;

function warnManyWorkers(workers: number): void {
  const cpus = os.availableParallelism();
  if (workers <= WORKERS_PER_CPU * cpus) return;
  log(
    'warn',
    `-w ${workers} is more than ${WORKERS_PER_CPU} workers per CPU (${cpus} ${cpus === 1 ? 'CPU' : 'CPUs'}): they compete for the CPUs, and every start and reload takes longer; -w auto starts one per CPU`,
  );
}

/**
 * The sockets passed to this master, by systemd or by the master `baton upgrade` replaces, and who speaks for the
 * service: the master alone (a new one from `baton upgrade` once in service), as only it knows a reload's outcome.
 */
function takeInherited(): {
  inherited: Inherited[];
  takeover: Takeover | undefined;
  notify: Notifier;
  notifySocket: string | undefined;
} {
  const fds = readListenEnv(process.env, process.pid, process.ppid);
  const takeover = Takeover.from(process.env, fds);
  const inherited = inherit(takeover?.listening ?? fds);
  takeover?.ownPaths(inherited);
  for (const key of HANDOVER_VARS) delete process.env[key];
  const notifySocket = process.env.NOTIFY_SOCKET;
  const systemd = systemdNotifier(process.env, { unset: true });
  return { inherited, takeover, notifySocket, notify: takeover ? takeover.notifier(systemd) : systemd };
}

/** --pid-file: this master's pid, written whole or not at all (a reader never sees half a pid); a failure is said. */
function writePid(file: string | undefined): void {
  const failed = file === undefined ? undefined : writePidFile(file, process.pid);
  if (failed) log('error', failed);
}

/** The listeners `baton upgrade` passes on, besides the app's: set once they listen. */
interface Handed {
  control?: ControlServer;
  admin?: AdminServer;
}

/** `baton upgrade` on this master: a new one from the baton on disk, on the same command line and sockets. */
function upgradeOf(
  o: RunCommand,
  master: Master,
  sockets: SocketTable,
  handed: Handed,
  notifySocket: string | undefined,
): Upgrade {
  const { readyTimeoutMs, crashWindowMs, drainTimeoutMs } = o.settings;
  return upgrader({
    execArgv: process.execArgv,
    entry: process.argv[1]!,
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    get env() {
      return { ...process.env, ...(notifySocket === undefined ? {} : { NOTIFY_SOCKET: notifySocket }) };
    },
    readyTimeoutMs,
    crashWindowMs,
    drainTimeoutMs,
    sockets: () => [
      ...sockets.all().map((h) => ({ name: h.name, fd: h.handle.fd, ownsPath: h.ownsPath })),
      ...(handed.control?.fd === undefined ? [] : [{ name: CONTROL_FD_NAME, fd: handed.control.fd }]),
      ...(handed.admin?.fd === undefined ? [] : [{ name: ADMIN_FD_NAME, fd: handed.admin.fd }]),
    ],
    busy: () => (master.isStopping() ? 'the master is stopping' : starting(master.status())),
    isStopping: () => master.isStopping(),
    handOver: () => {
      handed.control!.owns = false;
      void handed.control?.close();
      void handed.admin?.close();
      master.retire();
    },
  });
}

/**
 * The control socket, the admin listener (with --admin), then the first generation, and the pid file; listening on
 * what `baton upgrade` passed, if it did. On a failure the listeners are closed again.
 */
async function serve(
  o: RunCommand,
  m: {
    master: Master;
    sockets: SocketTable;
    admin: Awaited<ReturnType<typeof loadAdmin>>;
    feeds: Feeds;
    closing: Closable[];
    controlPath: string;
  },
  { takeover, notifySocket }: ReturnType<typeof takeInherited>,
): Promise<void> {
  const { master, admin, feeds, closing } = m;
  const pidFile = o.options.pidFile;
  try {
    const handed: Handed = {};
    const upgrade = upgradeOf(o, master, m.sockets, handed, notifySocket);
    const listen = async (): Promise<void> => {
      handed.control = await startControlServer(m.controlPath, master, { ...feeds, fd: takeover?.controlFd, upgrade });
      handed.control.owns = true;
      closing.push(handed.control);
      if (admin) closing.push((handed.admin = await admin.start(master, feeds, takeover?.adminFd)));
    };
    // A new master from `baton upgrade` answers once in service: a stop or a reload before then is the old one's.
    if (takeover)
      takeover.watch(master, o.settings.crashWindowMs, batonVersion(), { listen, tookOver: () => writePid(pidFile) });
    else await listen();
    await master.start();
    if (!takeover) writePid(pidFile);
    if (handed.control) log('info', 'control socket ready', { control: m.controlPath, pid: process.pid });
  } catch (err) {
    await Promise.allSettled(closing.map((c) => c.close()));
    throw err;
  }
}

/** A generation (a reload's) or a worker (a replacement) still starting: an upgrade waits until it serves. */
function starting(s: Status): string | undefined {
  if (!s.workers.some((w) => w.state === 'starting' || w.generation > s.generation)) return undefined;
  return 'a reload or a replacement is under way; try again once it is over';
}

export async function run(o: RunCommand, controlPath: string): Promise<void> {
  const { options } = o;
  configureLog({ format: o.settings.logFormat });
  // Every line the master logs from here on is its timeline (`baton events`, GET /api/events), and with --log-file, a
  // line of the file.
  const timeline = new EventLog();
  const logFile = logFileOf(o);
  let takeover: Takeover | undefined;
  tapLog((entry) => {
    timeline.add(entry);
    logFile?.entry(entry);
    takeover?.logged(entry);
  });
  checkInternals();
  const inherited = takeInherited();
  ({ takeover } = inherited);
  const { notify } = inherited;
  const sockets = new SocketTable();
  warnStickySessions(path.resolve(o.cwd, o.script), options.workers);
  warnManyWorkers(options.workers);
  // Kept either way: with counting off the workers send no requests, and their history stays empty.
  const kept: Kept = { requests: new RequestHistory(), beats: new BeatHistory() };
  const spawner = spawnerFor(o, sockets, controlPath, kept, logFile);
  if (o.config) log('info', `settings from ${o.config.label}`);
  for (const line of o.config?.warnings ?? []) log('warn', line);
  const admin = await loadAdmin(o);
  const closing: Closable[] = [];
  const exit = (code: number): void => {
    // STOPPING=1 may still be on its way: it goes out before the master does, not from an orphan.
    void Promise.allSettled([...closing.map((c) => c.close()), notify.flushed()]).finally(() => {
      if (options.pidFile !== undefined) removePidFile(options.pidFile);
      process.exit(code);
    });
  };
  const settings = masterOptions(o, inherited.inherited, admin?.events, kept);
  const master = new Master(settings, sockets, spawner, exit, notify);
  // Before the first workers start: a stop or a reload asked while they do (-w 64 takes seconds) is answered, not
  // fatal.
  for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
    process.on(signal, () => {
      void master.reload(undefined, { by: signal });
    });
  }
  onStopSignals(
    () => master.stop(),
    () => master.kill(),
  );
  await serve(
    o,
    { master, sockets, admin, feeds: { timeline, logs: logFile?.recent }, closing, controlPath },
    inherited,
  );
  if (process.pid === 1) {
    // Node reaps only the children it spawned; orphans re-parented to PID 1 would stay zombies.
    log(
      'info',
      'running as PID 1: baton reaps its workers, but not processes the app orphans; if the app starts processes of its own, run the container with an init (docker run --init)',
    );
  }
}
