// Standalone upgrades (node --import batonjs/register + SIGUSR2) of unmodified
// http, https, http2 and unix-socket apps under load: zero failed requests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { examples, freePort, tmpDir } from '../helpers/proc.mjs';
import { handoverUnderLoad } from '../helpers/scenario.mjs';

test('http: 10 upgrades under load, 0 failed requests', async (t) => {
  const port = await freePort();
  await handoverUnderLoad(t, {
    script: path.join(examples, 'http.mjs'),
    env: { PORT: String(port), HOST: '127.0.0.1' },
    target: { protocol: 'http', host: '127.0.0.1', port },
  });
});

test('https: 10 upgrades under load, 0 failed requests', async (t) => {
  const port = await freePort();
  await handoverUnderLoad(t, {
    script: path.join(examples, 'https.mjs'),
    env: { PORT: String(port), HOST: '127.0.0.1' },
    target: { protocol: 'https', host: '127.0.0.1', port },
  });
});

test('http2 (TLS): 10 upgrades under load, 0 failed requests', async (t) => {
  const port = await freePort();
  await handoverUnderLoad(t, {
    script: path.join(examples, 'http2.mjs'),
    env: { PORT: String(port), HOST: '127.0.0.1' },
    target: { protocol: 'http2', host: '127.0.0.1', port },
  });
});

test('http2 cleartext (h2c): 10 upgrades under load, 0 failed requests', async (t) => {
  const port = await freePort();
  await handoverUnderLoad(t, {
    script: path.join(examples, 'http2.mjs'),
    env: { PORT: String(port), HOST: '127.0.0.1', H2C: '1' },
    target: { protocol: 'http2', tls: false, host: '127.0.0.1', port },
  });
});

test('unix socket: 10 upgrades under load, 0 failed requests, path kept until the final stop', async (t) => {
  const dir = tmpDir();
  const socketPath = path.join(dir, 'app.sock');
  await handoverUnderLoad(t, {
    script: path.join(examples, 'unix.mjs'),
    env: { SOCKET: socketPath },
    target: { protocol: 'http', socketPath },
  });
  assert.equal(fs.existsSync(socketPath), false, 'the last generation removes the socket path at its final stop');
});
