/**
 * The master's listening sockets. The master binds them (on a worker's first
 * listen or bind, from --listen, or takes them from systemd) and never accepts
 * on them, nor reads a UDP one: workers listen on (or read) the shared fd, and
 * while no worker does, the kernel keeps queueing connections and datagrams.
 * The master owns the unix paths and removes them at stop.
 */
import fs from 'node:fs';
import { type Address, matches, nameOf } from '../listeners/address.js';
import { type Inherited, handleAddress } from '../listeners/inherit.js';
import { rebindStale } from '../listeners/unix-path.js';
import { bindUdp } from '../internals/dgram.js';
import { type NativeHandle, bindPath, bindTcp } from '../internals/handles.js';

export interface Held {
  /** The socket's address name, or the label systemd or `--listen name=ADDR` gave it. */
  name: string;
  address: Address;
  handle: NativeHandle;
  /** True when the master bound a unix path itself (systemd owns the paths of its sockets). */
  ownsPath: boolean;
}

export class SocketTable {
  private held: Held[] = [];
  private readonly binding = new Map<string, Promise<Held | NodeJS.ErrnoException>>();

  adopt(inherited: readonly Inherited[]): string[] {
    const unusable: string[] = [];
    for (const i of inherited) {
      if (i.address)
        this.held.push({ name: i.name, address: i.address, handle: i.handle, ownsPath: i.ownsPath === true });
      else {
        unusable.push(i.name);
        i.handle.close();
      }
    }
    return unusable;
  }

  find(address: Address): Held | undefined {
    return this.held.find((h) => matches(address, h.address));
  }

  /** The socket serving `address`, bound now if no socket does yet. */
  acquire(address: Address, label?: string): Promise<Held | NodeJS.ErrnoException> {
    const found = this.find(address);
    if (found) return Promise.resolve(found);
    const key = nameOf(address);
    // Workers asking for a stale path at once wait for the one removal and bind instead of racing to unlink.
    const pending = this.binding.get(key) ?? this.bindNew(address, label).finally(() => this.binding.delete(key));
    this.binding.set(key, pending);
    return pending;
  }

  private async bindNew(address: Address, label?: string): Promise<Held | NodeJS.ErrnoException> {
    let handle = bind(address);
    if (handle instanceof Error && address.kind === 'unix') handle = await rebindStale(address.path, handle);
    if (handle instanceof Error) return handle;
    const bound = address.kind === 'unix' ? address : (handleAddress(handle) ?? address);
    const held = { name: label ?? nameOf(bound), address: bound, handle, ownsPath: address.kind === 'unix' };
    this.held.push(held);
    return held;
  }

  /** fd and name of every socket, in the order they go to a new worker. */
  all(): readonly Held[] {
    return this.held;
  }

  /** Closes the sockets whose names are not in `used`: no worker of the live generation listens there. */
  closeUnused(used: ReadonlySet<string>): string[] {
    const unused = this.held.filter((h) => !used.has(h.name) && !used.has(nameOf(h.address)));
    for (const h of unused) close(h);
    this.held = this.held.filter((h) => !unused.includes(h));
    return unused.map((h) => h.name);
  }

  /**
   * `keepPaths`: another master (`baton upgrade`) serves on them now, and the unix paths stay for it. libuv unlinks the
   * path a handle bound as it closes it, so those handles are left open, to go with this process.
   */
  closeAll({ keepPaths = false } = {}): void {
    for (const h of this.held) if (!(keepPaths && h.address.kind === 'unix')) close(h);
    this.held = [];
  }
}

/** With no host, Node binds `::` (dual stack) and falls back to 0.0.0.0 where IPv6 is missing. */
function bind(address: Address): NativeHandle | NodeJS.ErrnoException {
  if (address.kind === 'unix') return bindPath(address.path);
  if (address.kind === 'udp') return bindUdp(address.host, address.port);
  if (address.host !== null) return bindTcp(address.host, address.port);
  const v6 = bindTcp('::', address.port);
  if (!(v6 instanceof Error) || !['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes(v6.code ?? '')) return v6;
  return bindTcp('0.0.0.0', address.port);
}

function close(h: Held): void {
  h.handle.close();
  if (h.ownsPath && h.address.kind === 'unix' && !h.address.path.startsWith('\0'))
    fs.rmSync(h.address.path, { force: true });
}
