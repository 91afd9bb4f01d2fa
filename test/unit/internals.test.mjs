// The canary of the Node.js internals baton relies on (src/internals/, and the
// public-method detection in src/drain/track.ts), run on every Node CI covers
// (20, 22, 24, 26; test/run.mjs --e2e includes this file). Each test uses an
// internal for real, as baton does, and its failure message names it: when a
// Node release changes one, this says which before any e2e test fails obscurely.
// No load; what needs a fresh process (patches, fd inheritance, start-up
// checks) runs in a child of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { bindUdp, checkDgramSocket, datagramFdOf, stopReceiving } from '../../dist/internals/dgram.js';
import { bindPath, bindTcp, checkHandles, fdOf } from '../../dist/internals/handles.js';
import { checkHandover, detach, release } from '../../dist/internals/handover.js';
import { httpSockets, idleHttpSockets, responseHead, responseOf } from '../../dist/internals/http.js';
import { holdStreamEnd, openStreams } from '../../dist/internals/http2.js';
import { checkIdleClose, checkPatches, holdIdleClose } from '../../dist/internals/patches.js';
import { protocolOf } from '../../dist/drain/track.js';

const T = { timeout: 10_000 };
const distUrl = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const tlsDir = new URL('../fixtures/tls/', import.meta.url);
const credentials = {
  key: fs.readFileSync(new URL('key.pem', tlsDir)),
  cert: fs.readFileSync(new URL('cert.pem', tlsDir)),
};

/**
 * Resolves once `server` listens (listen's arguments as given); rejects on its 'error'.
 * @template {net.Server} S
 * @param {S} server
 * @param {...any} args
 * @returns {Promise<S>}
 */
function listening(server, ...args) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...args, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The port a server listening on TCP has. */
const portOf = (/** @type {net.Server} */ server) => /** @type {net.AddressInfo} */ (server.address()).port;

/** What went wrong, when a bind gave an error instead of a handle (the message of an assert that it did not). */
const failure = (handle) => (handle instanceof Error ? handle.message : 'no error');

/**
 * The undocumented parts of Node that this file checks are there, absent from @types/node.
 * @typedef {typeof net & { _createServerHandle?: unknown }} NetInternals
 * @typedef {net.Server & { _handle?: unknown, _connections?: number }} ServerInternals
 */

function closeServer(server) {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-canary-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port free on 127.0.0.1 a moment ago (the kernel's pick). */
async function freePort() {
  const s = await listening(net.createServer(), 0, '127.0.0.1');
  const port = portOf(s);
  await closeServer(s);
  return port;
}

/** 'connected' or the error code of a connect to `where` (a port on 127.0.0.1, or a unix path). */
function connectOutcome(where) {
  return new Promise((resolve) => {
    const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    }).once('error', (/** @type {NodeJS.ErrnoException} */ err) => resolve(err.code));
  });
}

/** What a server that answers each connection with one line and ends it says to a new connection at `where`. */
function answerAt(where) {
  return new Promise((resolve, reject) => {
    const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (text += d))
      .once('end', () => resolve(text))
      .once('error', reject);
  });
}

/**
 * Runs ESM `code` in a fresh node (this one), `extraStdio` from fd 3 on.
 * `done` resolves with its exit, output and IPC messages; the child is killed
 * (by its pid, through its handle) if the test ends first.
 */
function runNode(t, code, { extraStdio = [], env = {} } = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe', ...extraStdio],
    env: { ...process.env, BATON_LOG_FORMAT: 'text', ...env },
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  const messages = [];
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.on('message', (m) => messages.push(m));
  const firstLine = new Promise((resolve) => {
    const look = () => {
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      child.stdout.off('data', look);
      resolve(stdout.slice(0, nl));
    };
    child.stdout.on('data', look);
  });
  const done = new Promise((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, messages })),
  );
  return { child, done, firstLine };
}

/**
 * A keep-alive http.Agent with one socket, destroyed when the test ends.
 * @param {import('node:test').TestContext} t
 * @param {typeof http | typeof https} [lib]
 * @param {https.AgentOptions} [options]
 */
function keepAliveAgent(t, lib = http, options = {}) {
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 1, ...options });
  t.after(() => agent.destroy());
  return agent;
}

/**
 * GET `pathName` through `agent`: { status, headers, body, localPort } (the client socket's port).
 * @param {typeof http | typeof https} lib
 * @param {number} port
 * @param {http.Agent} [agent]
 * @param {string} [pathName]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string, localPort: number }>}
 */
function request(lib, port, agent, pathName = '/') {
  return new Promise((resolve, reject) => {
    lib
      .get({ host: '127.0.0.1', port, path: pathName, agent, rejectUnauthorized: false }, (res) => {
        const localPort = res.socket.localPort;
        let body = '';
        res.setEncoding('utf8');
        res
          .on('data', (d) => (body += d))
          .once('end', () => resolve({ status: res.statusCode, headers: res.headers, body, localPort }));
      })
      .once('error', reject);
  });
}

describe('handles.ts: net._createServerHandle, server._handle.fd', () => {
  test('net._createServerHandle is there (checkHandles)', T, () => {
    assert.equal(
      typeof (/** @type {NetInternals} */ (net)._createServerHandle),
      'function',
      'net._createServerHandle is gone: baton cannot bind, inherit or pass sockets',
    );
    assert.equal(checkHandles(), undefined);
  });

  test(
    'bindTcp: net._createServerHandle binds without listening; net.Server#listen(handle) adopts the TCP handle; fdOf reads server._handle.fd',
    T,
    async (t) => {
      let port;
      let handle;
      for (let tries = 0; tries < 5 && !(handle && !(handle instanceof Error)); tries++) {
        port = await freePort();
        handle = bindTcp('127.0.0.1', port);
      }
      assert.ok(
        !(handle instanceof Error),
        `net._createServerHandle('127.0.0.1', ${port}, 4) failed: ${failure(handle)}`,
      );
      t.after(() => handle.close());
      assert.ok(
        Number.isInteger(handle.fd) && handle.fd >= 0,
        `a TCP handle from net._createServerHandle has no fd: ${handle.fd}`,
      );
      assert.ok(fs.fstatSync(handle.fd).isSocket(), "the TCP handle's fd is not a socket");
      assert.equal(
        typeof handle.getsockname,
        'function',
        'a TCP handle has no getsockname(): inherited TCP sockets cannot be told from unix ones',
      );
      /** @type {Record<string, unknown>} */
      const out = {};
      assert.equal(handle.getsockname(out), 0);
      assert.deepEqual(
        { address: out.address, port: out.port },
        { address: '127.0.0.1', port },
        'TCP#getsockname(out) fills out.address and out.port',
      );
      assert.equal(
        await connectOutcome(port),
        'ECONNREFUSED',
        'net._createServerHandle listened: the master would accept connections it never serves',
      );

      const server = net.createServer((s) => s.end('tcp\n'));
      t.after(() => closeServer(server));
      await listening(server, handle);
      assert.equal(
        /** @type {ServerInternals} */ (server)._handle,
        handle,
        'net.Server#listen(TCP handle) no longer adopts the handle itself (server._handle)',
      );
      assert.equal(
        fdOf(server),
        handle.fd,
        'server._handle.fd no longer gives the listening fd: sockets cannot be passed to a successor',
      );
      assert.equal(portOf(server), port);
      assert.equal(await answerAt(port), 'tcp\n');

      // libuv defers a bind's EADDRINUSE to listen(); bindTcp sees it as getsockname's port 0.
      const taken = bindTcp('127.0.0.1', port);
      assert.ok(
        taken instanceof Error,
        'binding a port something listens on succeeded: a master could not tell EADDRINUSE before its workers listen',
      );
      assert.equal(taken.code, 'EADDRINUSE');
      assert.equal(fdOf(net.createServer()), undefined, 'fdOf(a server not listening) is undefined');
    },
  );

  test(
    'bindPath: a unix socket bound without listening; net.Server#listen(Pipe handle) opens its fd and leaves the path alone',
    T,
    async (t) => {
      const sock = path.join(tmpDir(t), 'canary.sock');
      const handle = bindPath(sock);
      assert.ok(!(handle instanceof Error), `net._createServerHandle('${sock}', -1, -1) failed: ${failure(handle)}`);
      assert.ok(fs.statSync(sock).isSocket(), 'the unix path was not bound');
      assert.equal(await connectOutcome(sock), 'ECONNREFUSED', 'the bound unix socket already listens');
      assert.equal(
        handle.getsockname,
        undefined,
        'a Pipe handle now has getsockname(): src/listeners/inherit.ts would take a unix socket for TCP',
      );
      assert.equal(
        typeof handle.fchmod,
        'function',
        'Pipe#fchmod is gone: listen({ readableAll, writableAll }) on an inherited path loses its mode',
      );

      const server = net.createServer((s) => s.end('unix\n'));
      t.after(() => closeServer(server));
      // The handle's fd is the server's from now on, closed with it: the handle itself is left unclosed.
      await listening(server, handle);
      assert.equal(fdOf(server), handle.fd, "net.Server#listen(Pipe handle) no longer listens on the handle's fd");
      assert.equal(await answerAt(sock), 'unix\n');
      await closeServer(server);
      assert.ok(
        fs.existsSync(sock),
        "closing a server listening on a Pipe handle removed the path: an old generation would unlink its successor's socket",
      );
    },
  );

  test('openFd: fds inherited from fd 3 on become TCP and Pipe handles a server listens on', T, async (t) => {
    // As a standalone process passes its listening TCP socket, and a master its bound unix one.
    const tcpServer = await listening(
      net.createServer((s) => s.end('parent\n')),
      0,
      '127.0.0.1',
    );
    t.after(() => closeServer(tcpServer));
    const port = portOf(tcpServer);
    const sock = path.join(tmpDir(t), 'inherited.sock');
    const unixHandle = bindPath(sock);
    assert.ok(!(unixHandle instanceof Error), failure(unixHandle));
    t.after(() => unixHandle.close());
    const code = `
      import net from 'node:net';
      import { openFd } from ${JSON.stringify(distUrl('internals/handles.js'))};
      const tcp = openFd(3);
      const unix = openFd(4);
      const report = { tcpError: tcp instanceof Error ? tcp.message : null, unixError: unix instanceof Error ? unix.message : null };
      const out = {};
      report.tcpGetsockname = typeof tcp.getsockname === 'function' ? tcp.getsockname(out) : 'missing';
      report.tcpPort = out.port;
      report.unixGetsockname = typeof unix.getsockname;
      let listening = 0;
      const ready = () => ++listening === 2 && console.log(JSON.stringify(report));
      net.createServer((s) => s.end('tcp child\\n')).listen(tcp, ready);
      net.createServer((s) => s.end('unix child\\n')).listen(unix, ready);
    `;
    const child = runNode(t, code, { extraStdio: [fdOf(tcpServer), unixHandle.fd] });
    const report = JSON.parse(await child.firstLine);
    assert.deepEqual(
      report,
      {
        tcpError: null,
        unixError: null,
        tcpGetsockname: 0,
        tcpPort: port,
        unixGetsockname: 'undefined',
      },
      'net._createServerHandle(null, 0, 0, fd) no longer wraps an inherited fd as a TCP (with getsockname) or Pipe handle',
    );
    // The parent stops accepting as baton does (its handle only): the child serves the queue from now on.
    await new Promise((resolve) => net.Server.prototype.close.call(tcpServer, resolve));
    assert.equal(await answerAt(port), 'tcp child\n');
    assert.equal(await answerAt(sock), 'unix child\n');
    child.child.kill('SIGKILL');
    await child.done;
  });
});

/** Sends `text` to 127.0.0.1:`port` from a socket of its own, and resolves its first answer. */
async function udpAsk(t, port, text) {
  const s = dgram.createSocket('udp4');
  t.after(() => s.close());
  const answer = once(s, 'message').then(([m]) => String(m));
  s.send(text, port, '127.0.0.1');
  return answer;
}

describe("dgram.ts: a dgram socket's UDP handle under Symbol(state symbol)", () => {
  test('checkDgramSocket finds the handle; datagramFdOf reads its fd once bound', T, async (t) => {
    const s = dgram.createSocket('udp4');
    t.after(() => s.close());
    assert.equal(
      checkDgramSocket(s),
      undefined,
      'a dgram socket keeps no UDP handle (with recvStop and fd) under Symbol(state symbol)',
    );
    await new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    assert.equal(typeof datagramFdOf(s), 'number');
  });

  test(
    'bindUdp binds without reading; a child opens the inherited fd (openUdpFd) and bind(handle) reads what queued meanwhile',
    T,
    async (t) => {
      const port = await freePort();
      const handle = bindUdp('127.0.0.1', port);
      assert.ok(!(handle instanceof Error), failure(handle));
      t.after(() => handle.close());
      const early = dgram.createSocket('udp4');
      t.after(() => early.close());
      const answered = once(early, 'message').then(([m]) => String(m));
      early.send('queued', port, '127.0.0.1');
      const code = `
      import dgram from 'node:dgram';
      import { openUdpFd } from ${JSON.stringify(distUrl('internals/dgram.js'))};
      const handle = openUdpFd(3);
      if (handle instanceof Error) throw handle;
      const s = dgram.createSocket('udp4', (m, from) => s.send('child got ' + m, from.port, from.address));
      s.bind(handle, () => console.log(JSON.stringify(s.address())));
    `;
      const child = runNode(t, code, { extraStdio: [handle.fd] });
      assert.equal(JSON.parse(await child.firstLine).port, port);
      assert.equal(
        await answered,
        'child got queued',
        'the datagram sent before anyone read waited in the socket for the child',
      );
      child.child.kill('SIGKILL');
      await child.done;
    },
  );

  test(
    'stopReceiving: the socket reads no more, another holder of the fd does, and it can still send',
    T,
    async (t) => {
      const s = dgram.createSocket('udp4');
      t.after(() => s.close());
      let read = 0;
      s.on('message', () => read++);
      await new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
      const { port } = s.address();
      const code = `
      import dgram from 'node:dgram';
      const s = dgram.createSocket('udp4', (m, from) => s.send('child', from.port, from.address));
      s.bind({ fd: 3 }, () => console.log('bound'));
    `;
      const child = runNode(t, code, { extraStdio: [datagramFdOf(s)] });
      await child.firstLine;
      stopReceiving(s);
      for (let i = 0; i < 5; i++) assert.equal(await udpAsk(t, port, String(i)), 'child');
      assert.equal(read, 0, 'the socket read after stopReceiving');
      const client = dgram.createSocket('udp4');
      t.after(() => client.close());
      await new Promise((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
      const got = once(client, 'message');
      s.send('still sends', client.address().port, '127.0.0.1');
      assert.equal(String((await got)[0]), 'still sends');
      child.child.kill('SIGKILL');
      await child.done;
    },
  );

  test(
    'patchBind: the first socket an app creates, ESM or CommonJS, announces itself on udp.socket before it binds; dgram is not loaded before',
    T,
    async (t) => {
      const code = `
      import { createRequire } from 'node:module';
      import { patchBind } from ${JSON.stringify(distUrl('internals/patches.js'))};
      const routed = [];
      patchBind((socket, args, original) => {
        routed.push(args[0]);
        return original.apply(socket, args);
      });
      const before = process.moduleLoadList.includes('NativeModule dgram');
      const { default: dgram } = await import('node:dgram');
      const cjs = createRequire(import.meta.url)('dgram');
      const sockets = [dgram.createSocket('udp4'), cjs.createSocket('udp6'), new dgram.Socket('udp4')];
      let bound = 0;
      for (const s of sockets) s.bind(0, () => {
        if (++bound < sockets.length) return;
        console.log(JSON.stringify({ before, routed }));
        for (const x of sockets) x.close();
      });
    `;
      const r = await runNode(t, code).done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        JSON.parse(r.stdout),
        { before: false, routed: [0, 0, 0] },
        'dgram.Socket#bind is no longer reached through the udp.socket channel',
      );
    },
  );
});

describe('http.ts: the http.server.connections list, socket._httpMessage', () => {
  test(
    "httpSockets() names an open keep-alive connection through Node's list, and drops it once closed; responseOf() is the response in progress",
    T,
    async (t) => {
      const seen = [];
      const server = http.createServer((req, res) => {
        seen.push({ listed: httpSockets(server).includes(req.socket), response: responseOf(req.socket) === res });
        res.end('ok');
      });
      t.after(() => server.close());
      const accepted = [];
      server.on('connection', (s) => accepted.push(s));
      await listening(server, 0, '127.0.0.1');
      assert.ok(
        Object.getOwnPropertySymbols(server).some((s) => s.description === 'http.server.connections'),
        "http.Server has no 'http.server.connections' symbol: keep-alive connections are not told to close and end at the drain timeout",
      );

      const agent = keepAliveAgent(t);
      const r = await request(http, portOf(server), agent);
      assert.equal(r.status, 200);
      assert.equal(accepted.length, 1);
      assert.deepEqual(
        seen,
        [{ listed: true, response: true }],
        "during a request: the socket is in Node's list, and socket._httpMessage is its response",
      );
      const open = httpSockets(server);
      assert.equal(open.length, 1, 'an idle keep-alive connection is missing from http.server.connections');
      assert.equal(open[0], accepted[0]);
      assert.equal(open[0].remotePort, r.localPort);

      const closed = once(accepted[0], 'close');
      agent.destroy();
      await closed;
      assert.equal(
        httpSockets(server).length,
        0,
        'a closed connection stays in http.server.connections: the drain would wait for it until the deadline',
      );
    },
  );

  test(
    'responseHead() is the head a response sent, writeHead() with a plain object included (src/drain/event-stream.ts)',
    T,
    async (t) => {
      const heads = [];
      const server = http.createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: 1\n\n');
        heads.push(responseHead(res));
        res.end();
      });
      t.after(() => server.close());
      await listening(server, 0, '127.0.0.1');
      assert.equal((await request(http, portOf(server))).status, 200);
      assert.match(heads[0], /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(
        heads[0],
        /\r\nContent-Type: text\/event-stream\r\n/,
        'res._header is gone: Server-Sent Events streams end at the drain timeout',
      );
    },
  );

  test('an upgraded connection leaves the list (the drain does not wait for it as HTTP)', T, async (t) => {
    const server = http.createServer((req, res) => res.end('plain'));
    t.after(() => server.close());
    const upgraded = new Promise((resolve) =>
      server.once('upgrade', (req, socket) => {
        // An HTTP server's upgraded socket is the net.Socket it accepted (typed as any Duplex).
        const listed = httpSockets(server).includes(/** @type {net.Socket} */ (socket));
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: canary\r\nConnection: Upgrade\r\n\r\n');
        resolve(listed);
      }),
    );
    await listening(server, 0, '127.0.0.1');
    const req = http.request({
      host: '127.0.0.1',
      port: portOf(server),
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'canary' },
    });
    const clientSide = new Promise((resolve, reject) =>
      req.once('upgrade', (res, socket) => resolve(socket)).once('error', reject),
    );
    req.end();
    assert.equal(
      await upgraded,
      false,
      "an upgraded socket is still in http.server.connections as the 'upgrade' event fires",
    );
    (await clientSide).destroy();
  });

  test(
    'ServerResponse#shouldKeepAlive = false (src/drain/http1.ts) answers with Connection: close and ends the connection',
    T,
    async (t) => {
      const server = http.createServer((req, res) => {
        res.shouldKeepAlive = false;
        res.end('bye');
      });
      t.after(() => server.close());
      const closed = [];
      server.on('connection', (s) => closed.push(once(s, 'close')));
      await listening(server, 0, '127.0.0.1');
      const r = await request(http, portOf(server), keepAliveAgent(t));
      assert.equal(
        r.headers.connection,
        'close',
        'res.shouldKeepAlive = false no longer makes the response say Connection: close',
      );
      assert.equal(closed.length, 1);
      await closed[0];
    },
  );
});

/** Resolves once `fn()` holds, looking every 10 ms, at most 1,000 times. */
async function eventually(fn, what) {
  for (let i = 0; i < 1000; i++) {
    if (fn()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
}

/** A raw connection to `port`, once connected, destroyed when the test ends. */
function rawConnection(t, port) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c)).once('error', reject);
    t.after(() => c.destroy());
  });
}

describe("handover.ts: socket._handle stopped and sent as a raw handle, server._connections; http.ts: the list's idle()", () => {
  test(
    'idleHttpSockets() names never-used and between-requests connections, not one with a request partly read or a response under way; checkHandover finds server._connections',
    T,
    async (t) => {
      assert.equal(checkHandover(), undefined);
      let held;
      const server = http.createServer((req, res) => (req.url === '/hold' ? (held = res) : res.end('ok')));
      t.after(() => {
        held?.end();
        server.closeAllConnections();
        server.close();
      });
      const accepted = [];
      server.on('connection', (s) => accepted.push(s));
      await listening(server, 0, '127.0.0.1');
      const port = portOf(server);
      const serverSide = (localPort) => accepted.find((s) => s.remotePort === localPort);
      const unused = await rawConnection(t, port);
      const between = await request(http, port, keepAliveAgent(t));
      const partial = await rawConnection(t, port);
      partial.write('GET / HTTP/1.1\r\nhost: x\r\n');
      void request(http, port, keepAliveAgent(t), '/hold').catch(() => {});
      await eventually(
        () => held && serverSide(partial.localPort)?.bytesRead > 0,
        'the partial request and the held one to be read',
      );
      const idle = idleHttpSockets(server);
      assert.equal(httpSockets(server).length, 4);
      assert.deepEqual(
        new Set(idle),
        new Set([serverSide(unused.localPort), serverSide(between.localPort)]),
        'http.server.connections idle() (or socket.bytesRead for a never-used one) no longer tells which connections have nothing of a request read',
      );
    },
  );

  test(
    "detach() stops reading; the raw handle goes over IPC; release() drops this process's copy and its count, unseen by the client; adopt() serves what the client sent meanwhile",
    T,
    async (t) => {
      const { child } = runNode(
        t,
        `
      import http from 'node:http';
      import { adopt } from ${JSON.stringify(distUrl('internals/handover.js'))};
      const server = http.createServer((req, res) => res.end('adopted, connections ' + server._connections));
      server.listen(0, '127.0.0.1', () => process.send('listening'));
      process.on('message', (m, handle) => adopt(server, handle));
    `,
        { extraStdio: ['ipc'] },
      );
      await once(child, 'message');
      const server = http.createServer((req, res) => res.end('old'));
      t.after(() => server.close());
      const accepted = [];
      server.on('connection', (s) => accepted.push(s));
      await listening(server, 0, '127.0.0.1');
      const client = await rawConnection(t, portOf(server));
      let clientClosed = false;
      client.once('close', () => (clientClosed = true));
      await eventually(() => accepted.length === 1, 'the connection to be accepted');
      const [socket] = accepted;

      const handle = detach(socket);
      assert.ok(handle, 'detach() refused a plain idle socket: socket._handle has no readStop/readStart/fd');
      // Sent while this process reads no more: it waits in the kernel for the receiver.
      client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const answer = new Promise((resolve) =>
        client.setEncoding('utf8').on('data', (d) => d.includes('adopted') && resolve(d)),
      );
      await new Promise((resolve, reject) =>
        // A bare handle, as cluster's primary sends them: @types/node knows only sockets and servers.
        child.send('connection', /** @type {any} */ (handle), (err) => (err ? reject(err) : resolve())),
      );
      release(socket, handle);
      await once(socket, 'close');
      assert.equal(
        /** @type {ServerInternals} */ (server)._connections,
        0,
        'a released socket is still counted in server._connections: the drain would wait for it',
      );
      assert.equal(httpSockets(server).length, 0, 'a released socket is still in http.server.connections');
      assert.match(
        await answer,
        /adopted, connections 1$/,
        "the adopted socket is not counted in the receiver's server._connections",
      );
      assert.equal(clientClosed, false);
    },
  );

  test('detach() refuses a TLS connection (its state lives in this process)', T, async (t) => {
    const server = https.createServer(credentials, (req, res) => res.end('ok'));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    await listening(server, 0, '127.0.0.1');
    await request(https, portOf(server), keepAliveAgent(t, https));
    const [socket] = httpSockets(server);
    // An https server's sockets are TLSSockets.
    assert.equal(
      /** @type {tls.TLSSocket} */ (socket).encrypted,
      true,
      'a TLS socket no longer says encrypted: detach() would try to send it',
    );
    assert.equal(detach(socket), undefined);
  });
});

/** An h2c server answering with `onStream` and a client of it, both closed in t.after(); resolves the client. */
async function h2Pair(t, onStream) {
  const server = http2.createServer();
  server.on('stream', onStream);
  await listening(server, 0, '127.0.0.1');
  const client = http2.connect(`http://127.0.0.1:${portOf(server)}`);
  t.after(() => {
    client.destroy();
    server.close();
  });
  return client;
}

describe("http2.ts: a session's open streams (state.streams); a stream's native handle (kHandle) and its shutdown()", () => {
  test('openStreams(): the stream in progress while it is open, none once it has closed', T, async (t) => {
    const seen = [];
    let session;
    const client = await h2Pair(t, (stream) => {
      session = stream.session;
      seen.push(openStreams(session)?.includes(stream));
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    const req = client.request({ ':path': '/' });
    req.resume();
    await once(req, 'close');
    await new Promise((resolve) => client.ping(resolve));
    assert.deepEqual(
      seen,
      [true],
      'the stream in progress is not among openStreams(): the HTTP/2 drain would wait for a next stream instead',
    );
    assert.deepEqual(openStreams(session), [], 'a closed stream is still among openStreams()');
  });

  /** @type {[string, (stream: http2.ServerHttp2Stream) => void][]} */
  const responses = [
    ['end(data)', (stream) => stream.end('body')],
    [
      'write(data), then end()',
      (stream) => {
        stream.write('body');
        setImmediate(() => stream.end());
      },
    ],
    ['trailers (waitForTrailers)', (stream) => stream.end('body')],
  ];
  for (const [how, respond] of responses) {
    test(`holdStreamEnd(): the client has the body but no end until the release, ${how}`, T, async (t) => {
      /** @type {() => void} */
      let release;
      const client = await h2Pair(t, (stream) => {
        release = holdStreamEnd(stream);
        const trailers = how.startsWith('trailers');
        stream.respond({ ':status': 200 }, { waitForTrailers: trailers });
        if (trailers) stream.once('wantTrailers', () => stream.sendTrailers({ 'x-done': '1' }));
        respond(stream);
      });
      const req = client.request({ ':path': '/' });
      let body = '';
      let ended = false;
      req.on('data', (d) => (body += d));
      req.on('end', () => (ended = true));
      await once(req, 'data');
      // A round trip on the same connection: had the end been sent, it would have arrived before the ack.
      await new Promise((resolve) => client.ping(resolve));
      assert.deepEqual([body, ended], ['body', false], 'the stream ended before the release: the hold did nothing');
      release();
      await once(req, 'end');
      assert.equal(body, 'body');
    });
  }
});

describe('patches.ts: listen, process.send, stderr, closeIdleConnections', () => {
  test('checkPatches finds what the patches replace', T, () => {
    assert.equal(typeof net.Server.prototype.listen, 'function');
    assert.equal(
      typeof http.Server.prototype.closeIdleConnections,
      'function',
      'http.Server.prototype.closeIdleConnections is gone',
    );
    assert.equal(checkPatches(), undefined);
    assert.equal(checkIdleClose(), undefined);
  });

  test('patchListen: every kind of server listens through net.Server.prototype.listen', T, async (t) => {
    const code = `
      import http from 'node:http';
      import http2 from 'node:http2';
      import https from 'node:https';
      import net from 'node:net';
      import tls from 'node:tls';
      import { patchListen } from ${JSON.stringify(distUrl('internals/patches.js'))};
      const routed = [];
      patchListen((server, args, original) => {
        routed.push(server.constructor.name);
        return original.apply(server, args);
      });
      const servers = [http.createServer(), https.createServer(), http2.createServer(), http2.createSecureServer(), net.createServer(), tls.createServer()];
      let listening = 0;
      for (const s of servers) {
        s.listen(0, '127.0.0.1', () => {
          if (++listening < servers.length) return;
          console.log(JSON.stringify({ routed, listening }));
          for (const x of servers) x.close();
        });
      }
    `;
    const r = await runNode(t, code).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout),
      {
        routed: ['Server', 'Server', 'Http2Server', 'Http2SecureServer', 'Server', 'Server'],
        listening: 6,
      },
      'a server class now has a listen() of its own: patching net.Server.prototype.listen no longer reaches it',
    );
  });

  test(
    "patchProcessSend: process.send('ready') reaches baton and not the parent; other messages pass (a child with IPC)",
    T,
    async (t) => {
      const code = `
      import { patchProcessSend } from ${JSON.stringify(distUrl('internals/patches.js'))};
      let readies = 0;
      patchProcessSend(() => readies++);
      const returned = process.send('ready');
      process.send({ readies, returned }, () => process.disconnect());
    `;
      const r = await runNode(t, code, { extraStdio: ['ipc'] }).done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(
        r.messages,
        [{ readies: 1, returned: true }],
        'process.send with IPC is not the replaceable function patchProcessSend expects',
      );
    },
  );

  test(
    'teeStderr: console.error and Buffer writes pass through process.stderr.write, copied; stderr itself unchanged; undo restores',
    T,
    async (t) => {
      const code = `
      import { teeStderr } from ${JSON.stringify(distUrl('internals/patches.js'))};
      const seen = [];
      const undo = teeStderr((text) => seen.push(text));
      console.error('via console.error');
      process.stderr.write(Buffer.from('as a buffer\\n'));
      undo();
      console.error('after undo');
      console.log(JSON.stringify(seen.join('')));
    `;
      const r = await runNode(t, code).done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        JSON.parse(r.stdout),
        'via console.error\nas a buffer\n',
        "console.error no longer writes through process.stderr.write: a failed start's reason loses its stderr tail",
      );
      assert.equal(r.stderr, 'via console.error\nas a buffer\nafter undo\n');
    },
  );

  test(
    "holdIdleClose: http.Server#close() leaves an idle keep-alive connection open (it calls the instance's closeIdleConnections); the release closes it",
    T,
    async (t) => {
      const server = http.createServer((req, res) => res.end(String(req.socket.remotePort)));
      const accepted = [];
      server.on('connection', (s) => accepted.push(s));
      t.after(() => {
        accepted.forEach((s) => s.destroy());
        return closeServer(server);
      });
      await listening(server, 0, '127.0.0.1');
      const port = portOf(server);
      const agent = keepAliveAgent(t);
      const first = await request(http, port, agent);
      assert.equal(accepted.length, 1);

      const release = holdIdleClose(server);
      const serverClosed = once(server, 'close');
      server.close();
      assert.equal(await connectOutcome(port), 'ECONNREFUSED', 'the server still listens after close()');
      // An answer, or the error it met instead.
      /** @type {{ status?: number, localPort?: number, error?: string }} */
      const second = await request(http, port, agent).catch((err) => ({ error: err.code ?? err.message }));
      assert.deepEqual(
        { status: second.status, localPort: second.localPort },
        { status: 200, localPort: first.localPort },
        `${JSON.stringify(second)}: http.Server#close() destroyed the idle keep-alive connection despite holdIdleClose: it no longer calls this.closeIdleConnections()`,
      );
      assert.equal(accepted.length, 1);

      const closed = once(accepted[0], 'close');
      release();
      await closed;
      await serverClosed;
    },
  );
});

describe('builtins.ts: process.moduleLoadList', () => {
  test(
    'loaded() is undefined until something loads the built-in, then it is the built-in; checkBuiltins finds the list',
    T,
    async (t) => {
      const code = `
      import { checkBuiltins, loaded } from ${JSON.stringify(distUrl('internals/builtins.js'))};
      const before = loaded('dns');
      const dns = await import('node:dns');
      console.log(JSON.stringify({ before: before === undefined, after: loaded('dns') === dns.default, check: checkBuiltins() ?? null }));
    `;
      const r = await runNode(t, code).done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        JSON.parse(r.stdout),
        { before: true, after: true, check: null },
        "process.moduleLoadList no longer lists a built-in as 'NativeModule <id>' once it is loaded: baton would load the ones it looks at, or miss them",
      );
    },
  );

  test(
    'builtin() loads through a require function on a Node without process.getBuiltinModule (before 20.16)',
    T,
    async (t) => {
      const code = `
      delete process.getBuiltinModule;
      const { builtin } = await import(${JSON.stringify(distUrl('internals/builtins.js'))});
      const dns = await import('node:dns');
      console.log(JSON.stringify({ withRequire: builtin('dns') === dns.default }));
    `;
      const r = await runNode(t, code).done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { withRequire: true });
    },
  );

  test(
    'isClusterWorker(): false in a primary, true in a worker, as a preload sees it (Node loads cluster before preloads run)',
    T,
    async (t) => {
      const dir = tmpDir(t);
      fs.writeFileSync(
        path.join(dir, 'preload.mjs'),
        `
      import { isClusterWorker } from ${JSON.stringify(distUrl('internals/builtins.js'))};
      console.log(JSON.stringify({ worker: isClusterWorker() }));
    `,
      );
      fs.writeFileSync(
        path.join(dir, 'app.mjs'),
        `
      import cluster from 'node:cluster';
      if (cluster.isPrimary) cluster.fork();
      else process.exit(0);
    `,
      );
      const child = spawn(process.execPath, ['--import', path.join(dir, 'preload.mjs'), path.join(dir, 'app.mjs')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      const [code] = await once(child, 'close');
      assert.equal(code, 0);
      assert.deepEqual(
        stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
        [{ worker: false }, { worker: true }],
        'a preload in a node:cluster worker no longer finds cluster loaded and isWorker set: baton would run its runtime in cluster workers',
      );
    },
  );
});

describe('check.ts: the start-up check, and the one as a server listens', () => {
  test('checkInternals() and checkListening() log nothing on this Node', T, async (t) => {
    const code = `
      import http from 'node:http';
      import https from 'node:https';
      import { checkInternals, checkListening } from ${JSON.stringify(distUrl('internals/check.js'))};
      checkInternals();
      const servers = [http.createServer(), https.createServer()];
      let n = 0;
      for (const s of servers) s.listen(0, '127.0.0.1', () => {
        checkListening(s, true);
        if (++n === servers.length) servers.forEach((x) => x.close());
      });
    `;
    const r = await runNode(t, code).done;
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '', `this Node.js lacks something baton relies on: ${r.stderr}`);
  });

  test('the check is not vacuous: without net._createServerHandle it says so, in one line', T, async (t) => {
    const code = `
      import net from 'node:net';
      delete net._createServerHandle;
      const { checkInternals } = await import(${JSON.stringify(distUrl('internals/check.js'))});
      checkInternals();
    `;
    const r = await runNode(t, code).done;
    assert.equal(r.code, 0);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /warn: this Node\.js is not one baton knows: net\._createServerHandle is gone/);
  });

  test(
    'the listening check is not vacuous: without closeIdleConnections it says so once http is loaded, and loads no http itself',
    T,
    async (t) => {
      const code = `
      import net from 'node:net';
      const { checkListening } = await import(${JSON.stringify(distUrl('internals/check.js'))});
      checkListening(net.createServer(), false);
      const loadedHttp = process.moduleLoadList.includes('NativeModule http');
      const http = await import('node:http');
      delete http.Server.prototype.closeIdleConnections;
      checkListening(net.createServer(), false);
      checkListening(net.createServer(), false);
      console.log(JSON.stringify({ loadedHttp }));
    `;
      const r = await runNode(t, code).done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { loadedHttp: false });
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /warn: this Node\.js is not one baton knows: http\.Server\.prototype\.closeIdleConnections is gone/,
      );
    },
  );
});

describe('track.ts: protocolOf() tells servers apart by public methods', () => {
  test(
    'http and https are HTTP/1 (closeIdleConnections); h2c and h2 are HTTP/2 (updateSettings); net and tls are neither',
    T,
    () => {
      // The methods protocolOf() looks for, on whichever server has them.
      /** @type {[string, net.Server & { updateSettings?: unknown, closeIdleConnections?: unknown }, string][]} */
      const cases = [
        ['http.createServer', http.createServer(), 'http1'],
        ['https.createServer', https.createServer(credentials), 'http1'],
        ['http2.createServer (h2c)', http2.createServer(), 'http2'],
        ['http2.createSecureServer (h2)', http2.createSecureServer(credentials), 'http2'],
        ['net.createServer', net.createServer(), 'net'],
        ['tls.createServer', tls.createServer(credentials), 'net'],
      ];
      for (const [what, server, expected] of cases) {
        const methods = `updateSettings: ${typeof server.updateSettings}, closeIdleConnections: ${typeof server.closeIdleConnections}`;
        assert.equal(
          protocolOf(server),
          expected,
          `${what} is no longer told apart by its public methods (${methods})`,
        );
      }
    },
  );

  test(
    'https: Node keeps its http.server.connections list too (httpSockets sees a TLS keep-alive connection)',
    T,
    async (t) => {
      const server = https.createServer(credentials, (req, res) => res.end('ok'));
      t.after(() => server.close());
      await listening(server, 0, '127.0.0.1');
      const r = await request(https, portOf(server), keepAliveAgent(t, https, { rejectUnauthorized: false }));
      assert.equal(r.status, 200);
      const open = httpSockets(server);
      assert.equal(open.length, 1, "an https server's keep-alive connection is missing from http.server.connections");
      assert.equal(open[0].remotePort, r.localPort);
    },
  );

  test("h2c: a connection is a 'session' event, as tracking expects", T, async (t) => {
    const server = http2.createServer((req, res) => res.end('ok'));
    t.after(() => server.close());
    const session = once(server, 'session');
    await listening(server, 0, '127.0.0.1');
    const client = http2.connect(`http://127.0.0.1:${portOf(server)}`);
    t.after(() => client.destroy());
    const [s] = await session;
    assert.equal(typeof s.goaway, 'function', 'Http2Session#goaway is gone: HTTP/2 connections cannot be drained');
    assert.equal(typeof s.ping, 'function', 'Http2Session#ping is gone');
    assert.equal(
      typeof s.state.lastProcStreamID,
      'number',
      'Http2Session#state.lastProcStreamID is gone (src/drain/http2.ts)',
    );
  });
});
