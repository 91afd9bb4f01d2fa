/**
 * Where the admin listener listens, with which token and certificate, as
 * `baton run`'s flags (--admin, --admin-token-file, --admin-metrics-public,
 * --admin-tls-cert, --admin-tls-key) or a standalone process's variables
 * (BATON_ADMIN, BATON_ADMIN_TOKEN_FILE, BATON_ADMIN_TLS_CERT,
 * BATON_ADMIN_TLS_KEY) give them: one parser and one rule for both, each error
 * naming the input as it was given. Off loopback a token is required: anyone
 * who reaches the address could otherwise stop the service; without TLS there,
 * the start warns that the token crosses the network in clear text.
 */
import { ENV, type Env } from '../protocol/settings.js';
import { quote } from '../protocol/quote.js';
import { isLoopback, parseAddress } from '../listeners/address.js';
import { readTokenFile } from './token-file.js';
import { loadCertificate, type TlsFiles } from './tls.js';

export interface AdminOptions {
  host: string;
  port: number;
  /** Absent: no token is asked (allowed only on a loopback address). */
  token?: string;
  /** /metrics answers without the token too: scrapers often run inside the network, with none. */
  metricsPublic: boolean;
  /** HTTPS, with the certificate and key in these files (read again at each reload). */
  tls?: TlsFiles;
  /** Said at start: off loopback without TLS, the token and the page's cookie cross the network in clear text. */
  warning?: string;
}

/** The admin inputs as given: the address and the files unparsed. */
export interface AdminInput {
  address?: string;
  tokenFile?: string;
  metricsPublic: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

/** How each input is named to the user. */
export interface AdminNames {
  address: string;
  tokenFile: string;
  /** Absent where there is no such input (a standalone process's metrics always need the token). */
  metricsPublic?: string;
  tlsCert: string;
  tlsKey: string;
}

export const ADMIN_FLAGS: AdminNames = {
  address: '--admin',
  tokenFile: '--admin-token-file',
  metricsPublic: '--admin-metrics-public',
  tlsCert: '--admin-tls-cert',
  tlsKey: '--admin-tls-key',
};
const ADMIN_VARIABLES: AdminNames = {
  address: ENV.admin,
  tokenFile: ENV.adminTokenFile,
  tlsCert: ENV.adminTlsCert,
  tlsKey: ENV.adminTlsKey,
};

/** `--admin 127.0.0.1:9090` or `BATON_ADMIN=127.0.0.1:9090`: how to give `name` a value. */
const give = (name: string, value: string): string => (name.startsWith('--') ? `${name} ${value}` : `${name}=${value}`);

/**
 * The admin listener's options, its token and certificate read now, at start; undefined when no address is given.
 * Throws a one-line error.
 */
export function adminOptions(input: AdminInput, names: AdminNames): AdminOptions | undefined {
  const { tokenFile, metricsPublic } = input;
  if (input.address === undefined) {
    const stray =
      tokenFile !== undefined
        ? names.tokenFile
        : metricsPublic
          ? names.metricsPublic
          : input.tlsCert !== undefined
            ? names.tlsCert
            : input.tlsKey !== undefined
              ? names.tlsKey
              : undefined;
    if (stray)
      throw new Error(
        `${stray} needs ${give(names.address, '[HOST:]PORT')} (e.g. ${give(names.address, '127.0.0.1:9090')})`,
      );
    return undefined;
  }
  const address = parseAdminAddress(input.address, names.address);
  const token = tokenFile === undefined ? undefined : readTokenFile(tokenFile, names.tokenFile);
  const where = give(names.address, `${address.host}:${address.port}`);
  const loopback = isLoopback(address.host);
  if (token === undefined && !loopback) {
    throw new Error(
      `${where} is not a loopback address, and anyone reaching it could reload or stop this service: ` +
        `give ${give(names.tokenFile, 'FILE')} (a file of mode 600 holding a long random token), or listen on 127.0.0.1`,
    );
  }
  const tls = tlsFiles(input, names);
  const warning =
    tls === undefined && !loopback
      ? `${where} without TLS: the token and the page's session cookie cross the network in clear text; give ${give(names.tlsCert, 'FILE')} ${give(names.tlsKey, 'FILE')}`
      : undefined;
  return {
    ...address,
    metricsPublic,
    ...(token === undefined ? {} : { token }),
    ...(tls === undefined ? {} : { tls }),
    ...(warning === undefined ? {} : { warning }),
  };
}

/** Both TLS files or neither; both read and checked now. */
function tlsFiles({ tlsCert: cert, tlsKey: key }: AdminInput, names: AdminNames): TlsFiles | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [given, missing] = cert === undefined ? [names.tlsKey, names.tlsCert] : [names.tlsCert, names.tlsKey];
    throw new Error(`${given} needs ${give(missing, 'FILE')} too: TLS takes a certificate and its private key`);
  }
  try {
    loadCertificate({ cert, key });
  } catch (err) {
    throw new Error(`${names.tlsCert}, ${names.tlsKey}: ${(err as Error).message}`);
  }
  return { cert, key };
}

/** A standalone process's admin listener, from BATON_ADMIN, BATON_ADMIN_TOKEN_FILE and BATON_ADMIN_TLS_CERT/KEY. */
export function adminFromEnv(env: Env): AdminOptions | undefined {
  const given = (name: string): string | undefined => env[name] || undefined;
  return adminOptions(
    {
      address: given(ENV.admin),
      tokenFile: given(ENV.adminTokenFile),
      metricsPublic: false,
      tlsCert: given(ENV.adminTlsCert),
      tlsKey: given(ENV.adminTlsKey),
    },
    ADMIN_VARIABLES,
  );
}

/** Why the admin address `what` (`--admin 127.0.0.1:9090`) cannot be listened on, and what to do. */
export function cannotListen(what: string, err: NodeJS.ErrnoException): Error {
  const hint =
    err.code === 'EADDRINUSE' ? 'another process listens there; choose another port' : 'choose another address';
  return new Error(`${what}: cannot listen (${err.code ?? err.message}); ${hint}`);
}

/** PORT (on 127.0.0.1), IPv4:PORT, localhost:PORT or [IPv6]:PORT. */
function parseAdminAddress(v: string, what: string): { host: string; port: number } {
  const a = parseAddress(v.replace(/^localhost:/, '127.0.0.1:'), '', { tcpOnly: true });
  if ('reason' in a || a.kind !== 'tcp') {
    throw new Error(
      `${what}: ${quote(v)} is not an address (use PORT, HOST:PORT or [IPv6]:PORT with an IP address and a port from 1 to 65535, e.g. ${give(what, '127.0.0.1:9090')})`,
    );
  }
  return { host: a.host ?? '127.0.0.1', port: a.port };
}
