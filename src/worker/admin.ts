/**
 * A standalone process's admin listener (BATON_ADMIN): the API a master
 * serves, served by the app's process about itself. Its socket is bound by
 * the first process and passed to each successor with the app's (named
 * ADMIN_FD_NAME), so the address never refuses a connection across an
 * upgrade. A successor accepts on it once it is ready, and its predecessor
 * stops as it hands over, answering what it already took (the POST
 * /api/reload that asked for the upgrade among them). The socket is never
 * the app's: it counts for no readiness and is not in the app's drain.
 *
 * The HTTP server, with http and crypto, is loaded only here, when it is
 * asked for: the preload loads nothing more for the processes without it.
 */
import type net from 'node:net';
import {
  type ReloadCounters,
  type ReloadRecord,
  type ReloadResult,
  ReloadRefused,
  type Status,
  type WorkerState,
  remember,
} from '../protocol/control.js';
import { ADMIN_FD_NAME, type InheritedFd } from '../protocol/fds.js';
import { ENV, type Settings } from '../protocol/settings.js';
import { type AdminOptions, cannotListen } from '../admin/options.js';
import type { AdminTarget } from '../admin/server.js';
import type { Child } from '../generation/parent.js';
import { type NativeHandle, bindTcp } from '../internals/handles.js';
import type { ListenFn } from '../internals/patches.js';
import { inherit } from '../listeners/inherit.js';
import { drain } from '../drain/index.js';
import { track } from '../drain/track.js';
import { log } from '../log.js';
import { HEARTBEAT_MS } from '../protocol/messages.js';
import { BeatHistory } from '../supervisor/beats.js';
import { RequestHistory } from '../supervisor/requests.js';
import { takeCounts } from './requests.js';

type AdminModule = typeof import('../admin/index.js');

const STANDALONE_RELEASE =
  'a standalone process upgrades onto the code on disk and names no release (releases are for baton run --releases DIR)';
const STANDALONE_NODE =
  'a standalone process upgrades onto the node that runs it (moving to another node is for baton run: reload --node PATH)';
const STANDALONE_CANARY =
  'a standalone process is one process, upgraded whole: a canary or batches need workers (baton run -w N, then reload --canary or --batch)';

/** What the admin API asks of the process. */
export interface AdminProcess {
  settings: Settings;
  /** Where the admin listener's code is (beside the preload, bundled or not). */
  module: URL;
  /** Node's own listen: the admin server must not be routed as the app's servers are. */
  listen: ListenFn;
  state(): WorkerState;
  isServing(): boolean;
  isStopping(): boolean;
  listeners(): string[];
  connections(): number;
  reload: AdminTarget['reload'];
  stop(): void;
}

export class StandaloneAdmin implements AdminTarget {
  private readonly handle: NativeHandle;
  /** The upgrades so far, the latest last: its predecessors' too, as each passed them on. */
  private readonly history: ReloadRecord[] = [];
  /** A predecessor's counters, taken over before the metrics were loaded. */
  private counters: ReloadCounters | undefined;
  private server: net.Server | undefined;
  private metrics: InstanceType<AdminModule['Metrics']> | undefined;
  private accept: () => void = () => {};
  private readonly accepting = new Promise<void>((resolve) => (this.accept = resolve));
  /** Its own requests, taken as a master's worker beats (absent with counting off). */
  private readonly requests: RequestHistory | undefined;
  /** Its last minute, beat by beat, as a master keeps its workers' (the page's sparklines). */
  private readonly beats = new BeatHistory();

  /** Binds BATON_ADMIN's address, or takes `inherited`; throws a one-line error. Starts loading the server. */
  constructor(
    private readonly options: AdminOptions,
    inherited: InheritedFd | undefined,
    private readonly p: AdminProcess,
  ) {
    this.handle = inherited ? inheritedHandle(inherited) : boundHandle(options);
    const requests = p.settings.requestMetrics ? new RequestHistory() : undefined;
    this.requests = requests;
    const self = { pid: process.pid, rssBytes: () => process.memoryUsage.rss(), exited: new Promise<never>(() => {}) };
    let due = Date.now() + HEARTBEAT_MS;
    // Its own heartbeat: how late the timer ran is the event loop's delay, as a worker's heartbeat measures it.
    setInterval(() => {
      const now = Date.now();
      const counts = requests ? takeCounts() : undefined;
      if (requests && counts) requests.add(process.pid, p.settings.generation, counts);
      this.beats.add(self, { delayMs: Math.max(0, now - due), connections: p.connections(), requests: counts });
      due = now + HEARTBEAT_MS;
    }, HEARTBEAT_MS).unref();
    this.load().catch((err: Error) => log('error', 'the admin API could not start', { error: err.message }));
  }

  /** The socket to pass to a successor. */
  passable(): { fd: number; name: string }[] {
    return [{ fd: this.handle.fd, name: ADMIN_FD_NAME }];
  }

  /** Accepts from now on: at once for the first process, once it is ready for a successor. */
  serve(): void {
    this.accept();
  }

  /** At the hand-over: no longer accepts; answers what it took, by the deadline. */
  async handOver(deadline: number): Promise<void> {
    this.accept = () => {};
    if (this.server?.listening) await drain([this.server], { deadline, runHooks: async () => {} });
  }

  /** Counts and records an upgrade; hands the record on to the successor that took over, if one did. */
  upgraded(result: ReloadResult, successor: Pick<Child, 'send'> | undefined): void {
    this.metrics?.reloaded(result);
    remember(this.history, result);
    const counters = this.metrics?.reloadCounters();
    if (counters) successor?.send({ type: 'history', reloads: this.history, counters });
  }

  /** The record and counters of the predecessor this process takes over from. */
  takeOver(reloads: ReloadRecord[], counters: ReloadCounters): void {
    this.history.splice(0, this.history.length, ...reloads);
    this.counters = counters;
    this.metrics?.takeOver(counters);
  }

  reload: AdminTarget['reload'] = (onPhase, ask = {}) => {
    if (ask.release !== undefined) throw new ReloadRefused(STANDALONE_RELEASE);
    if (ask.node !== undefined) throw new ReloadRefused(STANDALONE_NODE);
    if (ask.canary !== undefined || ask.batch !== undefined) throw new ReloadRefused(STANDALONE_CANARY);
    return this.p.reload(onPhase);
  };

  /** A standalone process has no release directory: it upgrades onto the code on disk. */
  releases(): undefined {
    return undefined;
  }

  stop(): void {
    this.p.stop();
  }

  isServing(): boolean {
    return this.p.isServing();
  }

  isStopping(): boolean {
    return this.p.isStopping();
  }

  /** The status a master gives, of this process: it is the master and its one worker. */
  status(): Status {
    const { settings } = this.p;
    const uptimeMs = Math.round(process.uptime() * 1000);
    const requests = this.requests?.worker(process.pid);
    return {
      name: 'standalone',
      masterPid: process.pid,
      uptimeMs,
      generation: settings.generation,
      workers: [
        {
          pid: process.pid,
          generation: settings.generation,
          state: this.p.state(),
          uptimeMs,
          rssBytes: process.memoryUsage.rss(),
          connections: this.p.connections(),
          heartbeatAgeMs: null,
          delayMs: null,
          unresponsive: false,
          ...(requests ? { requests } : {}),
          history: this.beats.of(process.pid),
        },
      ],
      listeners: this.p.listeners(),
      reloads: [...this.history],
      ...(this.requests ? { requests: this.requests.status() } : {}),
    };
  }

  private async load(): Promise<void> {
    const { settings } = this.p;
    const admin = (await import(this.p.module.href)) as AdminModule;
    // Its own copy of the log, when the preload is bundled: it says what the preload's says.
    admin.configureLog({ generation: settings.generation, format: settings.logFormat });
    this.metrics = new admin.Metrics();
    if (this.counters) this.metrics.takeOver(this.counters);
    await admin.startAdminServer(this.options, this, this.metrics, (server) => this.listenOnSocket(server));
  }

  private async listenOnSocket(server: net.Server): Promise<void> {
    this.server = server;
    await this.accepting;
    track(server);
    await new Promise<void>((resolve) => this.p.listen.call(server, this.handle, resolve));
  }
}

function boundHandle(o: AdminOptions): NativeHandle {
  const handle = bindTcp(o.host, o.port);
  if (!(handle instanceof Error)) return handle;
  throw cannotListen(`${ENV.admin} ${o.host}:${o.port}`, handle);
}

function inheritedHandle(fd: InheritedFd): NativeHandle {
  const [socket] = inherit([fd]);
  if (socket?.address?.kind !== 'tcp')
    throw new Error(`inherited fd ${fd.fd} ('${ADMIN_FD_NAME}') is not a TCP socket: it cannot serve the admin API`);
  return socket.handle;
}
