// One HTTP request on a fresh connection, and the token file and fleet tool
// around them, for tests of baton's admin listener.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { examples, root, tmpDir, within } from './proc.mjs';

/**
 * A token file holding `text`, of `mode` (private by default), removed after the test.
 * @param {import('node:test').TestContext} t
 * @param {string} text
 * @returns {string}
 */
export function writeTokenFile(t, text, mode = 0o600) {
  const dir = tmpDir('baton-admin-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return file;
}

/**
 * `node examples/rolling-reload.mjs ARGS`: resolves { code, stdout, stderr } once it exits (at most 120 s).
 * @param {string[]} args
 * @returns {Promise<{ code: number | string, stdout: string, stderr: string }>}
 */
export function rollingReload(args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(examples, 'rolling-reload.mjs'), ...args],
      { timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * @typedef {{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string,
 *   cert?: import('node:tls').PeerCertificate }} Reply
 */

/**
 * { status, headers, body } of `method path` on `host` (127.0.0.1):`port`; `localAddress` picks the client's loopback address.
 * `ca`: over HTTPS, verifying the server's certificate against this one (and `cert`: the certificate it showed).
 * @param {number} port
 * @param {string} method
 * @param {string} path
 * @param {{ headers?: import('node:http').OutgoingHttpHeaders, body?: string | Buffer, localAddress?: string,
 *   host?: string, ca?: import('node:tls').SecureContextOptions['ca'] }} [options]
 * @returns {Promise<Reply>}
 */
export function request(port, method, path, { headers = {}, body, localAddress, host = '127.0.0.1', ca } = {}) {
  const client = ca === undefined ? http : https;
  return within(
    new Promise((resolve, reject) => {
      const req = client.request({ host, port, method, path, headers, agent: false, localAddress, ca }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        const cert =
          ca === undefined ? undefined : /** @type {import('node:tls').TLSSocket} */ (res.socket).getPeerCertificate();
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text, cert }));
      });
      req.on('error', reject);
      req.end(body);
    }),
    90_000,
    `${method} ${path}`,
  );
}

/**
 * POST /api/reload with Accept: text/event-stream: the events in order, each
 * { name, data }, and the response's status. `onEvent` sees each as it arrives.
 * @typedef {{ name: string, data: any }} ReloadEvent
 * @param {number} port
 * @param {import('node:http').OutgoingHttpHeaders} headers
 * @param {(event: ReloadEvent) => void} [onEvent]
 * @returns {Promise<{ status: number, type: string, events: ReloadEvent[] }>}
 */
export function reloadEvents(port, headers, onEvent = () => {}) {
  return within(
    new Promise((resolve, reject) => {
      const events = [];
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/reload',
          agent: false,
          headers: { ...headers, accept: 'text/event-stream' },
        },
        (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            buf += d;
            const blocks = buf.split('\n\n');
            buf = blocks.pop();
            for (const b of blocks) {
              const m = /^event: (\w+)\ndata: (.*)$/.exec(b);
              if (!m) return reject(new Error(`not an event: ${JSON.stringify(b)}`));
              const e = { name: m[1], data: JSON.parse(m[2]) };
              events.push(e);
              onEvent(e);
            }
          });
          res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], events }));
        },
      );
      req.on('error', reject);
      req.end();
    }),
    90_000,
    "the reload's event stream",
  );
}

/**
 * GET `path` as Server-Sent Events (GET /api/events, /api/logs): reads until `until` holds of the data
 * received (each parsed, with its `id:` as `sseId`), then leaves; resolves with them.
 * @param {number} port
 * @param {string} path
 * @param {import('node:http').OutgoingHttpHeaders} headers
 * @param {(data: any[]) => boolean} until
 * @returns {Promise<any[]>}
 */
export function serverSentEvents(port, path, headers, until) {
  return within(
    new Promise((resolve, reject) => {
      const got = [];
      const req = http.get(
        { host: '127.0.0.1', port, path, agent: false, headers: { ...headers, accept: 'text/event-stream' } },
        (res) => {
          if (res.headers['content-type'] !== 'text/event-stream') reject(new Error(`status ${res.statusCode}`));
          let buf = '';
          res.setEncoding('utf8').on('data', (d) => {
            buf += d;
            for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
              got.push({ ...data, sseId: Number(/^id: (\d+)$/m.exec(block)?.[1]) });
            }
            if (until(got)) {
              req.destroy();
              resolve(got);
            }
          });
        },
      );
      req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    }),
    90_000,
    `the event stream of ${path}`,
  );
}

/** The test certificate in test/fixtures/tls (for localhost, 127.0.0.1 and ::1): { cert, key } paths. */
export const testCertificate = {
  cert: path.join(root, 'test/fixtures/tls/cert.pem'),
  key: path.join(root, 'test/fixtures/tls/key.pem'),
};

/**
 * A new self-signed certificate for 127.0.0.1, made by openssl (Debian's) in `dir`: { cert, key } paths.
 * @param {string} dir
 */
export function selfSignedCertificate(dir) {
  const out = { cert: path.join(dir, 'new-cert.pem'), key: path.join(dir, 'new-key.pem') };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      out.key,
      '-out',
      out.cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return out;
}
