/**
 * Routes server.listen() and a dgram socket's bind() calls: an address that an
 * inherited socket serves listens (or, for UDP, reads) on that socket; a new
 * unix path is bound without a listener owning the path; anything else is
 * Node's own listen or bind. Every listening server and bound dgram socket is
 * recorded with its address so that it can be passed to the next generation.
 *
 * Matching rule: a request matches an inherited socket bound at the same
 * address (host names are resolved with dns.lookup() first, as Node does); a
 * request with no host matches an inherited `[::]` or `0.0.0.0` socket on that
 * port. Each inherited socket serves one server; a second server asking for the
 * same address binds anew and gets Node's EADDRINUSE, as without baton.
 */
import type dgram from 'node:dgram';
import net from 'node:net';
import {
  type Address,
  type ListenRequest,
  boundAddress,
  isIP,
  matches,
  nameOf,
  normalizeHost,
  parseBindArgs,
  parseListenArgs,
} from './address.js';
import type { Inherited } from './inherit.js';
import { builtin } from '../internals/builtins.js';
import { datagramFdOf, holdBinding, socketType } from '../internals/dgram.js';
import { type NativeHandle, PIPE_READABLE, PIPE_WRITABLE, bindPath, fdOf, namePipe } from '../internals/handles.js';
import type { BindFn, ListenFn } from '../internals/patches.js';
import { rebindStale } from './unix-path.js';

/** What listens: a server, or a dgram socket, which reads where a server accepts. */
type Target = net.Server | dgram.Socket;

export interface LiveListener {
  target: Target;
  /** Undefined for what cannot be passed on: port 0, a listen({fd}) or a handle the app brought. */
  address: Address | undefined;
  /** True when this process bound a unix path itself or inherited it: it must remove it at a final stop. */
  ownsPath: boolean;
}

/** Where a socket comes from when no inherited one matches: the master's, when there is one. */
export type Acquire = (address: Address) => Promise<{ handle: NativeHandle; address: Address } | { error: Error }>;

export class Listeners {
  private readonly live = new Map<Target, LiveListener>();
  private readonly pending = new WeakMap<Target, () => void>();
  onListening: (target: Target) => void = () => {};

  /**
   * Without `acquire` (standalone) this process binds what it did not inherit
   * and owns the unix paths it serves; with it (a master's worker) every socket
   * comes from the master, which owns the paths.
   */
  constructor(
    readonly inherited: readonly Inherited[],
    private readonly cwd: string,
    private readonly acquire?: Acquire,
  ) {}

  listen(server: net.Server, args: unknown[], original: ListenFn): net.Server {
    const req = parseListenArgs(args, this.cwd);
    if (!req.address) {
      this.expect(server, 'not passed on', false);
      return original.apply(server, args);
    }
    this.withIp(
      req.address,
      0,
      (address) => this.route(server, req, address, args, original),
      () => original.apply(server, args),
    );
    return server;
  }

  /** The same for a dgram socket's bind(). */
  bind(socket: dgram.Socket, args: unknown[], original: BindFn): dgram.Socket {
    const type = socketType(socket);
    const { address, callback } = parseBindArgs(args, type);
    if (!address) {
      this.expect(socket, 'not passed on', false);
      return original.apply(socket, args);
    }
    const release = holdBinding(socket);
    // Binding or bound already: Node's bind() throws, as without baton.
    if (!release) return original.apply(socket, args);
    const bindNow = (a: unknown[], handle?: NativeHandle): void => {
      if (release()) original.apply(socket, a);
      else handle?.close(); // closed by the app meanwhile, as Node's own lookup allows
    };
    const onHandle = (handle: NativeHandle, at: Address): void => {
      this.expect(socket, at, false);
      bindNow([handle, ...(callback ? [callback] : [])], handle);
    };
    const onError = (err: Error): void => {
      if (release()) socket.emit('error', err);
    };
    this.withIp(
      address,
      type === 'udp4' ? 4 : 6,
      (resolved) => {
        if (this.take(socket, resolved, onHandle, onError)) return;
        this.expect(socket, 'as bound', false);
        bindNow(args);
      },
      () => bindNow(args),
    );
    return socket;
  }

  /**
   * A host name is resolved first, as Node does (a dgram socket's in its family); a failed lookup is Node's to report.
   */
  private withIp(address: Address, family: 0 | 4 | 6, route: (address: Address) => void, asCalled: () => void): void {
    if (address.kind === 'unix' || address.host === null || isIP(address.host)) {
      route(address);
      return;
    }
    builtin('dns').lookup(address.host, { family }, (err, ip) => {
      if (err) asCalled();
      else route({ ...address, host: normalizeHost(ip) });
    });
  }

  private route(server: net.Server, req: ListenRequest, address: Address, args: unknown[], original: ListenFn): void {
    if (this.take(server, address, (handle, at) => this.listenOn(server, handle, req, at, original))) return;
    if (address.kind === 'unix' && !this.isTaken(address)) {
      // A first bind that succeeds listens at once, as Node does (server.address() right after listen()).
      const handle = bindPath(address.path);
      if (handle instanceof Error)
        void rebindStale(address.path, handle).then((h) => this.listenOnPath(server, h, req, address, original));
      else this.listenOnPath(server, handle, req, address, original);
      return;
    }
    this.expect(server, 'as bound', false);
    original.apply(server, args);
  }

  /**
   * Hands `onHandle` the inherited socket that serves `address`, or else the
   * master's (bound there if need be); false when neither applies and the
   * caller binds it itself.
   */
  private take(
    target: Target,
    address: Address,
    onHandle: (handle: NativeHandle, address: Address) => void,
    onError = (err: Error): void => void target.emit('error', err),
  ): boolean {
    const inherited = this.inherited.find((i) => !i.adopted && i.address && matches(address, i.address));
    if (inherited) {
      inherited.adopted = true;
      onHandle(inherited.handle, inherited.address!);
      return true;
    }
    if (!this.acquire || this.isTaken(address)) return false;
    void this.acquire(address).then((r) => {
      if ('error' in r) onError(r.error);
      else onHandle(r.handle, r.address);
    });
    return true;
  }

  private isTaken(address: Address): boolean {
    return [...this.live.values()].some((l) => l.address && matches(address, l.address));
  }

  private listenOnPath(
    server: net.Server,
    handle: NativeHandle | Error,
    req: ListenRequest,
    address: Address,
    original: ListenFn,
  ): void {
    if (handle instanceof Error) {
      server.emit('error', handle);
      return;
    }
    const mode = (req.options.readableAll ? PIPE_READABLE : 0) | (req.options.writableAll ? PIPE_WRITABLE : 0);
    if (mode) handle.fchmod?.(mode);
    this.listenOn(server, handle, req, address, original);
  }

  /** listen(handle): Node adopts a TCP handle as is, and opens a Pipe handle's fd without owning its path. */
  private listenOn(
    server: net.Server,
    handle: NativeHandle,
    req: ListenRequest,
    address: Address,
    original: ListenFn,
  ): void {
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
   * Records `target` once it listens (or is bound), at `address`, at the
   * address Node bound for it, or with none for what cannot be passed on
   * (port 0, an fd or a handle the app brought). A failed listen never emits
   * 'listening'; a retry replaces its stale watcher.
   */
  private expect(target: Target, address: Address | 'as bound' | 'not passed on', ownsPath: boolean): void {
    const stale = this.pending.get(target);
    if (stale) target.off('listening', stale);
    const onListening = (): void => {
      this.pending.delete(target);
      const at = address === 'as bound' ? boundAddress(target) : address === 'not passed on' ? undefined : address;
      this.live.set(target, { target, address: at, ownsPath });
      target.once('close', () => this.live.delete(target));
      this.onListening(target);
    };
    this.pending.set(target, onListening);
    target.once('listening', onListening);
  }

  servers(): net.Server[] {
    return [...this.live.keys()].filter((t): t is net.Server => t instanceof net.Server);
  }

  /** The name of the socket `server` listens on, if it can be passed on. */
  nameOf(server: net.Server): string | undefined {
    const address = this.live.get(server)?.address;
    return address && nameOf(address);
  }

  /** The server listening on the socket named `name`, if any. */
  serverAt(name: string): net.Server | undefined {
    return this.servers().find((s) => this.nameOf(s) === name);
  }

  /** Bound dgram sockets: they stop reading as the drain starts. */
  datagramSockets(): dgram.Socket[] {
    return [...this.live.keys()].filter((t): t is dgram.Socket => !(t instanceof net.Server));
  }

  /** The fds and names to pass to a successor, in fd order. */
  passable(): { fd: number; name: string }[] {
    const out: { fd: number; name: string }[] = [];
    for (const l of this.live.values()) {
      const fd = l.address && (l.target instanceof net.Server ? fdOf(l.target) : datagramFdOf(l.target));
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
