/**
 * The process-side runtime that `batonjs/register` installs: inherited sockets,
 * listen() routing, readiness, signals and shutdown. A process runs standalone
 * (it upgrades itself on a signal) or as a master's worker (sockets come from
 * the master, which also orders the drain); a process started by another
 * baton process talks to it through one endpoint.
 */
import fs from 'node:fs';
import type net from 'node:net';
import { ADMIN_FD_NAME, HANDOVER_VARS, type InheritedFd, readListenEnv } from '../protocol/fds.js';
import { cutLine } from '../protocol/control.js';
import type { DrainReason } from '../protocol/messages.js';
import { ENV, type Origin, type Settings, originOf, readSettings } from '../protocol/settings.js';
import { isClusterWorker } from '../internals/builtins.js';
import { adminFromEnv } from '../admin/options.js';
import { checkDatagram, checkInternals } from '../internals/check.js';
import { type ListenFn, patchBind, patchListen, patchProcessSend } from '../internals/patches.js';
import { inherit } from '../listeners/inherit.js';
import { Listeners } from '../listeners/route.js';
import { cutAll, drain, openConnections } from '../drain/index.js';
import { protocolOf, track } from '../drain/track.js';
import { closeShare } from '../drain/http1.js';
import { adopt } from '../internals/handover.js';
import type { NativeHandle } from '../internals/handles.js';
import { closeFrameFor } from '../drain/websocket.js';
import { ParentEndpoint } from '../generation/endpoint.js';
import { Child } from '../generation/parent.js';
import { logicalCwd, throughLogicalCwd } from '../cwd.js';
import { configureLog, errorLine, log } from '../log.js';
import { type StopSignal, onStopSignals, onUpgradeSignal } from '../signals.js';
import { type Notifier, systemdNotifier } from '../systemd/notify.js';
import { deadlineIn } from '../time.js';
import { StandaloneAdmin } from './admin.js';
import { AppShutdown } from './app-shutdown.js';
import { flushCompileCache } from './compile-cache.js';
import { setRuntime } from './current.js';
import { watchFds } from './fd-watch.js';
import { startHeartbeat } from './heartbeat.js';
import { countRequests, takeCounts } from './requests.js';
import { runDrainHooks, runHooks } from './hooks.js';
import { Lifecycle } from './lifecycle.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { watchOwnMemory } from './memory-limit.js';
import { survivePipeErrors } from './stdio.js';
import { Readiness } from './readiness.js';
import { type Launch, Standalone } from './standalone.js';

/** How long a process that inherited fewer sockets than it listens on waits for further listens. */
const SETTLE_MS = 300;

let installed = false;

/**
 * Installs the runtime once; a process that cannot start (bad settings, bad
 * inherited fds) says why and exits 1. `adminModule` gives where the admin
 * listener's code is, loaded only with BATON_ADMIN.
 */
export function install(adminModule: () => URL): void {
  if (installed || isClusterWorker()) return;
  installed = true;
  if (process.platform === 'win32') {
    log(
      'warn',
      'socket hand-over needs fd passing, which Windows lacks: upgrades are off; restart the process to deploy (stop, then start)',
    );
    return;
  }
  const origin = originOf(process.env, process.ppid, typeof process.send === 'function');
  // The app's own child (a fork() passes the preload on) runs as it would without baton.
  if (origin === 'app') return;
  let endpoint: ParentEndpoint | undefined;
  try {
    const settings = readSettings(process.env);
    configureLog({ generation: settings.generation, format: settings.logFormat });
    checkInternals();
    const fds = readListenEnv(process.env, process.pid, process.ppid);
    for (const key of HANDOVER_VARS) delete process.env[key];
    process.env[ENV.ownerPid] = String(process.pid);
    let rt: Runtime | undefined;
    if (origin !== 'first')
      endpoint = new ParentEndpoint(origin === 'worker' ? 'the master' : 'the predecessor', settings.crashWindowMs, {
        drain: (reason, deadline) => rt?.drainOrder(reason, deadline),
        closeShare: (share) => rt?.closeShare(share),
        history: (reloads, counters) => rt?.admin?.takeOver(reloads, counters),
        disconnect: () => rt?.parentGone(),
        connection: (address, handle) => rt?.adoptConnection(address, handle) ?? false,
      });
    rt = new Runtime(settings, origin, fds, endpoint, adminModule);
  } catch (err) {
    const line = errorLine(err).replace(/^Error: /, '');
    endpoint?.noteFatal(line);
    log('error', line);
    process.exit(1);
  }
}

class Runtime {
  readonly lifecycle = new Lifecycle();
  readonly listeners: Listeners;
  readonly readiness: Readiness;
  readonly standalone: Standalone | undefined;
  readonly admin: StandaloneAdmin | undefined;
  private readonly fdWatch = watchFds();
  /** While a canary runs, the master's share of responses to end with Connection: close. */
  readonly closeShare = closeShare(() => this.listeners.servers());
  /**
   * What a standalone process tells systemd: it is the service's main process
   * while it serves, so its successor keeps NOTIFY_SOCKET. A master's worker
   * says nothing (the master speaks for the service and unsets the variable).
   */
  private readonly notify: Notifier = systemdNotifier(process.env, { unset: false });
  private draining: Promise<never> | undefined;
  private appSignalListeners: () => void = () => {};
  private appShutdown!: AppShutdown;
  /** The signal that stopped this process, if one did. */
  private stopSignal: StopSignal | undefined;
  private deadline = Infinity;
  /** Connections cut before the deadline, when the parent moved it up. */
  private cutEarly = 0;
  /** A successor told to stop by its predecessor was rolled back (even when ready): the predecessor serves on. */
  private rolledBack = false;
  /** The inherited sockets it did not take have been given up (see ListeningMessage). */
  private settled = false;

  constructor(
    readonly settings: Settings,
    readonly origin: Origin,
    fds: InheritedFd[],
    private readonly endpoint: ParentEndpoint | undefined,
    adminModule: () => URL,
  ) {
    const cwd = logicalCwd();
    const adminFd = fds.find((f) => f.name === ADMIN_FD_NAME);
    const inherited = inherit(fds.filter((f) => f !== adminFd));
    const supervised = origin === 'worker';
    this.listeners = new Listeners(inherited, cwd, supervised ? (address) => endpoint!.acquire(address) : undefined);
    this.readiness = new Readiness({
      waitReady: settings.waitReady,
      settleMs: SETTLE_MS,
      inheritedCount: inherited.filter((i) => i.address).length,
      unadopted: () => this.listeners.unadopted().length,
      onReady: () => this.onReady(),
    });
    this.listeners.onListening = () => {
      if (!this.readiness.isReady) this.readiness.listened();
      else this.endpoint?.listening(this.listening(), this.settled);
    };
    // A standalone process counts for its admin API only.
    const counting = (): boolean => settings.requestMetrics && (supervised || this.admin !== undefined);
    const listen = patchListen((server, args, original) => {
      const t = track(server);
      if (counting()) countRequests(server, t.protocol);
      return this.listeners.listen(server, args, original);
    });
    patchBind((socket, args, original) => {
      checkDatagram(socket);
      return this.listeners.bind(socket, args, original);
    });
    patchProcessSend(() => this.readiness.declare());
    this.standalone = supervised ? undefined : this.upgrader(cwd);
    this.admin = supervised ? undefined : this.startAdmin(adminFd, adminModule, listen);
    survivePipeErrors();
    this.installSignals();
    this.expose();
    this.watchItself(supervised);
    if (process.pid === 1 && !supervised) {
      log(
        'warn',
        'running as PID 1: a standalone upgrade would end the container with this process; in containers use `baton run`',
      );
    }
    if (settings.pidFile && origin === 'first') {
      const failed = writePidFile(settings.pidFile, process.pid);
      if (failed) log('error', failed);
    }
  }

  /** Under a master, the heartbeat that tells it how this process does; standalone, its own memory limit. */
  private watchItself(supervised: boolean): void {
    const { settings } = this;
    if (supervised) {
      startHeartbeat(
        this.endpoint!,
        () => openConnections(this.listeners.servers()),
        settings.requestMetrics ? takeCounts : undefined,
      );
    } else if (settings.maxMemoryBytes > 0) {
      watchOwnMemory(
        settings.maxMemoryBytes,
        () => this.lifecycle.state === 'serving',
        () => this.standalone!.upgrade(),
      );
    }
  }

  /** A standalone process's upgrades: a successor started with this process's command. */
  private upgrader(cwd: string): Standalone {
    return new Standalone({
      lifecycle: this.lifecycle,
      listeners: this.listeners,
      settings: this.settings,
      launch: launchOf(cwd),
      notify: this.notify,
      moreSockets: () => this.admin?.passable() ?? [],
      connections: () => openConnections(this.listeners.servers()),
      upgraded: (result, successor) => this.admin?.upgraded(result, successor),
      runAppSignalListeners: () => this.appSignalListeners(),
      shutdown: (reason, deadline) => this.shutdown(reason, deadline),
      spawn: (spec) => new Child(spec),
    });
  }

  /** BATON_ADMIN's listener, on the socket a predecessor passed on or bound now; the first process serves at once. */
  private startAdmin(
    inherited: InheritedFd | undefined,
    module: () => URL,
    listen: ListenFn,
  ): StandaloneAdmin | undefined {
    const options = adminFromEnv(process.env);
    if (!options) return undefined;
    const draining = (): boolean => this.lifecycle.state === 'draining' || this.lifecycle.state === 'exited';
    const admin = new StandaloneAdmin(options, inherited, {
      settings: this.settings,
      module: module(),
      listen,
      state: () => (draining() ? 'draining' : this.readiness.isReady ? 'ready' : 'starting'),
      isServing: () => this.readiness.isReady && !draining(),
      isStopping: draining,
      listeners: () => this.listeners.passable().map((p) => p.name),
      connections: () => openConnections(this.listeners.servers()),
      reload: (onPhase) => this.standalone!.upgrade(onPhase),
      stop: () => this.stop(),
    });
    if (this.origin === 'first') admin.serve();
    return admin;
  }

  private onReady(): void {
    this.admin?.serve();
    this.endpoint?.ready(this.listening());
    flushCompileCache();
    // A successor's READY=1 comes from its predecessor, with MAINPID=, while systemd still takes that one for the main
    // process.
    if (this.origin === 'first') this.notify.serving(this.settings.generation);
    // An app may listen after an `await` or a delay, past readiness: what it inherited stays open for it until it is in
    // service.
    const unused = setTimeout(
      () => {
        this.settled = true;
        const closed = this.listeners.closeUnadopted();
        if (closed.length)
          log('warn', 'closed inherited sockets the new code does not listen on', { sockets: closed.join(',') });
        this.endpoint?.listening(this.listening(), true);
      },
      Math.max(SETTLE_MS, this.settings.crashWindowMs),
    );
    unused.unref();
  }

  private listening(): string[] {
    return this.listeners.passable().map((p) => p.name);
  }

  private installSignals(): void {
    const { standalone } = this;
    this.appShutdown = new AppShutdown(
      onStopSignals(
        (signal) => {
          if (this.draining) this.appShutdown.signalled(signal);
          else this.stopSignal = signal;
          this.stop();
        },
        () => process.exit(130),
      ),
    );
    if (standalone) {
      this.appSignalListeners = onUpgradeSignal(this.settings.upgradeSignal, () => void standalone.upgrade());
    } else {
      // A terminal's SIGHUP reaches the whole process group; the master decides what it means.
      for (const signal of ['SIGHUP', 'SIGUSR2'] as const) process.on(signal, () => {});
    }
  }

  private expose(): void {
    setRuntime({
      generation: this.settings.generation,
      ready: () => this.readiness.declare(),
      isDraining: () => this.lifecycle.state === 'draining' || this.lifecycle.state === 'exited',
      upgrade: () => this.standalone?.upgrade().then((r) => r.ok) ?? Promise.resolve(false),
    });
  }

  drainOrder(reason: DrainReason, deadline: number): void {
    if (this.origin === 'successor') this.rolledBack = true;
    if (this.draining && deadline < this.deadline) this.endNow();
    else if (reason === 'stop') this.stop(deadline);
    else void this.shutdown(reason, deadline);
  }

  /**
   * The parent ends this drain early (a master with too many generations
   * draining): what is open is cut now; the drain then finds nothing left
   * and exits, and a hook still running is the parent's to kill.
   */
  private endNow(): void {
    this.deadline = Date.now();
    const cut = cutAll(this.listeners.servers());
    this.cutEarly += cut;
    this.appShutdown.cutShort();
    log('warn', 'the drain was ended early by the master', { cut });
  }

  /**
   * A connection handed over by the predecessor or the master joins the server on `address`; without one, its sender
   * keeps it.
   */
  adoptConnection(address: string, handle: NativeHandle): boolean {
    const server = this.listeners.serverAt(address);
    if (server?.listening && protocolOf(server) === 'http1') {
      adopt(server, handle);
      return true;
    }
    handle.close();
    return false;
  }

  /**
   * Where an idle connection of `server`'s goes at an upgrade: the successor, or the master for its serving generation.
   */
  private handOver(server: net.Server, handle: NativeHandle): Promise<boolean> {
    const address = this.listeners.nameOf(server);
    if (address === undefined) return Promise.resolve(false);
    return (
      this.standalone?.handOver(address, handle) ?? this.endpoint?.handOver(address, handle) ?? Promise.resolve(false)
    );
  }

  parentGone(): void {
    if (this.origin !== 'worker') return; // a predecessor exits once it has drained: that is the plan
    // Stopping accepting at once frees the address for a new master; what is in flight still gets the drain timeout.
    log('warn', 'the master is gone: draining and exiting');
    void this.shutdown('stop');
  }

  private stop(deadline?: number): void {
    if (this.lifecycle.state === 'draining') log('info', 'already draining');
    else if (this.standalone) this.standalone.stop(deadline);
    else void this.shutdown('stop', deadline);
  }

  shutdown(reason: DrainReason, deadline = deadlineIn(this.settings.drainTimeoutMs)): Promise<never> {
    if (!this.draining) {
      this.deadline = deadline;
      this.lifecycle.to('draining');
      this.fdWatch.stop();
      this.draining = this.drainAndExit(reason, deadline);
    }
    return this.draining;
  }

  private async drainAndExit(reason: DrainReason, deadline: number): Promise<never> {
    const servers = this.listeners.servers();
    // Only the serving standalone process owns its unix paths and pid file: a
    // successor stopped before it was ready, or rolled back, leaves them to its predecessor.
    const final =
      reason === 'stop' &&
      this.standalone !== undefined &&
      !this.rolledBack &&
      (this.origin === 'first' || this.readiness.isReady);
    const paths = final ? this.listeners.ownedPaths() : [];
    if (final) this.notify.stopping();
    const connections = openConnections(servers);
    // The successor serves the admin API from now on; what this process took is answered, not cut.
    const admin = reason === 'upgrade' ? this.admin?.handOver(deadline) : undefined;
    const drained = drain(servers, {
      deadline,
      datagramSockets: this.listeners.datagramSockets(),
      // Said once nothing new is accepted, so whoever reads it may bind the address.
      stopped: () => {
        log('info', 'draining', { reason, connections, msLeft: deadline - Date.now() });
        this.endpoint?.send({ type: 'draining', pid: process.pid, connections });
      },
      webSocketClose: this.settings.closeWebSockets ? closeFrameFor(reason) : undefined,
      handOver: reason === 'upgrade' ? (server, handle) => this.handOver(server, handle) : undefined,
      endEventStreams: this.settings.closeEventStreams,
      runDrainHooks: () => runDrainHooks({ reason, deadline }),
      runHooks: (open) => runHooks({ reason, connections: open, deadline }),
    });
    this.appShutdown.start(this.stopSignal, servers);
    const result = await drained;
    await admin;
    for (const p of paths) fs.rmSync(p, { force: true });
    if (final && this.settings.pidFile) removePidFile(this.settings.pidFile);
    // Cut connections are failed clients: a warning here, and a count the parent adds up and reports.
    const cut = result.destroyed + this.cutEarly;
    if (cut > 0) log('warn', cutLine(cut));
    // Waited for: exiting at once could lose it, and with it the count the parent reports.
    await this.endpoint?.sendLast({ type: 'drained', pid: process.pid, cut });
    log('info', 'drained, exiting', {
      ms: result.durationMs,
      destroyed: result.destroyed,
      handedOver: result.handedOver,
    });
    this.lifecycle.to('exited');
    // After a hand-over: systemd must have read MAINPID= before the main process it knows exits.
    await this.notify.flushed();
    await this.appShutdown.finish(servers, this.deadline);
    process.exit(0);
  }
}

/** The command that started this process, as its successor will be started. */
function launchOf(cwd: string): Launch {
  const [script, ...appArgs] = process.argv.slice(1);
  return {
    execPath: process.execPath,
    args: [...process.execArgv, ...(script === undefined ? [] : [throughLogicalCwd(script, cwd)]), ...appArgs],
    cwd,
    env: { ...process.env },
  };
}
