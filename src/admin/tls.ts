/**
 * The admin listener's certificate and key (--admin-tls-cert and
 * --admin-tls-key): read at start, where a bad one stops the start, and again
 * at each reload, where a bad one keeps the one in use, so that a renewed
 * certificate is taken up without a restart.
 */
import fs from 'node:fs';
import { builtin } from '../internals/builtins.js';
import { quote } from '../protocol/quote.js';

/** The files, as given. */
export interface TlsFiles {
  cert: string;
  key: string;
}

interface Certificate {
  cert: Buffer;
  key: Buffer;
}

/** Both files read and checked to make a TLS context; throws a one-line error naming the file at fault. */
export function loadCertificate(files: TlsFiles): Certificate {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(
        `cannot read the ${what} ${quote(file)} (${(err as NodeJS.ErrnoException).code}); give a PEM file readable by this user`,
      );
    }
  };
  const loaded = { cert: read(files.cert, 'certificate'), key: read(files.key, 'key') };
  try {
    builtin('tls').createSecureContext(loaded);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    throw new Error(
      `${quote(files.cert)} and ${quote(files.key)} are not a PEM certificate and its private key (${reason})`,
    );
  }
  return loaded;
}
