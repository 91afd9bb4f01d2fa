// Unit tests for dist/drain/index.js: drain() with real servers and real
// clients on 127.0.0.1. Each server is track()ed before it listens, as the
// listen patch does.
//
// Deadlines are small where the deadline is the outcome (a raw connection that
// nobody ends is destroyed at it) and generous where it is not (then the test
// checks that nothing was destroyed). What a test decides on is an event or a
// count (a response, a 'close', result.destroyed), never elapsed time. Every
// server, agent and socket is closed in t.after().
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import crypto from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { releaseClose } from '../../dist/drain/close.js';
import { drain } from '../../dist/drain/index.js';
import { track } from '../../dist/drain/track.js';
import { closeFrameFor } from '../../dist/drain/websocket.js';

const TEST_MS = 20_000;
/** A deadline nobody should reach in a test that expects everything to end by itself. */
const FAR_MS = 10_000;

const noHooks = async () => {};

/** Tracks `server`, listens on 127.0.0.1, and closes it and everything it holds in t.after(). */
async function serve(t, server) {
  track(server);
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    if (server.listening) server.close();
    for (const s of sockets) s.destroy();
  });
  return { port: server.address().port, sockets };
}

/** A keep-alive agent with one socket, destroyed in t.after(). */
function agentFor(t) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  return agent;
}

/** GET / through `agent`; resolves { res, body, socket, reused }. */
function get(port, agent, path = '/') {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ res, body, socket: req.socket, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A raw TCP client, destroyed in t.after(). */
async function connect(t, port) {
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Resolves once `emitter` emits `event`, or rejects after `ms`: a bound on a wait, not a decision. */
function eventually(emitter, event, ms = FAR_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

describe('drain: HTTP/1', () => {
  test('an idle keep-alive connection is not destroyed at the start: its next request is served, with Connection: close', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    const { port, sockets } = await serve(t, server);
    const agent = agentFor(t);
    const first = await get(port, agent, '/1');
    assert.equal(first.res.statusCode, 200);
    assert.notEqual(first.res.headers.connection, 'close');
    assert.equal(sockets.size, 1);
    const [serverSide] = sockets;

    const hooks = [];
    const result = drain([server], {
      deadline: Date.now() + FAR_MS,
      idleGraceMs: FAR_MS,
      runHooks: async (connections) => {
        hooks.push(connections.length);
      },
    });
    assert.equal(serverSide.destroyed, false, 'the idle connection is kept at the start');
    assert.equal(server.listening, false, 'the server stops accepting at once');

    // An app that closes its server meanwhile (http.Server#close) does not destroy it either.
    server.close();
    assert.equal(serverSide.destroyed, false, 'http.Server#close does not close idle connections during a drain');

    const second = await get(port, agent, '/2');
    assert.equal(second.reused, true, 'the same connection carried the next request');
    assert.equal(second.socket, first.socket);
    assert.equal(second.res.statusCode, 200);
    assert.equal(second.body, 'hello /2');
    assert.equal(second.res.headers.connection, 'close');

    const r = await result;
    assert.equal(r.destroyed, 0);
    assert.deepEqual(hooks, [0], 'hooks ran once, with nothing left to hand them');
    assert.equal(serverSide.destroyed, true);

    // The listening socket is closed: a new connection is refused.
    const refused = net.connect(port, '127.0.0.1');
    t.after(() => refused.destroy());
    const [err] = await eventually(refused, 'error');
    assert.equal(err.code, 'ECONNREFUSED');
  });

  test('an idle keep-alive connection is closed after the idle grace', { timeout: TEST_MS }, async (t) => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const { port, sockets } = await serve(t, server);
    const agent = agentFor(t);
    const { socket: client } = await get(port, agent);
    const [serverSide] = sockets;
    const clientClosed = eventually(client, 'close');

    const result = drain([server], { deadline: Date.now() + FAR_MS, idleGraceMs: 100, runHooks: noHooks });
    assert.equal(serverSide.destroyed, false, 'not destroyed at the start');

    const r = await result;
    assert.equal(r.destroyed, 0, 'closed by the idle grace, not destroyed at the deadline');
    assert.equal(serverSide.destroyed, true);
    await clientClosed;
  });

  test('a request in flight at the start completes with 200 and Connection: close', { timeout: TEST_MS }, async (t) => {
    /** @type {(value?: unknown) => void} */
    let release;
    const released = new Promise((resolve) => (release = resolve));
    const server = http.createServer(async (_req, res) => {
      await released;
      res.end('finished');
    });
    const { port } = await serve(t, server);
    const agent = agentFor(t);
    const arrived = eventually(server, 'request');
    const response = get(port, agent);
    await arrived;

    const result = drain([server], { deadline: Date.now() + FAR_MS, idleGraceMs: 100, runHooks: noHooks });
    release();
    const { res, body } = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(body, 'finished');
    assert.equal(res.headers.connection, 'close');
    const r = await result;
    assert.equal(r.destroyed, 0);
  });

  test('a request whose headers went out before the start still closes its connection', {
    timeout: TEST_MS,
  }, async (t) => {
    /** @type {(value?: unknown) => void} */
    let finish;
    const finished = new Promise((resolve) => (finish = resolve));
    const server = http.createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part 1, ');
      await finished;
      res.end('part 2');
    });
    const { port } = await serve(t, server);
    const agent = agentFor(t);
    let serverRes;
    server.prependListener('request', (_req, res) => (serverRes = res));
    const response = get(port, agent);
    await until(() => serverRes?.headersSent, 'the response headers to be sent');

    const result = drain([server], { deadline: Date.now() + FAR_MS, idleGraceMs: 100, runHooks: noHooks });
    finish();
    const { res, body } = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(body, 'part 1, part 2');
    const r = await result;
    assert.equal(r.destroyed, 0);
  });

  test('hooks run after HTTP traffic has drained and get the upgraded connections', { timeout: TEST_MS }, async (t) => {
    const events = [];
    /** @type {(value?: unknown) => void} */
    let release;
    const released = new Promise((resolve) => (release = resolve));
    const server = http.createServer(async (_req, res) => {
      await released;
      res.end('late');
      res.on('finish', () => events.push('http response finished'));
    });
    let upgraded;
    server.on('upgrade', (_req, socket) => {
      upgraded = socket;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    });
    const { port, sockets } = await serve(t, server);

    // An upgraded connection, open for as long as the app keeps it.
    const ws = await connect(t, port);
    ws.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    await eventually(ws, 'data');
    assert.ok(upgraded);
    const wsEnded = eventually(ws, 'end');

    // An HTTP request in flight.
    const agent = agentFor(t);
    const arrived = eventually(server, 'request');
    const response = get(port, agent);
    await arrived;
    const httpSide = [...sockets].find((s) => s !== upgraded);
    httpSide.once('close', () => events.push('http connection closed'));

    /** @type {net.Socket[]} */
    let handed;
    const result = drain([server], {
      deadline: Date.now() + FAR_MS,
      idleGraceMs: 100,
      runHooks: async (connections) => {
        events.push('hooks');
        handed = connections;
        for (const c of connections) c.end();
      },
    });
    release();
    const { res } = await response;
    assert.equal(res.statusCode, 200);
    const r = await result;

    assert.deepEqual(events, ['http response finished', 'http connection closed', 'hooks']);
    assert.equal(handed.length, 1);
    assert.equal(handed[0], upgraded, 'the hooks get the upgraded connection, not the HTTP one');
    await wsEnded;
    assert.equal(r.destroyed, 0, 'the hook ended it before the deadline');
  });

  test('drain hooks start with the drain, while a request is in flight; the shutdown hooks wait for them', {
    timeout: TEST_MS,
  }, async (t) => {
    const events = [];
    /** @type {(value?: unknown) => void} */
    let release;
    const released = new Promise((resolve) => (release = resolve));
    const server = http.createServer(async (_req, res) => {
      await released;
      res.on('finish', () => events.push('http response finished'));
      res.end('late');
    });
    const { port } = await serve(t, server);
    const agent = agentFor(t);
    const arrived = eventually(server, 'request');
    const response = get(port, agent);
    await arrived;
    /** @type {(value?: unknown) => void} */
    let finishDrainHook;
    const drainHookWaits = new Promise((resolve) => (finishDrainHook = resolve));
    const result = drain([server], {
      deadline: Date.now() + FAR_MS,
      runDrainHooks: async () => {
        events.push('drain hook');
        release();
        await drainHookWaits;
        events.push('drain hook done');
      },
      runHooks: async () => {
        events.push('shutdown hooks');
      },
    });
    assert.equal((await response).res.statusCode, 200);
    await until(() => events.includes('http response finished'), 'the response to finish');
    finishDrainHook();
    assert.equal((await result).destroyed, 0);
    assert.deepEqual(events, ['drain hook', 'http response finished', 'drain hook done', 'shutdown hooks']);
  });

  test('at an upgrade (handOver): an idle connection goes to handOver, unread, and is let go once taken; one with a request partly read stays and is answered with Connection: close', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http.createServer((req, res) => res.end('old'));
    const { port, sockets } = await serve(t, server);
    const idle = await connect(t, port);
    const partial = await connect(t, port);
    partial.write('GET / HTTP/1.1\r\nhost: x\r\n');
    await new Promise((resolve) => {
      const look = () => ([...sockets].some((s) => s.bytesRead > 0) ? resolve() : setImmediate(look));
      look();
    });
    const idleClosed = eventually(idle, 'close');

    const handed = [];
    const result = drain([server], {
      deadline: Date.now() + FAR_MS,
      handOver: async (from, handle) => {
        handed.push({ from, fd: handle.fd });
        return true;
      },
      runHooks: noHooks,
    });
    assert.equal(handed.length, 1, 'only the idle connection is handed over');
    assert.equal(handed[0].from, server);
    assert.equal(typeof handed[0].fd, 'number');
    // Taken: this process's copy is closed; here nobody else holds the socket, so the client sees the close.
    await idleClosed;
    const answer = new Promise((resolve) => partial.setEncoding('utf8').on('data', (d) => resolve(d)));
    partial.write('\r\n');
    assert.match(await answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n/i);
    const r = await result;
    assert.equal(r.handedOver, 1);
    assert.equal(r.destroyed, 0);
  });
});

describe('drain: raw connections', () => {
  test('a raw net connection still open is handed to the hooks and destroyed at the deadline', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = net.createServer();
    const { port } = await serve(t, server);
    const accepted = eventually(server, 'connection');
    const client = await connect(t, port);
    const [serverSide] = await accepted;
    const clientClosed = eventually(client, 'close');

    const handed = [];
    const r = await drain([server], {
      deadline: Date.now() + 300,
      runHooks: async (connections) => {
        handed.push(connections);
      },
    });
    assert.equal(handed.length, 1, 'hooks ran once');
    assert.equal(handed[0].length, 1);
    assert.equal(handed[0][0], serverSide);
    assert.equal(r.destroyed, 1);
    assert.equal(serverSide.destroyed, true);
    await clientClosed;
  });

  test('a raw connection a hook ends is not counted as destroyed', { timeout: TEST_MS }, async (t) => {
    const server = net.createServer();
    const { port } = await serve(t, server);
    const accepted = eventually(server, 'connection');
    const client = await connect(t, port);
    await accepted;
    let said = '';
    client.setEncoding('utf8').on('data', (d) => (said += d));
    const clientEnded = eventually(client, 'end');
    const r = await drain([server], {
      deadline: Date.now() + FAR_MS,
      runHooks: async (connections) => {
        for (const c of connections) c.end('bye');
      },
    });
    await clientEnded;
    assert.equal(said, 'bye');
    assert.equal(r.destroyed, 0);
  });

  test('several servers drain together: only what is left at the deadline is destroyed', {
    timeout: TEST_MS,
  }, async (t) => {
    const web = http.createServer((_req, res) => res.end('ok'));
    const raw = net.createServer();
    const { port: webPort } = await serve(t, web);
    const { port: rawPort } = await serve(t, raw);
    const agent = agentFor(t);
    await get(webPort, agent);
    const accepted = eventually(raw, 'connection');
    await connect(t, rawPort);
    await connect(t, rawPort);
    await accepted;
    await until(
      async () => (await new Promise((resolve) => raw.getConnections((_e, n) => resolve(n)))) === 2,
      'two raw connections',
    );

    // The idle grace (20 ms) is far inside the deadline (2 s), so only the raw connections are left at it.
    const r = await drain([web, raw], { deadline: Date.now() + 2000, idleGraceMs: 20, runHooks: noHooks });
    assert.equal(r.destroyed, 2, 'the two raw connections; the idle HTTP one was closed by the grace');
    assert.equal(web.listening, false);
    assert.equal(raw.listening, false);
  });
});

describe('drain: HTTP/2', () => {
  test('an h2c session gets GOAWAY and its open stream completes', { timeout: TEST_MS }, async (t) => {
    /** @type {(value?: unknown) => void} */
    let release;
    const released = new Promise((resolve) => (release = resolve));
    const server = http2.createServer();
    server.on('stream', async (stream) => {
      await released;
      stream.respond({ ':status': 200 });
      stream.end('h2 done');
    });
    const { port } = await serve(t, server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    t.after(() => client.destroy());

    const arrived = eventually(server, 'stream');
    const req = client.request({ ':path': '/' });
    req.setEncoding('utf8');
    let body = '';
    req.on('data', (d) => (body += d));
    const responded = eventually(req, 'response');
    const ended = eventually(req, 'end');
    await arrived;

    const goaway = eventually(client, 'goaway');
    const clientClosed = eventually(client, 'close');
    const result = drain([server], { deadline: Date.now() + FAR_MS, runHooks: noHooks });
    const [code] = await goaway;
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);

    release();
    const [headers] = await responded;
    assert.equal(headers[':status'], 200);
    await ended;
    assert.equal(body, 'h2 done');
    const r = await result;
    assert.equal(r.destroyed, 0, 'the session closed by itself once its stream was done');
    await clientClosed;
  });
});

describe('drain: HTTP/2 at the deadline', () => {
  test('a stream still open is cut by dropping its connection, not by a stream reset with NO_ERROR', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.write('first part');
    });
    const { port } = await serve(t, server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    t.after(() => client.destroy());
    const req = client.request({ ':path': '/' });
    req.on('error', () => {});
    await eventually(req, 'data');
    const streamClosed = eventually(req, 'close');
    const clientClosed = eventually(client, 'close');

    const r = await drain([server], { deadline: Date.now() + 300, runHooks: noHooks });
    assert.equal(r.destroyed, 1, 'the one connection');
    await streamClosed;
    assert.notEqual(
      req.rstCode,
      http2.constants.NGHTTP2_NO_ERROR,
      'no RST_STREAM(NO_ERROR), which gRPC clients read as INTERNAL',
    );
    await clientClosed;
  });
});

describe('drain: HTTP/2, the two-step GOAWAY on a session that carried requests', () => {
  test('a request sent before the client saw the GOAWAY, on an idle session, is served: Node stops reading a session with a GOAWAY out and no stream open, so that stream is held open until the PING is back', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`ok ${headers[':path']}`);
    });
    const { port } = await serve(t, server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    t.after(() => client.destroy());
    const request = (path) =>
      new Promise((resolve) => {
        const req = client.request({ ':path': path });
        req.resume();
        req.on('response', (h) => resolve(h[':status']));
        req.on('error', (err) => resolve(err.message));
      });
    assert.equal(await request('/1'), 200);

    // The drain and the request start in the same turn: the client writes its
    // HEADERS before it can read the server's GOAWAY.
    const result = drain([server], { deadline: Date.now() + FAR_MS, runHooks: noHooks });
    const second = request('/2');
    assert.equal(await second, 200);
    assert.equal((await result).destroyed, 0);
  });
});

describe('drain: HTTP/2 under load', () => {
  test('requests on three lanes of one session with pauses between them, the drain starting among them: each is served, or named unprocessed by the final GOAWAY (a client sends it again); none refused or failed', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http2.createServer();
    server.on('stream', (stream) =>
      setImmediate(() => {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }),
    );
    const { port } = await serve(t, server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    t.after(() => client.destroy());
    let goneAway = false;
    // The last GOAWAY's last stream id: the streams above it the server never processed.
    let lastStreamID = 2 ** 31 - 1;
    client.on('goaway', (_code, last) => {
      goneAway = true;
      lastStreamID = last;
    });
    const closed = once(client, 'close');
    /** @type {{ served: number, ended: { id: number | undefined, rstCode: number | undefined, error?: string }[] }} */
    const outcomes = { served: 0, ended: [] };
    const lane = async () => {
      // 500 requests bound the loop.
      for (let i = 0; i < 500; i++) {
        // A pause between requests, as a client with work of its own makes: the session has moments with no stream open.
        await new Promise((resolve) => setTimeout(resolve, 5));
        // A real client opens no stream once it has seen the GOAWAY: it looks as it sends, not before its pause, in
        // which the GOAWAY may come and the session end (request() would then throw).
        if (goneAway) break;
        await new Promise((resolve) => {
          const req = client.request({ ':path': '/' });
          let status;
          let error;
          req.resume();
          req.on('response', (h) => (status = h[':status']));
          req.on('error', (err) => (error = err.code ?? err.message));
          req.on('close', () => {
            if (status === 200) outcomes.served++;
            else outcomes.ended.push({ id: req.id, rstCode: req.rstCode, ...(error ? { error } : {}) });
            resolve(undefined);
          });
        });
      }
    };
    const lanes = Array.from({ length: 3 }, lane);
    await eventually(server, 'stream');
    const result = await drain([server], { deadline: Date.now() + FAR_MS, runHooks: noHooks });
    await Promise.all(lanes);
    await closed;
    // nghttp2 ignores a stream that arrives once a GOAWAY is out (src/drain/http2.ts): one that crossed it on the wire
    // is above the final GOAWAY's last stream id, closed as REFUSED_STREAM, and sent again by a real client.
    const unprocessed = outcomes.ended.filter(
      (e) => e.id !== undefined && e.id > lastStreamID && e.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM,
    );
    assert.deepEqual(
      outcomes.ended.filter((e) => !unprocessed.includes(e)),
      [],
      'every request was served or named unprocessed',
    );
    t.diagnostic(
      `${outcomes.served} served, ${unprocessed.length} unprocessed (final GOAWAY: last stream ${lastStreamID})`,
    );
    assert.ok(goneAway, 'the client was told GOAWAY');
    assert.ok(outcomes.served > 0);
    assert.equal(result.destroyed, 0);
  });
});

/** One HTTP/2 frame: a 9-byte header and its payload. */
function h2Frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** A GET of `path` as one HEADERS block (HPACK: static :method GET and :scheme http, literal :path and :authority). */
const h2Get = (path) =>
  Buffer.concat([
    Buffer.from([0x82, 0x86, 0x44, path.length]),
    Buffer.from(path),
    Buffer.from([0x41, 9, ...Buffer.from('127.0.0.1')]),
  ]);

describe('drain: HTTP/2, a stream that crosses the first GOAWAY', () => {
  test("nghttp2 ignores it, and the final GOAWAY's last stream id names it unprocessed, so that a client sends it again", {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http2.createServer();
    const paths = [];
    server.on('stream', (stream, headers) => {
      paths.push(headers[':path']);
      // The first stream is still open when the drain starts: the session stays readable, its end held for the PING.
      setImmediate(() => {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      });
      if (paths.length === 1) void drain([server], { deadline: Date.now() + FAR_MS, runHooks: noHooks });
    });
    const { port } = await serve(t, server);
    const sock = net.connect(port, '127.0.0.1');
    t.after(() => sock.destroy());
    const [HEADERS, SETTINGS, PING, GOAWAY] = [1, 4, 6, 7];
    const ACK = 1;
    const END_STREAM_HEADERS = 5;
    sock.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        h2Frame(SETTINGS, 0, 0),
        h2Frame(HEADERS, END_STREAM_HEADERS, 1, h2Get('/first')),
      ]),
    );
    const goaways = [];
    let buffered = Buffer.alloc(0);
    sock.on('data', (d) => {
      buffered = Buffer.concat([buffered, d]);
      for (let length; buffered.length >= 9 && buffered.length >= 9 + (length = buffered.readUIntBE(0, 3)); ) {
        const [type, flags, payload] = [buffered[3], buffered[4], buffered.subarray(9, 9 + length)];
        buffered = buffered.subarray(9 + length);
        if (type === SETTINGS && !(flags & ACK)) sock.write(h2Frame(SETTINGS, ACK, 0));
        if (type === PING && !(flags & ACK)) sock.write(h2Frame(PING, ACK, 0, payload));
        if (type !== GOAWAY) continue;
        goaways.push(payload.readUInt32BE(0) & 0x7fffffff);
        // A request the client had sent before it read the GOAWAY: on the wire right behind it.
        if (goaways.length === 1) sock.write(h2Frame(HEADERS, END_STREAM_HEADERS, 3, h2Get('/crossing')));
      }
    });
    await once(sock, 'close');
    assert.deepEqual(paths, ['/first'], 'the crossing stream never reached the app');
    assert.equal(goaways[0], 2 ** 31 - 1, 'the first GOAWAY names the largest stream id');
    assert.equal(goaways.at(-1), 1, 'the final GOAWAY names stream 1 the last processed: stream 3 is to be sent again');
  });
});

const RESTART = closeFrameFor('upgrade');

/** A WebSocket client of `port`, closed in t.after(); resolves once open, with a promise of its close code and reason. */
async function wsClient(t, port, options = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, options);
  t.after(() => ws.terminate());
  const closed = new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  ws.on('error', () => {});
  await eventually(ws, 'open');
  return { ws, closed };
}

/**
 * An HTTP server that answers WebSocket upgrades by hand, and reads what comes, with no library attached; `onOpen` gets each socket.
 * @param {(socket: import('node:stream').Duplex) => void} [onOpen]
 */
function handMadeWebSocketServer(onOpen = () => {}) {
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket) => {
    const accept = crypto
      .createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.resume();
    onOpen(socket);
  });
  return server;
}

/** One unmasked binary frame of `length` bytes of `fill`, as a server writes it (64-bit length). */
function binaryFrame(length, fill) {
  const header = Buffer.alloc(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([header, Buffer.alloc(length, fill)]);
}

describe('drain: WebSockets', () => {
  test('ws clients are told 1012 through the library, which learns its sockets are closing; nothing is cut', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const serverCloses = [];
    wss.on('connection', (ws) => ws.on('close', (code) => serverCloses.push(code)));
    const { port } = await serve(t, server);
    const clients = await Promise.all([1, 2, 3].map(() => wsClient(t, port)));
    await until(() => wss.clients.size === 3, 'three server-side WebSockets');

    const r = await drain([server], { deadline: Date.now() + FAR_MS, webSocketClose: RESTART, runHooks: noHooks });
    for (const c of clients) assert.deepEqual(await c.closed, { code: 1012, reason: 'service restart' });
    assert.deepEqual(serverCloses, [1012, 1012, 1012], "ws's own WebSockets closed with the code");
    assert.equal(r.destroyed, 0);
  });

  test('with no library attached, baton writes the close frame, after a large frame the app is still writing, and ends the connection', {
    timeout: TEST_MS,
  }, async (t) => {
    const big = 16 * 1024 * 1024;
    /** @type {import('node:stream').Duplex} */
    let serverSide;
    const server = handMadeWebSocketServer((socket) => (serverSide = socket));
    const { port } = await serve(t, server);
    const client = await wsClient(t, port);
    const messages = [];
    // Binary messages arrive as Buffers (ws's default binaryType).
    client.ws.on('message', (/** @type {Buffer} */ m) => messages.push(m.length));
    client.ws.pause();
    serverSide.write(binaryFrame(big, 7));
    assert.ok(serverSide.writableLength > 0, 'part of the frame is still queued: the client is not reading');

    const result = drain([server], { deadline: Date.now() + FAR_MS, webSocketClose: RESTART, runHooks: noHooks });
    client.ws.resume();
    assert.deepEqual(
      await client.closed,
      { code: 1012, reason: 'service restart' },
      'not 1002: no frame was corrupted',
    );
    assert.deepEqual(messages, [big], 'the whole frame came first');
    assert.equal((await result).destroyed, 0, 'baton ended the connection after the close handshake');
  });

  test('a WebSocket opened after the drain started is told at once', { timeout: TEST_MS }, async (t) => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const { port } = await serve(t, server);
    const accepted = eventually(server, 'connection');
    const socket = await connect(t, port);
    await accepted;
    const result = drain([server], { deadline: Date.now() + FAR_MS, webSocketClose: RESTART, runHooks: noHooks });
    let received = Buffer.alloc(0);
    socket.on('data', (d) => (received = Buffer.concat([received, d])));
    const key = crypto.randomBytes(16).toString('base64');
    socket.write(
      `GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
    );
    await eventually(wss, 'connection');
    const ended = eventually(socket, 'end');
    await until(() => received.includes(Buffer.from('service restart')), 'the close frame');
    const frame = received.subarray(received.indexOf('\r\n\r\n') + 4);
    assert.deepEqual([...frame.subarray(0, 4)], [0x88, 17, 0x03, 0xf4], 'a close frame with 1012');
    socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xf4])); // the client's masked answer
    await ended;
    assert.equal((await result).destroyed, 0);
  });

  test('an upgrade to another protocol is left to the hooks', { timeout: TEST_MS }, async (t) => {
    const server = http.createServer();
    server.on('upgrade', (_req, socket) =>
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\n'),
    );
    const { port } = await serve(t, server);
    const lines = await connect(t, port);
    lines.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\n');
    await eventually(lines, 'data');
    const handed = [];
    const r = await drain([server], {
      deadline: Date.now() + 300,
      webSocketClose: RESTART,
      runHooks: async (c) => {
        handed.push(c.length);
      },
    });
    assert.deepEqual(handed, [1], 'the hooks got it');
    assert.equal(r.destroyed, 1, 'and it was cut at the deadline');
  });

  test('with the close turned off, WebSockets are left to the hooks', { timeout: TEST_MS }, async (t) => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const { port } = await serve(t, server);
    const client = await wsClient(t, port);
    await until(() => wss.clients.size === 1, 'the server-side WebSocket');
    const r = await drain([server], {
      deadline: Date.now() + FAR_MS,
      runHooks: async (connections) => {
        assert.equal(connections.length, 1);
        for (const ws of wss.clients) ws.close(4000, 'closed by the app');
      },
    });
    assert.deepEqual(await client.closed, { code: 4000, reason: 'closed by the app' });
    assert.equal(r.destroyed, 0);
  });
});

/** Waits until `cond()` holds, bounded. */
async function until(cond, what, ms = FAR_MS) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("the app's own server.close() during the drain (src/drain/close.ts)", () => {
  test('close(cb) while baton drains: no ERR_SERVER_NOT_RUNNING, cb once the request in flight is answered; a later close(cb) is told at once', {
    timeout: TEST_MS,
  }, async (t) => {
    /** @type {() => void} */
    let answer;
    const server = http.createServer((req, res) => (answer = () => res.end('done')));
    const { port } = await serve(t, server);
    const agent = agentFor(t);
    const inFlight = get(port, agent);
    await until(() => answer, 'the request to arrive');
    const events = [];
    const drained = drain([server], { deadline: Date.now() + FAR_MS, runHooks: noHooks });
    server.close((/** @type {NodeJS.ErrnoException} */ err) => events.push(`closed ${err?.code ?? 'ok'}`));
    answer();
    events.push(`answered ${(await inFlight).body}`);
    await drained;
    const { closed, results } = releaseClose([server]);
    await Promise.all(results);
    assert.equal(closed, true);
    assert.deepEqual(events, ['answered done', 'closed ok']);
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('Server-Sent Events (src/drain/event-stream.ts)', () => {
  /** An event-stream server; `streams` counts the streams it has begun. */
  const sse = () => {
    const server = /** @type {http.Server & { streams: number }} */ (
      http.createServer((req, res) => {
        if (req.url !== '/events') return res.end('plain');
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: hello\n\n');
        server.streams++;
        const tick = setInterval(() => res.write('data: tick\n\n'), 50);
        res.on('close', () => clearInterval(tick));
      })
    );
    server.streams = 0;
    return server;
  };

  test('a stream open as the drain starts, and one a kept-alive connection opens during it, each end cleanly; nothing is cut', {
    timeout: TEST_MS,
  }, async (t) => {
    const server = sse();
    const { port } = await serve(t, server);
    const open = get(port, agentFor(t), '/events');
    const agent = agentFor(t);
    assert.equal((await get(port, agent, '/plain')).body, 'plain');
    await until(() => server.streams === 1, 'the first stream');
    const drained = drain([server], {
      deadline: Date.now() + FAR_MS,
      idleGraceMs: FAR_MS,
      endEventStreams: true,
      runHooks: noHooks,
    });
    const late = await get(port, agent, '/events');
    assert.equal(late.reused, true, 'sent on the kept-alive connection');
    assert.match(late.body, /^data: hello\n\n/);
    assert.match((await open).body, /^data: hello\n\n/);
    assert.equal((await drained).destroyed, 0);
  });
});
