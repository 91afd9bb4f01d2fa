/**
 * Addresses: what `server.listen(...)` asks for, parsed the way Node parses it,
 * and the normalized names that travel between generations.
 *
 *   tcp:127.0.0.1:8080   tcp:[::1]:8080   tcp:[::]:8080   tcp:0.0.0.0:8080
 *   unix:/run/app.sock   udp:0.0.0.0:5353   udp:[::]:5353
 */
import type dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { quote } from '../protocol/quote.js';

export type Address =
  /** `host` is null when the app gave none: Node then binds `::` (or `0.0.0.0`). */
  | { kind: 'tcp'; host: string | null; port: number }
  | { kind: 'unix'; path: string }
  /**
   * A dgram socket's address: `host` is always an IP, as a socket of one family binds `0.0.0.0` or `::` when given
   * none.
   */
  | { kind: 'udp'; host: string; port: number };

/** What a listen() call asked for; `address` is absent when baton leaves the call to Node. */
export interface ListenRequest {
  address?: Address;
  backlog?: number;
  callback?: (...args: unknown[]) => void;
  /** The options object or positional arguments as the app gave them, minus the callback. */
  options: Record<string, unknown>;
}

const toPort = (v: unknown): number | false => {
  if (typeof v !== 'number' && typeof v !== 'string') return false;
  if (typeof v === 'string' && v.trim() === '') return false;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : false;
};

/**
 * Mirrors net.Server#listen's argument handling. Anything baton does not route
 * (port 0, an fd, a handle, invalid input) comes back without `address`, so Node
 * itself handles it, errors included, exactly as without baton.
 */
export function parseListenArgs(args: readonly unknown[], cwd: string): ListenRequest {
  const list = [...args];
  const callback = typeof list[list.length - 1] === 'function' ? (list.pop() as (...a: unknown[]) => void) : undefined;
  const first = list[0];
  let options: Record<string, unknown>;
  let backlog: number | undefined;
  if (typeof first === 'object' && first !== null) {
    options = { ...(first as Record<string, unknown>) };
    backlog = typeof list[1] === 'number' ? list[1] : undefined;
  } else if (typeof first === 'string' && !(Number(first) >= 0)) {
    // Node's rule: a string is a pipe path unless it reads as a non-negative number.
    options = { path: first };
    backlog = typeof list[1] === 'number' ? list[1] : undefined;
  } else {
    options = { port: first };
    if (typeof list[1] === 'string') {
      options.host = list[1];
      backlog = typeof list[2] === 'number' ? list[2] : undefined;
    } else {
      backlog = typeof list[1] === 'number' ? list[1] : undefined;
    }
  }
  if (typeof options.backlog === 'number') backlog = options.backlog;
  return { address: addressOf(options, cwd), backlog, callback, options };
}

function addressOf(o: Record<string, unknown>, cwd: string): Address | undefined {
  if ('fd' in o || '_handle' in o || 'handle' in o) return undefined;
  // Node looks at the port before the path.
  if ((o.port === undefined || o.port === null) && typeof o.path === 'string' && o.path !== '') {
    return { kind: 'unix', path: normalizePath(o.path, cwd) };
  }
  if (o.port === undefined && o.host === undefined) return undefined;
  const port = toPort(o.port ?? 0);
  if (port === false || port === 0) return undefined;
  const host = o.host === undefined || o.host === null || o.host === '' ? null : o.host;
  if (host !== null && typeof host !== 'string') return undefined;
  return { kind: 'tcp', host: host === null ? null : normalizeHost(host), port };
}

/**
 * Mirrors dgram.Socket#bind's arguments: `(port, address, callback)` or
 * `({ port, address }, callback)`. A handle, an fd, port 0 or invalid input
 * come back without `address`: Node binds them itself, as without baton.
 */
export function parseBindArgs(
  args: readonly unknown[],
  type: 'udp4' | 'udp6',
): { address?: Address; callback?: () => void } {
  const last = args[args.length - 1];
  const callback = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  const o =
    typeof first === 'object' && first !== null
      ? (first as Record<string, unknown>)
      : { port: first, address: typeof args[1] === 'function' ? undefined : args[1] };
  if ('fd' in o || typeof o.recvStart === 'function') return { callback };
  const port = toPort(o.port ?? 0);
  if (port === false || port === 0 || (o.address != null && typeof o.address !== 'string')) return { callback };
  const host =
    typeof o.address === 'string' && o.address !== '' ? normalizeHost(o.address) : type === 'udp4' ? '0.0.0.0' : '::';
  return { address: { kind: 'udp', host, port }, callback };
}

/** Linux abstract sockets (leading NUL) have no file system path to resolve. */
function normalizePath(p: string, cwd: string): string {
  return p.startsWith('\0') ? p : path.resolve(cwd, p);
}

/** IPs in canonical form (`[::1]` for every spelling of it); host names lower-cased. */
export function normalizeHost(host: string): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return canonicalIPv6(h) ?? h.toLowerCase();
}

const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;
const ZONE = /^[0-9a-zA-Z-.:]+$/;

/**
 * An IPv6 address in canonical form, its zone id (fe80::1%eth0) kept as given,
 * or undefined for anything else: the addresses net.isIPv6 accepts. Its first
 * calls compile a regular expression that cost each process about 12 ms, for
 * the `::` of an app's listen(port); URL parses and canonicalizes in a tenth
 * of a millisecond, but rejects a zone id.
 */
function canonicalIPv6(host: string): string | undefined {
  const cut = host.indexOf('%');
  const ip = cut < 0 ? host : host.slice(0, cut);
  const zone = cut < 0 ? undefined : host.slice(cut + 1);
  if (!ip.includes(':') || !IPV6_CHARS.test(ip) || (zone !== undefined && !ZONE.test(zone))) return undefined;
  try {
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    return zone === undefined ? canonical : `${canonical}%${zone}`;
  } catch {
    return undefined;
  }
}

/**
 * 127.0.0.0/8, ::1, or 127.x mapped into IPv6: addresses only this machine
 * reaches. `host` must be an IP address, parsed as one: a name is never
 * loopback, however it starts (127.0.0.1.attacker.example is a DNS name).
 */
export function isLoopback(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (host.includes('%')) return false;
  const v6 = canonicalIPv6(host);
  return v6 === '::1' || (v6 !== undefined && /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(v6));
}

export function isIP(host: string): boolean {
  return net.isIPv4(host) || canonicalIPv6(host) !== undefined;
}

export function nameOf(a: Address): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  const host = a.host === null ? '*' : canonicalIPv6(a.host) !== undefined ? `[${a.host}]` : a.host;
  return `${a.kind}:${host}:${a.port}`;
}

/** The inverse of nameOf(); a label that is not an address (a systemd FileDescriptorName) gives undefined. */
export function parseName(name: string): Address | undefined {
  if (name.startsWith('unix:') && name.length > 5) return { kind: 'unix', path: name.slice(5) };
  const m = /^(tcp|udp):(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(name);
  if (!m) return undefined;
  const port = toPort(m[3]);
  if (port === false || port === 0) return undefined;
  const host = m[2] === '*' ? null : normalizeHost(m[2]);
  if (host !== null && !isIP(host)) return undefined;
  if (m[1] === 'tcp') return { kind: 'tcp', host, port };
  return host === null ? undefined : { kind: 'udp', host, port };
}

/** The address a listening net.Server or a bound dgram socket really holds (getsockname for TCP and UDP). */
export function boundAddress(target: net.Server | dgram.Socket, fallback?: Address): Address | undefined {
  const a = target.address();
  if (a && typeof a === 'object')
    return { kind: target instanceof net.Server ? 'tcp' : 'udp', host: normalizeHost(a.address), port: a.port };
  if (typeof a === 'string' && a !== '') return { kind: 'unix', path: a };
  return fallback;
}

const WILDCARDS = new Set(['::', '0.0.0.0']);

/**
 * Does a socket bound at `held` serve a request for `wanted`? Exact match, or a
 * request with no host (Node's default) served by either wildcard socket. A host
 * name must be resolved to IPs before it is matched.
 */
export function matches(wanted: Address, held: Address): boolean {
  if (wanted.kind === 'unix' || held.kind === 'unix') {
    return wanted.kind === 'unix' && held.kind === 'unix' && wanted.path === held.path;
  }
  if (wanted.kind !== held.kind || wanted.port !== held.port) return false;
  if (wanted.host === null) return held.host !== null && WILDCARDS.has(held.host);
  return wanted.host === held.host;
}

/**
 * The longest path a unix socket can have on Linux (sun_path is 108 bytes,
 * NUL included). macOS allows 103: the bind error then says so.
 */
export const MAX_SOCKET_PATH = 107;

/**
 * An address as an operator writes it (`--listen`, `--admin`, BATON_ADMIN):
 * `8080` (every interface: no host), `127.0.0.1:8080`, `[::1]:8080`, and
 * unless `tcpOnly` a unix socket path starting with `/`, `./` or `../`
 * (resolved against `cwd`). Else why not, in words that follow the input
 * (`'99999' has no valid port ...`).
 */
export function parseAddress(spec: string, cwd: string, { tcpOnly = false } = {}): Address | { reason: string } {
  const why = (reason: string): { reason: string } => ({ reason });
  if (/^\.{0,2}\//.test(spec)) {
    if (tcpOnly) return why('is a path, not a TCP address');
    const file = path.resolve(cwd, spec);
    if (Buffer.byteLength(file) > MAX_SOCKET_PATH)
      return why(`is too long for a unix socket path (at most ${MAX_SOCKET_PATH} bytes)`);
    return { kind: 'unix', path: file };
  }
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(spec) ?? /^([^:[\]]+):([^:]*)$/.exec(spec) ?? /^()(\d+)$/.exec(spec);
  if (!m) {
    return why(
      spec.split(':').length > 2 && !spec.startsWith('[')
        ? 'looks like an IPv6 address without brackets (write it as [::1]:8080)'
        : 'is not an address',
    );
  }
  const [, host, portText] = m as unknown as [string, string, string];
  if (spec.startsWith('[') && !net.isIPv6(host))
    return why(`has ${quote(host)} in brackets, which is not an IPv6 address`);
  if (!spec.startsWith('[') && host !== '' && !net.isIPv4(host)) {
    return why(
      /^[\d.]+$/.test(host)
        ? `has an invalid IPv4 address ${quote(host)}`
        : `has the host ${quote(host)}, which is not an IP address (listen on 127.0.0.1, [::1], 0.0.0.0 or [::])`,
    );
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return why(`has no valid port (${quote(portText)}: use 1 to 65535)`);
  return { kind: 'tcp', host: host === '' ? null : normalizeHost(host), port };
}
