// Unit tests for dist/listeners/route.js: the listen router (Listeners), with
// real net/http servers and dgram sockets on loopback and real listen and bind calls. Node's own
// net.Server.prototype.listen is passed as `original` (nothing here imports
// batonjs/register, so it is unpatched). Inherited sockets are real bound, not
// listening, handles from bindTcp()/bindPath(), in the shape inherit() gives.
//
// What the tests decide on is observable: server.address(), the fds and names
// passable() lists, 'error' events, connections a server accepts, fds being
// open or closed. Every server and handle is closed in t.after().
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Listeners } from '../../dist/listeners/route.js';
import { bindPath, bindTcp, fdOf } from '../../dist/internals/handles.js';
import { bindUdp, datagramFdOf } from '../../dist/internals/dgram.js';

const original = net.Server.prototype.listen;
const cwd = process.cwd();
const TEST_MS = 10_000;
const isIPv6 = net.isIPv6;
/** @typedef {import('../../dist/listeners/inherit.js').Inherited} Inherited */
/** @param {string} host @param {number} port */
const nameOf = (host, port) => `tcp:${isIPv6(host) ? `[${host}]` : host}:${port}`;

/**
 * Handles passed to listen({fd}) share their fd with the server Node makes of
 * it: kept referenced here so that the garbage collector never closes an fd
 * number the server has closed (and something else may have reused) already.
 */
const sharedFdHandles = [];

/**
 * Resolves with the first 'listening' or rejects with the first 'error' of `server`, bounded.
 * @param {import('node:events').EventEmitter} server
 * @returns {Promise<'listening'>}
 */
function outcome(server, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`neither 'listening' nor 'error' within ${ms} ms`)), ms);
    const done = (fn) => (v) => {
      clearTimeout(timer);
      server.off('listening', onListening);
      server.off('error', onError);
      fn(v);
    };
    const onListening = done(() => resolve('listening'));
    const onError = done(reject);
    server.once('listening', onListening);
    server.once('error', onError);
  });
}

/**
 * A port free on `host` a moment ago.
 * @returns {Promise<number>}
 */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Per-test bookkeeping: servers and handles made, all closed in t.after().
 * @param {import('node:test').TestContext} t
 */
function fixture(t) {
  /** @type {(net.Server & { _handle?: unknown })[]} */
  const servers = [];
  /** @type {import('../../dist/internals/handles.js').NativeHandle[]} */
  const handles = [];
  t.after(() => {
    // A handle a server listens on is that server's _handle and closes with it.
    const owned = new Set(servers.map((s) => s._handle));
    for (const h of handles) if (!owned.has(h)) h.close();
    for (const s of servers) if (s.listening) s.close();
  });
  const server = (kind = 'net') => {
    const s = kind === 'http' ? http.createServer((_req, res) => res.end('ok')) : net.createServer((c) => c.end('hi'));
    servers.push(s);
    return s;
  };
  /** A real TCP socket bound (not listening) on `host` at a free port, as a previous generation passes it. */
  const bound = async (/** @type {string} */ host) => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort(host);
      const handle = bindTcp(host, port);
      if (handle instanceof Error) continue;
      handles.push(handle);
      return { handle, port, fd: handle.fd };
    }
    throw new Error(`no free port on ${host}`);
  };
  /**
   * An Inherited entry for a socket bound on `host`.
   * @param {string} host
   * @param {{ name?: string, address?: boolean }} [options]
   */
  const inherited = async (host, { name, address = true } = {}) => {
    const b = await bound(host);
    return {
      ...b,
      /** @type {Inherited} */
      entry: {
        fd: b.fd,
        name: name ?? nameOf(host, b.port),
        address: address ? { kind: 'tcp', host, port: b.port } : undefined,
        handle: b.handle,
        adopted: false,
      },
    };
  };
  return { server, bound, inherited, servers, handles };
}

/** Connects to `port` on `host` and resolves with what the server says (the net servers here say 'hi'). */
async function greet(port, host = '127.0.0.1') {
  const c = net.connect(port, host);
  c.setEncoding('utf8');
  let said = '';
  c.on('data', (d) => (said += d));
  try {
    await once(c, 'end');
  } finally {
    c.destroy();
  }
  return said;
}

/** listen() an address no socket serves, retrying another port if one was taken meanwhile (bounded). */
async function listenAnew(l, server, host, extra = []) {
  for (let i = 0; i < 5; i++) {
    const port = await freePort(host);
    const o = outcome(server);
    l.listen(server, [port, host, ...extra], original);
    try {
      await o;
      return port;
    } catch (err) {
      if (err.code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error('no port could be bound');
}

describe('Listeners: standalone (no acquire)', () => {
  test('an address no inherited socket serves is bound anew', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const other = await f.inherited('127.0.0.1');
    const l = new Listeners([other.entry], cwd);
    const heard = [];
    l.onListening = (s) => heard.push(s);
    const server = f.server();
    const port = await listenAnew(l, server, '127.0.0.1');
    assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port });
    assert.notEqual(fdOf(server), other.fd, 'a new socket, not the inherited one');
    assert.deepEqual(l.passable(), [{ fd: fdOf(server), name: `tcp:127.0.0.1:${port}` }]);
    assert.deepEqual(l.servers(), [server]);
    assert.deepEqual(heard, [server], 'onListening heard it');
    assert.equal(await greet(port), 'hi');
    assert.equal(other.entry.adopted, false);
    assert.deepEqual(
      l.unadopted().map((i) => i.name),
      [other.entry.name],
      'the inherited socket is still there for another server',
    );
  });

  test('a matching listen adopts the inherited socket (exact host), with its callback', {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const l = new Listeners([inh.entry], cwd);
    const server = f.server();
    let called = 0;
    const o = outcome(server);
    assert.equal(
      l.listen(server, [inh.port, '127.0.0.1', () => called++], original),
      server,
      'listen() returns the server',
    );
    await o;
    assert.equal(called, 1);
    assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port: inh.port });
    assert.equal(fdOf(server), inh.fd, 'the server listens on the inherited fd');
    assert.deepEqual(l.passable(), [{ fd: inh.fd, name: `tcp:127.0.0.1:${inh.port}` }]);
    assert.deepEqual(l.unadopted(), []);
    assert.equal(await greet(inh.port), 'hi');
  });

  test('an options object ({ port, host, backlog }) adopts the inherited socket too', {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const l = new Listeners([inh.entry], cwd);
    const server = f.server('http');
    const o = outcome(server);
    l.listen(server, [{ port: inh.port, host: '127.0.0.1', backlog: 16 }], original);
    await o;
    assert.equal(fdOf(server), inh.fd);
    const res = await fetch(`http://127.0.0.1:${inh.port}/`);
    assert.equal(await res.text(), 'ok');
  });

  for (const wildcard of ['0.0.0.0', '::']) {
    test(`a listen with no host adopts an inherited ${wildcard} socket`, { timeout: TEST_MS }, async (t) => {
      const f = fixture(t);
      const inh = await f.inherited(wildcard);
      const l = new Listeners([inh.entry], cwd);
      const server = f.server();
      const o = outcome(server);
      l.listen(server, [inh.port], original);
      await o;
      assert.equal(/** @type {net.AddressInfo} */ (server.address()).address, wildcard);
      assert.equal(/** @type {net.AddressInfo} */ (server.address()).port, inh.port);
      assert.equal(fdOf(server), inh.fd);
      assert.deepEqual(l.passable(), [{ fd: inh.fd, name: nameOf(wildcard, inh.port) }]);
      assert.equal(await greet(inh.port), 'hi');
    });
  }

  test("a second server asking for the same address gets Node's EADDRINUSE", { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const l = new Listeners([inh.entry], cwd);
    const first = f.server();
    const o1 = outcome(first);
    l.listen(first, [inh.port, '127.0.0.1'], original);
    await o1;

    const second = f.server();
    const o2 = outcome(second);
    l.listen(second, [inh.port, '127.0.0.1'], original);
    await assert.rejects(
      o2,
      (/** @type {NodeJS.ErrnoException & { port?: number }} */ err) =>
        err.code === 'EADDRINUSE' && err.syscall === 'listen' && err.port === inh.port,
    );
    assert.equal(second.listening, false);
    assert.deepEqual(l.servers(), [first]);
    assert.deepEqual(l.passable(), [{ fd: inh.fd, name: `tcp:127.0.0.1:${inh.port}` }]);

    // The failed server can listen elsewhere: it is recorded once, at its new address.
    const port = await listenAnew(l, second, '127.0.0.1');
    assert.deepEqual(
      l
        .passable()
        .map((p) => p.name)
        .sort(),
      [`tcp:127.0.0.1:${inh.port}`, `tcp:127.0.0.1:${port}`].sort(),
    );
    assert.equal(l.servers().length, 2);
  });

  test('passable() lists the fd and name of every listening server, and drops a closed one', {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const exact = await f.inherited('127.0.0.1');
    const wild = await f.inherited('::');
    const l = new Listeners([exact.entry, wild.entry], cwd);
    const a = f.server();
    const b = f.server('http');
    const c = f.server();
    const oa = outcome(a);
    const ob = outcome(b);
    l.listen(a, [exact.port, '127.0.0.1'], original);
    l.listen(b, [{ port: wild.port }], original);
    await Promise.all([oa, ob]);
    const port = await listenAnew(l, c, '127.0.0.1');
    const byName = (x, y) => x.name.localeCompare(y.name);
    assert.deepEqual(
      l.passable().sort(byName),
      [
        { fd: exact.fd, name: `tcp:127.0.0.1:${exact.port}` },
        { fd: fdOf(c), name: `tcp:127.0.0.1:${port}` },
        { fd: wild.fd, name: `tcp:[::]:${wild.port}` },
      ].sort(byName),
    );
    for (const { fd } of l.passable()) assert.equal(fs.fstatSync(fd).isSocket(), true);

    a.close();
    await once(a, 'close');
    assert.deepEqual(
      l
        .passable()
        .map((p) => p.name)
        .sort(),
      [`tcp:127.0.0.1:${port}`, `tcp:[::]:${wild.port}`].sort(),
    );
    assert.equal(l.servers().includes(a), false);
  });

  test('a host name (localhost) is resolved before it is matched', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const { address: ip } = await dns.promises.lookup('localhost');
    const inh = await f.inherited(ip);
    const l = new Listeners([inh.entry], cwd);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [inh.port, 'localhost'], original);
    await o;
    assert.equal(fdOf(server), inh.fd, 'localhost matched the socket bound at its address');
    assert.deepEqual(l.passable(), [{ fd: inh.fd, name: nameOf(ip, inh.port) }]);
    assert.equal(await greet(inh.port, ip), 'hi');
  });

  test('port 0 is left to Node', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const l = new Listeners([inh.entry], cwd);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [0, '127.0.0.1'], original);
    await o;
    assert.ok(/** @type {net.AddressInfo} */ (server.address()).port > 0);
    assert.notEqual(
      /** @type {net.AddressInfo} */ (server.address()).port,
      inh.port,
      'an ephemeral port of its own, not an inherited socket',
    );
    assert.notEqual(fdOf(server), inh.fd);
    assert.deepEqual(l.servers(), [server], 'it is recorded as listening');
    assert.equal(inh.entry.adopted, false);
  });

  test('port 0 is not passable (its address is undefined)', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const l = new Listeners([], cwd);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [0, '127.0.0.1'], original);
    await o;
    assert.deepEqual(l.passable(), []);
  });

  test('a new unix path is bound without the server owning it; the router owns it', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-route-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'app.sock');
    const l = new Listeners([], dir);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, ['app.sock'], original);
    await o;
    assert.deepEqual(
      l.passable(),
      [{ fd: fdOf(server), name: `unix:${sock}` }],
      'a relative path is resolved against cwd',
    );
    assert.deepEqual(l.ownedPaths(), [sock]);
    assert.equal(
      await new Promise((resolve, reject) => {
        const c = net.connect(sock);
        let said = '';
        c.setEncoding('utf8')
          .on('data', (d) => (said += d))
          .on('end', () => resolve(said))
          .on('error', reject);
      }),
      'hi',
    );
    server.close();
    await once(server, 'close');
    assert.equal(
      fs.existsSync(sock),
      true,
      'closing the server leaves the path: the router removes it at a final stop',
    );
  });

  test('a server listening on a unix path reports the path as its address(), as without baton', {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-route-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'app.sock');
    const l = new Listeners([], dir);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [sock], original);
    await o;
    assert.equal(server.address(), sock);
  });

  test('an AbortSignal given with an adopted address closes the server', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const l = new Listeners([inh.entry], cwd);
    const server = f.server();
    const ac = new AbortController();
    const o = outcome(server);
    l.listen(server, [{ port: inh.port, host: '127.0.0.1', signal: ac.signal }], original);
    await o;
    const closed = once(server, 'close');
    ac.abort();
    await closed;
    assert.equal(server.listening, false);
    assert.deepEqual(l.servers(), [], 'a closed server is no longer recorded');
  });

  test('closeUnadopted() closes what no server took, and returns their names', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const taken = await f.inherited('127.0.0.1');
    const left = await f.inherited('127.0.0.1');
    const label = await f.inherited('127.0.0.1', { name: 'metrics', address: false });
    const l = new Listeners([taken.entry, left.entry, label.entry], cwd);
    assert.deepEqual(
      l.unadopted().map((i) => i.name),
      [taken.entry.name, left.entry.name],
      'a socket whose address is unknown is never offered',
    );

    const server = f.server();
    const o = outcome(server);
    l.listen(server, [taken.port, '127.0.0.1'], original);
    await o;
    assert.deepEqual(
      l.unadopted().map((i) => i.name),
      [left.entry.name],
    );

    const closed = l.closeUnadopted();
    assert.deepEqual(closed, [left.entry.name, 'metrics']);
    for (const fd of [left.fd, label.fd]) {
      assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' }, `fd ${fd} is closed`);
    }
    assert.equal(fs.fstatSync(taken.fd).isSocket(), true, 'the adopted socket stays open');
    assert.equal(await greet(taken.port), 'hi', 'and keeps serving');
    assert.deepEqual(l.unadopted(), []);
    assert.deepEqual(l.closeUnadopted(), [], 'nothing is closed twice');
  });
});

describe('Listeners: supervised (with acquire)', () => {
  /** An acquire that records its calls and answers with `answer(address)`. */
  function acquireSpy(answer) {
    const calls = [];
    const acquire = async (address) => {
      calls.push(address);
      return answer(address);
    };
    return { calls, acquire };
  }

  test('an address no inherited socket serves is asked of acquire, and served on the socket it gives', {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const given = await f.bound('127.0.0.1');
    const spy = acquireSpy((address) => ({ handle: given.handle, address }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [given.port, '127.0.0.1'], original);
    await o;
    assert.deepEqual(spy.calls, [{ kind: 'tcp', host: '127.0.0.1', port: given.port }]);
    assert.equal(fdOf(server), given.fd);
    assert.deepEqual(l.passable(), [{ fd: given.fd, name: `tcp:127.0.0.1:${given.port}` }]);
    assert.equal(await greet(given.port), 'hi');
  });

  test("acquire's error reaches the server's error event", { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const port = await freePort();
    const failure = Object.assign(new Error('listen EACCES: the master cannot bind'), { code: 'EACCES' });
    const spy = acquireSpy(() => ({ error: failure }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [port, '127.0.0.1'], original);
    await assert.rejects(o, (err) => err === failure);
    assert.equal(spy.calls.length, 1);
    assert.equal(server.listening, false);
    assert.deepEqual(l.servers(), []);
  });

  test('an inherited socket is adopted without asking acquire', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const spy = acquireSpy(() => ({ error: new Error('must not be asked') }));
    const l = new Listeners([inh.entry], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [inh.port, '127.0.0.1'], original);
    await o;
    assert.deepEqual(spy.calls, []);
    assert.equal(fdOf(server), inh.fd);
  });

  test("a second server asking for a taken address is not asked of acquire: Node's EADDRINUSE", {
    timeout: TEST_MS,
  }, async (t) => {
    const f = fixture(t);
    const inh = await f.inherited('127.0.0.1');
    const spy = acquireSpy(() => ({ error: new Error('must not be asked') }));
    const l = new Listeners([inh.entry], cwd, spy.acquire);
    const first = f.server();
    const o1 = outcome(first);
    l.listen(first, [inh.port, '127.0.0.1'], original);
    await o1;
    const second = f.server();
    const o2 = outcome(second);
    l.listen(second, [inh.port, '127.0.0.1'], original);
    await assert.rejects(o2, { code: 'EADDRINUSE' });
    assert.deepEqual(spy.calls, []);
  });

  test('port 0 is left to Node: acquire is not asked', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const spy = acquireSpy(() => ({ error: new Error('must not be asked') }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [0, '127.0.0.1'], original);
    await o;
    assert.ok(/** @type {net.AddressInfo} */ (server.address()).port > 0);
    assert.deepEqual(spy.calls, []);
    assert.deepEqual(l.servers(), [server]);
  });

  /** A server that listen({ fd })s on a bound socket; Node closes the fd with the server. */
  async function listenOnFd(t) {
    const f = fixture(t);
    const b = await f.bound('127.0.0.1');
    // Node makes its own handle of this fd and closes it with the server: the
    // bound handle must not close it again.
    f.handles.splice(f.handles.indexOf(b.handle), 1);
    sharedFdHandles.push(b.handle);
    const spy = acquireSpy(() => ({ error: new Error('must not be asked') }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [{ fd: b.fd }], original);
    await o;
    return { b, spy, l, server };
  }

  test('listen({ fd }) is not passable (its address is undefined)', { timeout: TEST_MS }, async (t) => {
    const { l } = await listenOnFd(t);
    assert.deepEqual(l.passable(), []);
  });

  test('listen(handle) is not passable (its address is undefined)', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const b = await f.bound('127.0.0.1');
    const l = new Listeners([], cwd, acquireSpy(() => ({ error: new Error('must not be asked') })).acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [b.handle], original);
    await o;
    assert.deepEqual(l.passable(), []);
  });

  test('listen({ fd }) is left to Node: acquire is not asked', { timeout: TEST_MS }, async (t) => {
    const { b, spy, l, server } = await listenOnFd(t);
    assert.equal(/** @type {net.AddressInfo} */ (server.address()).port, b.port);
    assert.deepEqual(spy.calls, []);
    assert.deepEqual(l.servers(), [server]);
    assert.equal(await greet(b.port), 'hi');
  });

  test('listen(handle) is left to Node: acquire is not asked', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const b = await f.bound('127.0.0.1');
    const spy = acquireSpy(() => ({ error: new Error('must not be asked') }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [b.handle], original);
    await o;
    assert.equal(fdOf(server), b.fd, 'Node listens on the handle as it is');
    assert.deepEqual(spy.calls, []);
    assert.deepEqual(l.servers(), [server]);
  });

  test('a unix path is asked of acquire too, and the worker does not own it', { timeout: TEST_MS }, async (t) => {
    const f = fixture(t);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-route-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'w.sock');
    const handle = bindPath(sock);
    assert.ok(!(handle instanceof Error));
    f.handles.push(handle);
    const spy = acquireSpy((address) => ({ handle, address }));
    const l = new Listeners([], cwd, spy.acquire);
    const server = f.server();
    const o = outcome(server);
    l.listen(server, [sock], original);
    await o;
    assert.deepEqual(spy.calls, [{ kind: 'unix', path: sock }]);
    assert.deepEqual(l.passable(), [{ fd: handle.fd, name: `unix:${sock}` }]);
    assert.deepEqual(l.ownedPaths(), [], 'the master owns the path');
  });
});

describe('Listeners: dgram sockets', () => {
  const bind = dgram.Socket.prototype.bind;

  /**
   * A UDP socket bound (not reading) on 127.0.0.1 at a free port, as a master or a predecessor passes it.
   * @param {import('node:test').TestContext} t
   */
  async function boundUdp(t) {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      const handle = bindUdp('127.0.0.1', port);
      if (handle instanceof Error) continue;
      t.after(() => handle.close());
      /** @type {import('../../dist/listeners/address.js').Address} */
      const address = { kind: 'udp', host: '127.0.0.1', port };
      return { handle, port, address };
    }
    throw new Error('no free UDP port');
  }

  /**
   * A socket that answers 'hi' to each datagram, closed when the test ends.
   * @param {import('node:test').TestContext} t
   */
  function echo(t) {
    const s = dgram.createSocket('udp4', (_m, from) => s.send('hi', from.port, from.address));
    t.after(() => s.close());
    return s;
  }

  async function ask(t, port) {
    const c = dgram.createSocket('udp4');
    t.after(() => c.close());
    const answer = once(c, 'message');
    c.send('?', port, '127.0.0.1');
    return String((await answer)[0]);
  }

  test('a bind() that an inherited UDP socket serves reads from it, with its callback; passable() lists its fd as udp:', {
    timeout: TEST_MS,
  }, async (t) => {
    const b = await boundUdp(t);
    const l = new Listeners(
      [{ fd: b.handle.fd, name: `udp:127.0.0.1:${b.port}`, address: b.address, handle: b.handle, adopted: false }],
      cwd,
    );
    const s = echo(t);
    await new Promise((resolve) => l.bind(s, [b.port, '127.0.0.1', resolve], bind));
    assert.equal(datagramFdOf(s), b.handle.fd);
    assert.deepEqual(l.passable(), [{ fd: b.handle.fd, name: `udp:127.0.0.1:${b.port}` }]);
    assert.deepEqual(l.unadopted(), []);
    assert.equal(await ask(t, b.port), 'hi');
  });

  test('under a master, a bind() is asked of acquire ({ port, address } options), and a TCP socket on the same port is not taken for it', {
    timeout: TEST_MS,
  }, async (t) => {
    const b = await boundUdp(t);
    const tcp = bindTcp('127.0.0.1', b.port);
    assert.ok(
      !(tcp instanceof Error),
      `TCP port ${b.port} is taken by another process: ${/** @type {Error} */ (tcp).message}`,
    );
    t.after(() => tcp.close());
    const calls = [];
    /** @type {Inherited[]} */
    const inherited = [
      {
        fd: tcp.fd,
        name: `tcp:127.0.0.1:${b.port}`,
        address: { kind: 'tcp', host: '127.0.0.1', port: b.port },
        handle: tcp,
        adopted: false,
      },
    ];
    const l = new Listeners(inherited, cwd, async (address) => {
      calls.push(address);
      return { handle: b.handle, address: b.address };
    });
    const s = echo(t);
    await new Promise((resolve) => l.bind(s, [{ port: b.port, address: '127.0.0.1' }, resolve], bind));
    assert.deepEqual(calls, [b.address]);
    assert.equal(inherited[0].adopted, false);
    assert.equal(await ask(t, b.port), 'hi');
  });

  test('a send() while the master is asked waits for the bind, as in Node: it goes out from the bound port, not one of its own', {
    timeout: TEST_MS,
  }, async (t) => {
    const b = await boundUdp(t);
    /** @type {(acquired: Awaited<ReturnType<import('../../dist/listeners/route.js').Acquire>>) => void} */
    let answer;
    const l = new Listeners([], cwd, () => new Promise((resolve) => (answer = resolve)));
    const client = dgram.createSocket('udp4');
    t.after(() => client.close());
    await /** @type {Promise<void>} */ (new Promise((resolve) => client.bind(0, '127.0.0.1', resolve)));
    const got = once(client, 'message');
    const s = echo(t);
    l.bind(s, [b.port, '127.0.0.1'], bind);
    s.send('early', client.address().port, '127.0.0.1');
    assert.throws(() => l.bind(s, [b.port, '127.0.0.1'], bind), { code: 'ERR_SOCKET_ALREADY_BOUND' });
    answer({ handle: b.handle, address: b.address });
    const [msg, from] = await got;
    assert.equal(String(msg), 'early');
    assert.equal(from.port, b.port);
  });

  test('a socket the app closes while the master is asked is left closed, and the socket it was given is closed too', {
    timeout: TEST_MS,
  }, async (t) => {
    const b = await boundUdp(t);
    /** @type {(acquired: Awaited<ReturnType<import('../../dist/listeners/route.js').Acquire>>) => void} */
    let answer;
    const l = new Listeners([], cwd, () => new Promise((resolve) => (answer = resolve)));
    const s = dgram.createSocket('udp4');
    l.bind(s, [b.port, '127.0.0.1'], bind);
    const closed = once(s, 'close');
    s.close();
    await closed;
    let closedHandle = 0;
    answer({ handle: { ...b.handle, fd: b.handle.fd, close: () => closedHandle++ }, address: b.address });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closedHandle, 1);
    assert.deepEqual(l.passable(), []);
  });

  test("acquire's error reaches the socket's error event, and the socket may bind again", {
    timeout: TEST_MS,
  }, async (t) => {
    const failure = Object.assign(new Error('bind EACCES: the master cannot bind'), { code: 'EACCES' });
    const l = new Listeners([], cwd, async () => ({ error: failure }));
    const s = echo(t);
    const error = once(s, 'error');
    l.bind(s, [await freePort(), '127.0.0.1'], bind);
    assert.equal((await error)[0], failure);
    await /** @type {Promise<void>} */ (new Promise((resolve) => s.bind(0, '127.0.0.1', resolve)));
    assert.deepEqual(l.passable(), []);
  });

  test('a socket Node binds itself (standalone, no inherited socket) is passable once bound; port 0 is not', {
    timeout: TEST_MS,
  }, async (t) => {
    const l = new Listeners([], cwd);
    const [named, any] = [echo(t), echo(t)];
    const port = await freePort();
    await new Promise((resolve) => l.bind(named, [port, '127.0.0.1', resolve], bind));
    await new Promise((resolve) => l.bind(any, [0, resolve], bind));
    assert.deepEqual(l.passable(), [{ fd: datagramFdOf(named), name: `udp:127.0.0.1:${port}` }]);
    assert.deepEqual(l.datagramSockets(), [named, any]);
    assert.deepEqual(l.servers(), []);
  });
});
