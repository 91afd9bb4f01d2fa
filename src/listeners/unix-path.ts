/**
 * Is a unix socket path live? The one rule for the control socket and the
 * app's sockets alike: a socket nobody accepts on is stale.
 */
import net from 'node:net';

/**
 * Is something listening on the unix socket at `file`? `live` if a connect
 * succeeds, `stale` if the file is a socket nobody listens on (ECONNREFUSED)
 * or is gone (ENOENT), else the error code (EACCES: a socket of another user).
 */
export function probeSocket(file: string, timeoutMs = 2000): Promise<'live' | 'stale' | string> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const done = (result: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(result);
    };
    // Something that accepts but is too busy to complete the handshake is still alive.
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EIO';
      done(code === 'ECONNREFUSED' || code === 'ENOENT' ? 'stale' : code);
    });
  });
}
