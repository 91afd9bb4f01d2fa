/**
 * Where the admin listener listens and with which token, as `baton run`'s
 * flags (--admin, --admin-token-file, --admin-metrics-public) or a standalone
 * process's variables (BATON_ADMIN, BATON_ADMIN_TOKEN_FILE) give them: one
 * parser and one rule for both, each error naming the input as it was given.
 * Off loopback a token is required: anyone who reaches the address could
 * otherwise stop the service.
 */
import { ENV, type Env } from '../protocol/settings.js';
import { quote } from '../protocol/quote.js';
import { isLoopback, parseAddress } from '../listeners/address.js';
import { readTokenFile } from './token-file.js';

export interface AdminOptions {
  host: string;
  port: number;
  /** Absent: no token is asked (allowed only on a loopback address). */
  token?: string;
  /** /metrics answers without the token too: scrapers often run inside the network, with none. */
  metricsPublic: boolean;
}

/** The admin inputs as given: the address and the token file unparsed. */
export interface AdminInput {
  address?: string;
  tokenFile?: string;
  metricsPublic: boolean;
}

/** How each input is named to the user. */
export interface AdminNames {
  address: string;
  tokenFile: string;
  /** Absent where there is no such input (a standalone process's metrics always need the token). */
  metricsPublic?: string;
}

export const ADMIN_FLAGS: AdminNames = { address: '--admin', tokenFile: '--admin-token-file', metricsPublic: '--admin-metrics-public' };
const ADMIN_VARIABLES: AdminNames = { address: ENV.admin, tokenFile: ENV.adminTokenFile };

/** `--admin 127.0.0.1:9090` or `BATON_ADMIN=127.0.0.1:9090`: how to give `name` a value. */
const give = (name: string, value: string): string => (name.startsWith('--') ? `${name} ${value}` : `${name}=${value}`);

/** The admin listener's options, its token read now, at start; undefined when no address is given. Throws a one-line error. */
export function adminOptions(input: AdminInput, names: AdminNames): AdminOptions | undefined {
  const { tokenFile, metricsPublic } = input;
  if (input.address === undefined) {
    const stray = tokenFile !== undefined ? names.tokenFile : metricsPublic ? names.metricsPublic : undefined;
    if (stray) throw new Error(`${stray} needs ${give(names.address, '[HOST:]PORT')} (e.g. ${give(names.address, '127.0.0.1:9090')})`);
    return undefined;
  }
  const address = parseAdminAddress(input.address, names.address);
  const token = tokenFile === undefined ? undefined : readTokenFile(tokenFile, names.tokenFile);
  if (token === undefined && !isLoopback(address.host)) {
    throw new Error(
      `${give(names.address, `${address.host}:${address.port}`)} is not a loopback address, and anyone reaching it could reload or stop this service: ` +
        `give ${give(names.tokenFile, 'FILE')} (a file of mode 600 holding a long random token), or listen on 127.0.0.1`,
    );
  }
  return { ...address, metricsPublic, ...(token === undefined ? {} : { token }) };
}

/** A standalone process's admin listener, from BATON_ADMIN and BATON_ADMIN_TOKEN_FILE. */
export function adminFromEnv(env: Env): AdminOptions | undefined {
  return adminOptions({ address: env[ENV.admin] || undefined, tokenFile: env[ENV.adminTokenFile] || undefined, metricsPublic: false }, ADMIN_VARIABLES);
}

/** Why the admin address `what` (`--admin 127.0.0.1:9090`) cannot be listened on, and what to do. */
export function cannotListen(what: string, err: NodeJS.ErrnoException): Error {
  const hint = err.code === 'EADDRINUSE' ? 'another process listens there; choose another port' : 'choose another address';
  return new Error(`${what}: cannot listen (${err.code ?? err.message}); ${hint}`);
}

/** PORT (on 127.0.0.1), IPv4:PORT, localhost:PORT or [IPv6]:PORT. */
function parseAdminAddress(v: string, what: string): { host: string; port: number } {
  const a = parseAddress(v.replace(/^localhost:/, '127.0.0.1:'), '', { tcpOnly: true });
  if ('reason' in a || a.kind !== 'tcp') {
    throw new Error(`${what}: ${quote(v)} is not an address (use PORT, HOST:PORT or [IPv6]:PORT with an IP address and a port from 1 to 65535, e.g. ${give(what, '127.0.0.1:9090')})`);
  }
  return { host: a.host ?? '127.0.0.1', port: a.port };
}
