// A plain node:http2 app (TLS, or cleartext h2c when H2C=1), unmodified: it knows nothing of baton.
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);
const h2c = process.env.H2C === '1';
const tls = process.env.TLS_DIR ?? fileURLToPath(new URL('../test/fixtures/tls', import.meta.url));

const server = h2c
  ? http2.createServer()
  : http2.createSecureServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) });
server.on('stream', (stream, headers) => {
  const wait = Number(new URL(headers[':path'] ?? '/', 'https://x').searchParams.get('delay') ?? delay);
  setTimeout(() => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`${process.pid}\n`);
  }, wait);
});
server.listen(port, host, () =>
  console.log(`http2${h2c ? ' (h2c)' : ''} listening on ${host ?? '*'}:${port} pid ${process.pid}`),
);
