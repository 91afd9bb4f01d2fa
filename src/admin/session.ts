/**
 * The admin page's sign-in: after the token has been shown once (as a bearer
 * token, through auth.ts's guard), the browser holds a session cookie instead:
 * a random id, never the token, HttpOnly (no script reads it), SameSite=Strict
 * (no other site's request carries it), ended after a short while unused, and
 * over TLS Secure and `__Host-` named (sent over TLS only, never set by another
 * port's plain HTTP). Without TLS the browser sends it to every port of the
 * host, as it does any cookie: the README says so.
 *
 * A cookie is sent by the browser on its own, so a POST that it authenticates
 * must also prove it came from the page itself (crossSite below): a form on
 * another site can send neither a custom header nor a same-origin Origin.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { isLoopback } from '../listeners/address.js';
import { quote } from '../protocol/quote.js';
import { PAGE_HEADER } from './page/header.js';

/** The header the page sends with every action (page/header.ts: the page's script imports it from there). */
export { PAGE_HEADER };

/** How long a sign-in lasts unused: each request on it starts this again. */
export const SESSION_IDLE_MS = 15 * 60_000;
/** Sessions held at once; past it the oldest is ended. */
const MAX_SESSIONS = 256;

/** Kept by digest: looking an id up takes no time that depends on how much of it matched. */
const key = (id: string): string => crypto.createHash('sha256').update(id).digest('base64url');

export class Sessions {
  /** Per id's digest, when it expires; the least recently used first. */
  private readonly expiries = new Map<string, number>();
  /**
   * Cookies are not told apart by port: masters on one host each name theirs
   * after their admin port, so that signing in to one does not sign out of another.
   */
  readonly cookie: string;
  /**
   * Path=/ (which `__Host-` requires), and no Max-Age: the browser forgets it when it closes, the listener when it
   * idles.
   */
  private readonly attributes: string;

  /** `secure`: the listener serves TLS. */
  constructor(
    port: number,
    secure: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.cookie = `${secure ? '__Host-' : ''}baton_session_${port}`;
    this.attributes = `HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
  }

  /** A new session: the Set-Cookie header value that hands it to the browser. */
  start(): string {
    const id = crypto.randomBytes(32).toString('base64url');
    this.expiries.set(key(id), this.now() + SESSION_IDLE_MS);
    if (this.expiries.size > MAX_SESSIONS) this.expiries.delete(this.expiries.keys().next().value!);
    return `${this.cookie}=${id}; ${this.attributes}`;
  }

  /** What the Cookie header carries: a live session, one that is not (ended, expired, made up), or none at all. */
  check(cookieHeader: string | undefined): 'live' | 'wrong' | 'none' {
    const id = this.idIn(cookieHeader);
    if (id === undefined) return 'none';
    const expires = this.expiries.get(key(id));
    this.expiries.delete(key(id));
    if (expires === undefined || expires <= this.now()) return 'wrong';
    this.expiries.set(key(id), this.now() + SESSION_IDLE_MS);
    return 'live';
  }

  /** Ends the session the Cookie header carries: the Set-Cookie header value that makes the browser forget it. */
  end(cookieHeader: string | undefined): string {
    const id = this.idIn(cookieHeader);
    if (id !== undefined) this.expiries.delete(key(id));
    return `${this.cookie}=; ${this.attributes}; Max-Age=0`;
  }

  private idIn(cookieHeader: string | undefined): string | undefined {
    for (const pair of (cookieHeader ?? '').split(';')) {
      const [name, value] = pair.trim().split('=', 2);
      if (name === this.cookie && value) return value;
    }
    return undefined;
  }
}

/**
 * Why a request that no bearer token authenticates may not be answered, or
 * undefined when it may. `on`: what it rides on, the page's session `cookie`,
 * or `nothing` (no token is set: the listener is on loopback, open to this
 * machine).
 *
 * A POST must come from a page of this very origin (Sec-Fetch-Site, Origin)
 * and carry PAGE_HEADER, which a cross-site form cannot set and a cross-site
 * script could set only after a CORS preflight, never answered here. On a
 * cookie, even a client that sends neither Origin nor Sec-Fetch-Site needs
 * the header. On nothing, the request must name a loopback host: a site that
 * points a name of its own at 127.0.0.1 (DNS rebinding) is of the same origin
 * as its page, but names itself in Host. `scheme`: the listener's, http or https.
 */
export function crossSite(
  req: http.IncomingMessage,
  on: 'cookie' | 'nothing',
  scheme: 'http' | 'https',
): string | undefined {
  if (on === 'nothing' && !loopbackName(req.headers.host))
    return `a request for host ${quote(req.headers.host)}, not a loopback address or localhost`;
  if (req.method !== 'POST') return undefined;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site !== undefined && site !== 'same-origin') return `a request from another site (Sec-Fetch-Site: ${site})`;
  if (origin !== undefined && origin !== `${scheme}://${req.headers.host}`)
    return `a request from another origin (${origin})`;
  const fromBrowser = on === 'cookie' || site !== undefined || origin !== undefined;
  if (fromBrowser && req.headers[PAGE_HEADER] === undefined)
    return `a browser request without the ${PAGE_HEADER} header the admin page sends`;
  return undefined;
}

/**
 * A Host header of `localhost` or a literal loopback address, with or without a port: never a name matched by how it
 * starts.
 */
function loopbackName(host: string | undefined): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(host ?? '');
  if (m === null) return false;
  return m[1] !== undefined ? isLoopback(m[1]) : m[2]!.toLowerCase() === 'localhost' || isLoopback(m[2]!);
}
