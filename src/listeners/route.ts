/**
 * Routes server.listen() calls: an address that an inherited socket serves
 * listens on that socket; a new unix path is bound without a listener owning the
 * path; anything else is Node's own listen. Every listening server is recorded
 * with its address so that it can be passed to the next generation.
 *
 * Matching rule: a request matches an inherited socket bound at the same
 * address (host names are resolved with dns.lookup() first, as Node does); a
 * request with no host matches an inherited `[::]` or `0.0.0.0` socket on that
 * port. Each inherited socket serves one server; a second server asking for the
 * same address binds anew and gets Node's EADDRINUSE, as without baton.
 */
import type net from 'node:net';
import { type Address, type ListenRequest, boundAddress, isIP, matches, nameOf, normalizeHost, parseListenArgs } from './address.js';
import type { Inherited } from './inherit.js';
import { builtin } from '../internals/builtins.js';
import { type NativeHandle, PIPE_READABLE, PIPE_WRITABLE, bindPath, fdOf, namePipe } from '../internals/handles.js';
import type { ListenFn } from '../internals/patches.js';
import { rebindStale } from './unix-path.js';

export interface LiveListener {
  server: net.Server;
  /** Undefined for what cannot be passed on: port 0, a listen({fd}) or a handle the app brought. */
  address: Address | undefined;
  /** True when this process bound a unix path itself or inherited it: it must remove it at a final stop. */
  ownsPath: boolean;
}

/** Where a socket comes from when no inherited one matches: the master's, when there is one. */
export type Acquire = (address: Address) => Promise<{ handle: NativeHandle; address: Address } | { error: Error }>;

export class Listeners {
  private readonly live = new Map<net.Server, LiveListener>();
  private readonly pending = new WeakMap<net.Server, () => void>();
  onListening: (server: net.Server) => void = () => {};

  /**
   * Without `acquire` (standalone) this process binds what it did not inherit
   * and owns the unix paths it serves; with it (a master's worker) every socket
   * comes from the master, which owns the paths.
   */
  constructor(readonly inherited: readonly Inherited[], private readonly cwd: string, private readonly acquire?: Acquire) {}

  listen(server: net.Server, args: unknown[], original: ListenFn): net.Server {
    const req = parseListenArgs(args, this.cwd);
    const address = req.address;
    if (!address) {
      this.expect(server, 'not passed on', false);
      return original.apply(server, args);
    }
    if (address.kind === 'tcp' && address.host !== null && !isIP(address.host)) {
      builtin('dns').lookup(address.host, (err, ip) => {
        if (err) original.apply(server, args);
        else this.route(server, req, { ...address, host: normalizeHost(ip) }, args, original);
      });
      return server;
    }
    this.route(server, req, address, args, original);
    return server;
  }

  private route(server: net.Server, req: ListenRequest, address: Address, args: unknown[], original: ListenFn): void {
    const inherited = this.inherited.find((i) => !i.adopted && i.address && matches(address, i.address));
    if (inherited) {
      inherited.adopted = true;
      this.listenOn(server, inherited.handle, req, inherited.address!, original);
      return;
    }
    const taken = [...this.live.values()].some((l) => l.address && matches(address, l.address));
    if (this.acquire && !taken) {
      void this.acquire(address).then((r) => {
        if ('error' in r) server.emit('error', r.error);
        else this.listenOn(server, r.handle, req, r.address, original);
      });
      return;
    }
    if (address.kind === 'unix' && !taken) {
      // A first bind that succeeds listens at once, as Node does (server.address() right after listen()).
      const handle = bindPath(address.path);
      if (handle instanceof Error) void rebindStale(address.path, handle).then((h) => this.listenOnPath(server, h, req, address, original));
      else this.listenOnPath(server, handle, req, address, original);
      return;
    }
    this.expect(server, 'as bound', false);
    original.apply(server, args);
  }

  private listenOnPath(server: net.Server, handle: NativeHandle | Error, req: ListenRequest, address: Address, original: ListenFn): void {
    if (handle instanceof Error) {
      server.emit('error', handle);
      return;
    }
    const mode = (req.options.readableAll ? PIPE_READABLE : 0) | (req.options.writableAll ? PIPE_WRITABLE : 0);
    if (mode) handle.fchmod?.(mode);
    this.listenOn(server, handle, req, address, original);
  }

  /** listen(handle): Node adopts a TCP handle as is, and opens a Pipe handle's fd without owning its path. */
  private listenOn(server: net.Server, handle: NativeHandle, req: ListenRequest, address: Address, original: ListenFn): void {
    this.expect(server, address, address.kind === 'unix' && !this.acquire);
    const signal = req.options.signal;
    if (signal instanceof AbortSignal) {
      if (signal.aborted) return;
      signal.addEventListener('abort', () => server.close(), { once: true });
    }
    const rest: unknown[] = [];
    if (req.backlog !== undefined) rest.push(req.backlog);
    if (req.callback) rest.push(req.callback);
    original.call(server, handle, ...rest);
    if (address.kind === 'unix') namePipe(server, address.path);
  }

  /**
   * Records `server` once it listens, at `address`, at the address Node bound
   * for it, or with none for what cannot be passed on (port 0, an fd or a
   * handle the app brought). A failed listen never emits 'listening'; a retry
   * replaces its stale watcher.
   */
  private expect(server: net.Server, address: Address | 'as bound' | 'not passed on', ownsPath: boolean): void {
    const stale = this.pending.get(server);
    if (stale) server.off('listening', stale);
    const onListening = (): void => {
      this.pending.delete(server);
      const at = address === 'as bound' ? boundAddress(server) : address === 'not passed on' ? undefined : address;
      this.live.set(server, { server, address: at, ownsPath });
      server.once('close', () => this.live.delete(server));
      this.onListening(server);
    };
    this.pending.set(server, onListening);
    server.once('listening', onListening);
  }

  servers(): net.Server[] {
    return [...this.live.keys()];
  }

  /** The fds and names to pass to a successor, in fd order. */
  passable(): { fd: number; name: string }[] {
    const out: { fd: number; name: string }[] = [];
    for (const l of this.live.values()) {
      const fd = l.address && fdOf(l.server);
      if (l.address && fd !== undefined) out.push({ fd, name: nameOf(l.address) });
    }
    return out;
  }

  /** Unix paths this generation must remove when it is the last (a final stop, not a handover). */
  ownedPaths(): string[] {
    return [...this.live.values()]
      .filter((l) => l.ownsPath && l.address?.kind === 'unix' && !l.address.path.startsWith('\0'))
      .map((l) => (l.address as { path: string }).path);
  }

  /** Inherited sockets whose address is known and that no server has taken yet. */
  unadopted(): Inherited[] {
    return this.inherited.filter((i) => !i.adopted && i.address);
  }

  /** Closes inherited sockets the new code does not listen on, so their queues do not hang. */
  closeUnadopted(): string[] {
    const closed = this.inherited.filter((i) => !i.adopted);
    for (const i of closed) {
      i.adopted = true;
      i.handle.close();
    }
    return closed.map((i) => i.name);
  }
}
