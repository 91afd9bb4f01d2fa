/**
 * The admin page's sign-in: after the token has been shown once (as a bearer
 * token, through auth.ts's guard), the browser holds a session cookie instead:
 * a random id, never the token, HttpOnly (no script reads it), SameSite=Strict
 * (no other site's request carries it) and expiring.
 *
 * A cookie is sent by the browser on its own, so a POST that it authenticates
 * must also prove it came from the page itself (crossSite below): a form on
 * another site can send neither a custom header nor a same-origin Origin.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { isLoopback } from '../listeners/address.js';
import { quote } from '../protocol/quote.js';

/** How long a sign-in lasts, from the moment it was made. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** Sessions held at once; past it the oldest is ended. */
const MAX_SESSIONS = 256;
/** The header the page sends with every action, which a cross-site form cannot. */
export const PAGE_HEADER = 'x-baton-page';

/** Kept by digest: looking an id up takes no time that depends on how much of it matched. */
const key = (id: string): string => crypto.createHash('sha256').update(id).digest('base64url');

export class Sessions {
  /** Per id's digest, when it expires; in the order they were made. */
  private readonly expiries = new Map<string, number>();
  /**
   * Cookies are not told apart by port: masters on one host each name theirs
   * after their admin port, so that signing in to one does not sign out of another.
   */
  readonly cookie: string;

  constructor(port: number, private readonly now: () => number = Date.now) {
    this.cookie = `baton_session_${port}`;
  }

  /** A new session: the Set-Cookie header value that hands it to the browser. */
  start(): string {
    const id = crypto.randomBytes(32).toString('base64url');
    this.expiries.set(key(id), this.now() + SESSION_TTL_MS);
    if (this.expiries.size > MAX_SESSIONS) this.expiries.delete(this.expiries.keys().next().value!);
    return `${this.cookie}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`;
  }

  /** What the Cookie header carries: a live session, one that is not (ended, expired, made up), or none at all. */
  check(cookieHeader: string | undefined): 'live' | 'wrong' | 'none' {
    const id = this.idIn(cookieHeader);
    if (id === undefined) return 'none';
    const expires = this.expiries.get(key(id));
    if (expires !== undefined && expires > this.now()) return 'live';
    this.expiries.delete(key(id));
    return 'wrong';
  }

  /** Ends the session the Cookie header carries: the Set-Cookie header value that makes the browser forget it. */
  end(cookieHeader: string | undefined): string {
    const id = this.idIn(cookieHeader);
    if (id !== undefined) this.expiries.delete(key(id));
    return `${this.cookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
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
 * as its page, but names itself in Host.
 */
export function crossSite(req: http.IncomingMessage, on: 'cookie' | 'nothing'): string | undefined {
  if (on === 'nothing' && !loopbackName(req.headers.host)) return `a request for host ${quote(req.headers.host)}, not a loopback address or localhost`;
  if (req.method !== 'POST') return undefined;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site !== undefined && site !== 'same-origin') return `a request from another site (Sec-Fetch-Site: ${site})`;
  if (origin !== undefined && origin !== `http://${req.headers.host}`) return `a request from another origin (${origin})`;
  const fromBrowser = on === 'cookie' || site !== undefined || origin !== undefined;
  if (fromBrowser && req.headers[PAGE_HEADER] === undefined) return `a browser request without the ${PAGE_HEADER} header the admin page sends`;
  return undefined;
}

function loopbackName(host: string | undefined): boolean {
  try {
    const name = new URL(`http://${host}`).hostname.replace(/^\[(.*)\]$/, '$1');
    return name === 'localhost' || isLoopback(name);
  } catch {
    return false;
  }
}
