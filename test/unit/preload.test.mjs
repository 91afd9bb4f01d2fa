// What `--import batonjs/register` adds to every process's start, by count, not
// by time (timings on a shared machine vary; bench/run.mjs times it as its own
// row): the built-ins only some apps use load only when the app uses them, and
// still work then; once `npm run build` has bundled it, the preload is one
// file; and bundled or not, the API reaches the runtime it installed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { freePort, tmpDir, waitFor } from '../helpers/proc.mjs';

const T = { timeout: 20_000 };
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');
const register = path.join(dist, 'register.js');
const tlsDir = new URL('../fixtures/tls/', import.meta.url);

/** Built-ins a plain HTTP app never loads, and the preload must not load for it. */
const ONLY_SOME_APPS = ['http2', 'https', 'tls', 'crypto', 'dgram', 'child_process', 'dns', 'cluster'];

/** @typedef {(output: string, child: import('node:child_process').ChildProcess) => void} OnOutput all of it so far */

/**
 * Runs ESM `code` in a fresh node, with `nodeArgs` before it; resolves its exit and output.
 * @param {import('node:test').TestContext} t
 * @param {string[]} nodeArgs
 * @param {string} code
 * @param {{ onStdout?: OnOutput, onStderr?: OnOutput, env?: Record<string, string> }} [options]
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>}
 */
function runNode(t, nodeArgs, code, { onStdout, onStderr, env = {} } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BATON_LOG_FORMAT: 'text', ...env },
  });
  t.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d;
    onStdout?.(stdout, child);
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    onStderr?.(stderr, child);
  });
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** The built-ins loaded after running `code`, as `NativeModule <id>` lines; with `preload`, under batonjs/register. */
async function builtinsLoaded(t, code, preload) {
  const print = `${code}\nconsole.log(JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule '))));`;
  const r = await runNode(t, preload ? ['--import', register] : [], print);
  assert.equal(r.code, 0, r.stderr);
  return new Set(JSON.parse(r.stdout));
}

/** What the preload loads for `code` that the same code without it does not. */
async function addedByPreload(t, code) {
  const [bare, preloaded] = await Promise.all([builtinsLoaded(t, code, false), builtinsLoaded(t, code, true)]);
  return [...preloaded].filter((m) => !bare.has(m)).map((m) => m.slice('NativeModule '.length));
}

describe('built-ins the preload loads', () => {
  test(`a one-line script loads none of ${ONLY_SOME_APPS.join(', ')}, nor http`, T, async (t) => {
    const added = await addedByPreload(t, 'void 0;');
    const wrong = added.filter((id) => [...ONLY_SOME_APPS, 'http'].includes(id));
    assert.deepEqual(
      wrong,
      [],
      `the preload loads ${wrong.join(', ')} for a script that never uses them (it adds: ${added.join(', ')})`,
    );
  });

  test('a plain http server that listens loads none of them either', T, async (t) => {
    const app = `import http from 'node:http';
      const s = http.createServer();
      await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
      s.close();`;
    const added = await addedByPreload(t, app);
    const wrong = added.filter((id) => ONLY_SOME_APPS.includes(id));
    assert.deepEqual(wrong, [], `the preload loads ${wrong.join(', ')} for an http app (it adds: ${added.join(', ')})`);
  });

  test(
    'an app that uses https and http2 has them, and baton recognises and drains its servers (HTTP/1 connections list, GOAWAY)',
    T,
    async (t) => {
      const app = `import fs from 'node:fs';
      import http2 from 'node:http2';
      import https from 'node:https';
      const tls = { key: fs.readFileSync(${JSON.stringify(fileURLToPath(new URL('key.pem', tlsDir)))}), cert: fs.readFileSync(${JSON.stringify(fileURLToPath(new URL('cert.pem', tlsDir)))}) };
      const servers = [https.createServer(tls, (req, res) => res.end('h1')), http2.createSecureServer(tls, (req, res) => res.end('h2'))];
      const ports = await Promise.all(servers.map((s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)))));
      console.log(JSON.stringify(ports));`;
      /** @type {Promise<any[]>} */
      let goaway;
      let clients;
      const onStdout = (out, child) => {
        if (clients || !out.includes('\n')) return;
        const [h1Port, h2Port] = JSON.parse(out.slice(0, out.indexOf('\n')));
        const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
        const session = http2.connect(`https://127.0.0.1:${h2Port}`, { rejectUnauthorized: false });
        t.after(() => {
          agent.destroy();
          session.destroy();
        });
        goaway = once(session, 'goaway');
        session.on('error', () => {});
        const h1 = new Promise((resolve, reject) =>
          https
            .get({ host: '127.0.0.1', port: h1Port, agent }, (res) => res.resume().once('end', resolve))
            .once('error', reject),
        );
        const h2 = new Promise((resolve) => session.request({ ':path': '/' }).once('end', resolve).resume());
        // Both connections open and idle, then the stop: baton drains what it recognised.
        clients = Promise.all([h1, h2]).then(() => child.kill('SIGTERM'));
      };
      const r = await runNode(t, ['--import', register], app, { onStdout });
      await clients;
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /draining reason=stop connections=2 /,
        'baton did not count the https and the h2 connection: a server went unrecognised',
      );
      const [code] = await goaway;
      assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
      assert.match(r.stderr, /drained, exiting .*destroyed=0/);
    },
  );
});

describe('what the preload loads only when it is used', () => {
  const TOKEN = 'preload-deferred-admin-token-3f9a';
  /** An app that binds a UDP socket on UDP_PORT (a port of its own: port 0 is never passed on) and prints it. */
  const udpApp = `import dgram from 'node:dgram';
    const s = dgram.createSocket('udp4');
    s.bind(Number(process.env.UDP_PORT), '127.0.0.1', () => console.log(s.address().port));`;

  test(
    "BATON_ADMIN's API is served, and it lists a dgram socket the app bound (routed through baton)",
    T,
    async (t) => {
      const [adminPort, udpPort] = [await freePort(), await freePort()];
      const env = {
        UDP_PORT: String(udpPort),
        BATON_ADMIN: `127.0.0.1:${adminPort}`,
        BATON_ADMIN_TOKEN_FILE: writeTokenFile(t, `${TOKEN}\n`),
      };
      /** @type {Promise<import('../../dist/protocol/control.js').Status>} */
      let status;
      const onStdout = (out, child) => {
        if (status || !out.includes('\n')) return;
        // The first process serves its admin API at once; its code loads as the process starts.
        status = waitFor(
          async () => {
            const r = await request(adminPort, 'GET', '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } });
            return r.status === 200 && JSON.parse(r.body);
          },
          { timeoutMs: 15_000, intervalMs: 50, what: 'the admin API to answer' },
        ).finally(() => child.kill('SIGTERM'));
      };
      const r = await runNode(t, ['--import', register], udpApp, { onStdout, env });
      assert.deepEqual((await status).listeners, [`udp:127.0.0.1:${udpPort}`], r.stderr);
      assert.equal(r.code, 0, r.stderr);
    },
  );

  test('a preload whose admin code is missing says so in a line, and the app serves on', T, async (t) => {
    // The bundle alone, without the dist/admin/ it loads BATON_ADMIN's API from.
    const dir = tmpDir('baton-preload-alone-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    fs.copyFileSync(register, path.join(dir, 'register.js'));
    const env = {
      UDP_PORT: String(await freePort()),
      BATON_ADMIN: `127.0.0.1:${await freePort()}`,
      BATON_ADMIN_TOKEN_FILE: writeTokenFile(t, `${TOKEN}\n`),
    };
    // Stopped once it has said so and bound its socket, in whichever order those come.
    let out = '';
    let err = '';
    const stopWhenBoth = (child) => {
      if (out.includes('\n') && /the admin API could not start/.test(err)) child.kill('SIGTERM');
    };
    const r = await runNode(t, ['--import', path.join(dir, 'register.js')], udpApp, {
      onStdout: (o, child) => {
        out = o;
        stopWhenBoth(child);
      },
      onStderr: (e, child) => {
        err = e;
        stopWhenBoth(child);
      },
      env,
    });
    assert.match(r.stderr, /error: the admin API could not start .*admin\/index\.js/);
    assert.match(r.stdout, /^\d+\n$/, 'the app did not bind its socket');
    assert.equal(r.code, 0, r.stderr);
  });
});

const unbundled = fs.readFileSync(register, 'utf8').includes('./worker/runtime.js');

test('the API and the preload share one runtime and one list of hooks (bundled or not)', T, async (t) => {
  const app = `import { generation, onDrain, onShutdown } from ${JSON.stringify(path.join(dist, 'index.js'))};
    onDrain(() => { throw new Error('from the drain hook'); });
    onShutdown(() => { throw new Error('from the hook'); });
    setInterval(() => {}, 1000);
    console.log(generation);`;
  const onStdout = (out, child) => out.includes('\n') && child.kill('SIGTERM');
  const r = await runNode(t, ['--import', register], app, {
    onStdout,
    env: { BATON_GENERATION: '3', BATON_LOG_FORMAT: 'json' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '3\n', 'the API does not see the runtime the preload installed');
  const lines = r.stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  for (const [msg, error] of [
    ['drain hook threw', 'Error: from the drain hook'],
    ['shutdown hook threw', 'Error: from the hook'],
  ]) {
    const threw = lines.find((l) => l.msg === msg);
    assert.deepEqual(
      { gen: threw?.gen, error: threw?.error },
      { gen: 3, error },
      `the hook the API added did not run, or not as the runtime's: ${r.stderr}`,
    );
  }
});

test('the preload is one file', {
  ...T,
  skip: unbundled && "dist/register.js is tsc's own output: `npm run build` bundles it",
}, () => {
  // Static imports and re-exports of a relative path, wherever they stand (the bundle's lines are long).
  const imports = [
    ...fs
      .readFileSync(register, 'utf8')
      .matchAll(/(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{},\s]+from\s*)?['"](\.{1,2}\/[^'"]+)['"]/g),
  ].map((m) => m[1]);
  assert.deepEqual(
    imports,
    [],
    'the bundled preload imports modules of its own: each is a step of the ESM loader at every start',
  );
});

test('an uncaught error thrown in the bundled preload prints a short source line, not the bundle', {
  ...T,
  skip: unbundled && "dist/register.js is tsc's own output: `npm run build` bundles it",
}, async (t) => {
  // Binding a unix path in a missing directory throws from baton's own bind.
  const sock = path.join(tmpDir(), 'missing', 'app.sock');
  const r = await runNode(
    t,
    ['--import', register],
    `import http from 'node:http'; http.createServer().listen(${JSON.stringify(sock)});`,
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^file:\/\/.*register\.js:\d+\n/, 'Node names the line of the bundle it prints');
  const longest = Math.max(...r.stderr.split('\n').map((l) => l.length));
  assert.ok(longest < 1000, `a line of ${longest} characters in the error's output`);
});
