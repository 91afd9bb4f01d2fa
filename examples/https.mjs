// A plain node:https app, unmodified: it knows nothing of baton.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);
const tls = process.env.TLS_DIR ?? fileURLToPath(new URL('../test/fixtures/tls', import.meta.url));

const options = { key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) };
const server = https.createServer(options, (req, res) => {
  const wait = Number(new URL(req.url, 'https://x').searchParams.get('delay') ?? delay);
  setTimeout(() => res.end(`${process.pid}\n`), wait);
});
server.listen(port, host, () => console.log(`https listening on ${host ?? '*'}:${port} pid ${process.pid}`));
