// Unit tests for dist/listeners/address.js: how server.listen() and a dgram
// socket's bind() arguments are read (mirroring Node), host normalisation, names that travel
// between generations, and the matching rule.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import {
  parseListenArgs,
  parseBindArgs,
  normalizeHost,
  nameOf,
  parseName,
  matches,
  isIP,
  isLoopback,
} from '../../dist/listeners/address.js';

const CWD = '/srv/app';
/** @typedef {import('../../dist/listeners/address.js').Address} Address */
/** @type {(host: string | null, port: number) => Extract<Address, { kind: 'tcp' }>} */
const tcp = (host, port) => ({ kind: 'tcp', host, port });
/** @type {(p: string) => Extract<Address, { kind: 'unix' }>} */
const unix = (p) => ({ kind: 'unix', path: p });
/** @type {(host: string, port: number) => Extract<Address, { kind: 'udp' }>} */
const udp = (host, port) => ({ kind: 'udp', host, port });
const cb = () => {};

describe('parseListenArgs: TCP signatures', () => {
  test('listen(8080)', () => {
    const r = parseListenArgs([8080], CWD);
    assert.deepEqual(r.address, tcp(null, 8080));
    assert.equal(r.backlog, undefined);
    assert.equal(r.callback, undefined);
    assert.deepEqual(r.options, { port: 8080 });
  });

  test("listen('8080') is a port, not a pipe path (Node: Number('8080') >= 0)", () => {
    const r = parseListenArgs(['8080'], CWD);
    assert.deepEqual(r.address, tcp(null, 8080));
    assert.equal(typeof r.address.port, 'number');
  });

  test("listen(8080, '127.0.0.1')", () => {
    const r = parseListenArgs([8080, '127.0.0.1'], CWD);
    assert.deepEqual(r.address, tcp('127.0.0.1', 8080));
    assert.deepEqual(r.options, { port: 8080, host: '127.0.0.1' });
    assert.equal(r.backlog, undefined);
  });

  test("listen(8080, '::1', 511, cb) extracts host, backlog and callback", () => {
    const r = parseListenArgs([8080, '::1', 511, cb], CWD);
    assert.deepEqual(r.address, tcp('::1', 8080));
    assert.equal(r.backlog, 511);
    assert.equal(r.callback, cb);
    assert.deepEqual(r.options, { port: 8080, host: '::1' }, 'the callback is not part of options');
  });

  test('listen(8080, cb)', () => {
    const r = parseListenArgs([8080, cb], CWD);
    assert.deepEqual(r.address, tcp(null, 8080));
    assert.equal(r.callback, cb);
    assert.equal(r.backlog, undefined);
  });

  test('listen(8080, 64, cb): positional backlog without host', () => {
    const r = parseListenArgs([8080, 64, cb], CWD);
    assert.deepEqual(r.address, tcp(null, 8080));
    assert.equal(r.backlog, 64);
    assert.equal(r.callback, cb);
  });

  test('a non-function last argument is not a callback', () => {
    const r = parseListenArgs([8080, '127.0.0.1', 10], CWD);
    assert.equal(r.callback, undefined);
    assert.equal(r.backlog, 10);
  });

  test('listen({ port, host }) copies the options, does not mutate them', () => {
    const opts = { port: 8080, host: '127.0.0.1', exclusive: true };
    const r = parseListenArgs([opts, cb], CWD);
    assert.deepEqual(r.address, tcp('127.0.0.1', 8080));
    assert.deepEqual(r.options, { port: 8080, host: '127.0.0.1', exclusive: true });
    assert.notEqual(r.options, opts);
    assert.deepEqual(opts, { port: 8080, host: '127.0.0.1', exclusive: true });
    assert.equal(r.callback, cb);
  });

  test("listen({ port: '8080' })", () => {
    assert.deepEqual(parseListenArgs([{ port: '8080' }], CWD).address, tcp(null, 8080));
  });

  test('options.backlog wins over a positional backlog', () => {
    assert.equal(parseListenArgs([{ port: 8080, backlog: 32 }], CWD).backlog, 32);
    assert.equal(parseListenArgs([{ port: 8080 }, 16, cb], CWD).backlog, 16);
    assert.equal(parseListenArgs([{ port: 8080, backlog: 32 }, 16, cb], CWD).backlog, 32);
  });

  test("an empty or null host means 'no host' (Node's default wildcard)", () => {
    assert.deepEqual(parseListenArgs([{ port: 8080, host: '' }], CWD).address, tcp(null, 8080));
    assert.deepEqual(parseListenArgs([{ port: 8080, host: null }], CWD).address, tcp(null, 8080));
  });

  test('a host name is kept (lower-cased) for the router to resolve', () => {
    assert.deepEqual(parseListenArgs([8080, 'LOCALHOST'], CWD).address, tcp('localhost', 8080));
  });
});

describe('parseListenArgs: unix socket signatures', () => {
  test("listen({ path: 'rel.sock' }) resolves against cwd", () => {
    const r = parseListenArgs([{ path: 'rel.sock' }], CWD);
    assert.deepEqual(r.address, unix('/srv/app/rel.sock'));
    const other = parseListenArgs([{ path: 'rel.sock' }], '/elsewhere');
    assert.deepEqual(other.address, unix('/elsewhere/rel.sock'), 'the cwd argument, not process.cwd(), is used');
  });

  test('relative paths with .. are normalised', () => {
    assert.deepEqual(parseListenArgs([{ path: '../run/./x.sock' }], CWD).address, unix('/srv/run/x.sock'));
    assert.deepEqual(parseListenArgs(['sub/x.sock'], CWD).address, unix(path.resolve(CWD, 'sub/x.sock')));
  });

  test("listen('/abs/path.sock') with backlog and callback", () => {
    const r = parseListenArgs(['/abs/path.sock', 12, cb], CWD);
    assert.deepEqual(r.address, unix('/abs/path.sock'));
    assert.equal(r.backlog, 12);
    assert.equal(r.callback, cb);
    assert.deepEqual(r.options, { path: '/abs/path.sock' });
  });

  test("listen('\\0abstract') keeps a Linux abstract name as is (not resolved)", () => {
    assert.deepEqual(parseListenArgs(['\0abstract'], CWD).address, unix('\0abstract'));
    assert.deepEqual(parseListenArgs([{ path: '\0abstract' }], CWD).address, unix('\0abstract'));
  });

  test("listen('abc'): a non-numeric string is a pipe path in Node", () => {
    assert.deepEqual(parseListenArgs(['abc'], CWD).address, unix('/srv/app/abc'));
  });

  test("listen('-1'): Number('-1') < 0, so Node treats it as a pipe path", () => {
    assert.deepEqual(parseListenArgs(['-1'], CWD).address, unix('/srv/app/-1'));
  });
});

describe('parseListenArgs: calls left to Node (no address)', () => {
  /** @type {[string, unknown[]][]} */
  const cases = [
    ['listen(0)', [0]],
    ["listen('0')", ['0']],
    ['listen()', []],
    ['listen(cb)', [cb]],
    ['listen(null)', [null]],
    ['listen({ fd: 3 })', [{ fd: 3 }]],
    ['listen({ port: 0 })', [{ port: 0 }]],
    ["listen({ port: 0, host: '127.0.0.1' })", [{ port: 0, host: '127.0.0.1' }]],
    ["listen(undefined, '127.0.0.1')", [undefined, '127.0.0.1']],
    ['listen({ host }) without a port', [{ host: '127.0.0.1' }]],
    ['listen({}) (Node throws)', [{}]],
    ['listen(server-like { _handle })', [{ _handle: { fd: 7 } }]],
    ['listen({ handle })', [{ handle: { fd: 7 } }]],
    ["listen({ path: '' })", [{ path: '' }]],
    ['listen({ port: 8080, host: 42 }) (a non-string host)', [{ port: 8080, host: 42 }]],
  ];
  for (const [label, args] of cases) {
    test(label, () => {
      const r = parseListenArgs(args, CWD);
      assert.equal(r.address, undefined);
      assert.equal(typeof r.options, 'object');
    });
  }

  test('listen(cb) still extracts the callback', () => {
    assert.equal(parseListenArgs([cb], CWD).callback, cb);
  });

  test('a server-like object as the handle is passed through in options', () => {
    const handle = { fd: 7 };
    const r = parseListenArgs([{ _handle: handle }, 5, cb], CWD);
    assert.equal(r.address, undefined);
    assert.equal(r.options._handle, handle);
    assert.equal(r.backlog, 5);
    assert.equal(r.callback, cb);
  });
});

describe('parseListenArgs: invalid ports behave as in Node (left to Node, which throws)', () => {
  for (const port of [-1, 70000, 65536, NaN, 1.5, Infinity]) {
    test(`listen(${port})`, () => {
      assert.equal(parseListenArgs([port], CWD).address, undefined);
      assert.equal(parseListenArgs([{ port }], CWD).address, undefined);
      // What Node itself does with the same call, so baton leaving it to Node is the same behaviour.
      const server = net.createServer();
      assert.throws(() => server.listen(port), { code: 'ERR_SOCKET_BAD_PORT' });
      assert.equal(server.listening, false);
    });
  }

  test('65535 is the highest port routed', () => {
    assert.deepEqual(parseListenArgs([65535], CWD).address, tcp(null, 65535));
    assert.deepEqual(parseListenArgs([1], CWD).address, tcp(null, 1));
  });
});

describe('parseListenArgs: host normalisation', () => {
  const cases = [
    ['[::1]', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['LOCALHOST', 'localhost'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0.0.0.0', '0.0.0.0'],
    ['127.0.0.1', '127.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ];
  for (const [given, want] of cases) {
    test(`listen(8080, '${given}') -> '${want}'`, () => {
      assert.deepEqual(parseListenArgs([8080, given], CWD).address, tcp(want, 8080));
      assert.deepEqual(parseListenArgs([{ port: 8080, host: given }], CWD).address, tcp(want, 8080));
    });
  }
});

describe('normalizeHost', () => {
  test('every spelling of an IPv6 address gives one form', () => {
    for (const h of ['::1', '[::1]', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '[0::1]']) {
      assert.equal(normalizeHost(h), '::1', h);
    }
    assert.equal(normalizeHost('FE80:0:0:0:0:0:0:AB'), 'fe80::ab');
    assert.equal(normalizeHost('::FFFF:127.0.0.1'), normalizeHost('::ffff:7f00:1'));
  });

  test('IPv4 unchanged, host names lower-cased', () => {
    assert.equal(normalizeHost('10.0.0.1'), '10.0.0.1');
    assert.equal(normalizeHost('Example.COM'), 'example.com');
    assert.equal(normalizeHost('localhost'), 'localhost');
  });

  test('isIP', () => {
    assert.equal(isIP('127.0.0.1'), true);
    assert.equal(isIP('::'), true);
    assert.equal(isIP('localhost'), false);
    assert.equal(isIP('[::1]'), false);
  });

  test('IPv6 is told apart without net.isIPv6 (its regular expression costs a start about 12 ms), and exactly as it tells', () => {
    const cases = [
      '::',
      '::1',
      '1::',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '1:2:3:4:5:6:1.2.3.4',
      '0001:0:0:0:0:0:0:1',
      'fe80::1%eth0',
      'fe80::1%en0.1',
      'fe80::1%',
      'fe80::1%a%b',
      'fe80::1%a/b',
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '::01.2.3.4',
      '::1.2.3',
      '::1]/[',
      '::1/64',
      'g::1',
      ':',
      '1.2.3.4',
      'localhost',
      '',
    ];
    // Seeded: groups joined by colons, valid and not, with and without a zone.
    let seed = 1;
    const next = (k) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
    const groups = ['', '', '0', '1', 'ffff', 'FE80', '0001', '12345', '1.2.3.4', '01.2.3.4', '1.2.3', 'g', ']'];
    const zones = ['', '', '', '%eth0', '%', '%a%b', '%a.b-c'];
    for (let i = 0; i < 20_000; i++) {
      cases.push(
        Array.from({ length: 1 + next(9) }, () => groups[next(groups.length)]).join(':') + zones[next(zones.length)],
      );
    }
    const differ = cases.filter((h) => isIP(h) !== (net.isIP(h) !== 0));
    assert.deepEqual(differ.slice(0, 10), [], `isIP disagrees with net.isIP on ${differ.length} of ${cases.length}`);
  });
});

describe('nameOf / parseName', () => {
  /** @type {[string, Address][]} */
  const roundTrips = [
    ['tcp:127.0.0.1:8080', tcp('127.0.0.1', 8080)],
    ['tcp:[::1]:8080', tcp('::1', 8080)],
    ['tcp:[::]:80', tcp('::', 80)],
    ['tcp:0.0.0.0:65535', tcp('0.0.0.0', 65535)],
    ['tcp:*:3000', tcp(null, 3000)],
    ['unix:/run/app.sock', unix('/run/app.sock')],
    ['unix:/tmp/a:b%c.sock', unix('/tmp/a:b%c.sock')],
    ['unix:\0abstract', unix('\0abstract')],
    ['udp:0.0.0.0:5353', udp('0.0.0.0', 5353)],
    ['udp:[::]:5353', udp('::', 5353)],
    ['udp:127.0.0.1:53', udp('127.0.0.1', 53)],
  ];
  for (const [name, address] of roundTrips) {
    test(`round trip ${JSON.stringify(name)}`, () => {
      assert.deepEqual(parseName(name), address);
      assert.equal(nameOf(address), name);
      assert.equal(nameOf(parseName(name)), name);
    });
  }

  test('parseName normalises the host it reads', () => {
    assert.deepEqual(parseName('tcp:[0:0:0:0:0:0:0:1]:8080'), tcp('::1', 8080));
    assert.equal(nameOf(parseName('tcp:[0:0:0:0:0:0:0:1]:8080')), 'tcp:[::1]:8080');
  });

  const notAddresses = [
    'web',
    '',
    'unknown',
    'tcp:foo:80',
    'tcp:localhost:80',
    'tcp:1.2.3.4:0',
    'tcp:1.2.3.4:99999',
    'tcp:1.2.3.4:65536',
    'tcp:1.2.3.4:',
    'tcp:1.2.3.4',
    'tcp:1.2.3.4:-1',
    'tcp:1.2.3.4:80x',
    'tcp:::1:80',
    'tcp:[::1:80',
    'tcp:[not-ip]:80',
    'udp:*:53',
    'udp:localhost:53',
    'udp:1.2.3.4:0',
    'unix:',
    'unix',
    'TCP:1.2.3.4:80',
  ];
  for (const name of notAddresses) {
    test(`parseName(${JSON.stringify(name)}) is undefined`, () => {
      assert.equal(parseName(name), undefined);
    });
  }
});

describe('matches', () => {
  test('exact TCP match', () => {
    assert.equal(matches(tcp('127.0.0.1', 8080), tcp('127.0.0.1', 8080)), true);
    assert.equal(matches(tcp('::1', 8080), tcp('::1', 8080)), true);
    assert.equal(matches(tcp('::', 8080), tcp('::', 8080)), true);
  });

  test('a request with no host is served by either wildcard socket', () => {
    assert.equal(matches(tcp(null, 8080), tcp('::', 8080)), true);
    assert.equal(matches(tcp(null, 8080), tcp('0.0.0.0', 8080)), true);
  });

  test('a request with no host is not served by a specific address', () => {
    assert.equal(matches(tcp(null, 8080), tcp('127.0.0.1', 8080)), false);
    assert.equal(matches(tcp(null, 8080), tcp('::1', 8080)), false);
    assert.equal(matches(tcp(null, 8080), tcp(null, 8080)), false, 'a held socket always has a real address');
  });

  test('a specific request is not served by a wildcard socket, nor another host', () => {
    assert.equal(matches(tcp('127.0.0.1', 8080), tcp('0.0.0.0', 8080)), false);
    assert.equal(matches(tcp('127.0.0.1', 8080), tcp('::1', 8080)), false);
    assert.equal(matches(tcp('localhost', 8080), tcp('127.0.0.1', 8080)), false, 'names are resolved before matching');
  });

  test('different ports never match', () => {
    assert.equal(matches(tcp('127.0.0.1', 8080), tcp('127.0.0.1', 8081)), false);
    assert.equal(matches(tcp(null, 8080), tcp('::', 8081)), false);
  });

  test('UDP by exact address, never TCP on the same port', () => {
    assert.equal(matches(udp('0.0.0.0', 5353), udp('0.0.0.0', 5353)), true);
    assert.equal(matches(udp('0.0.0.0', 5353), udp('::', 5353)), false);
    assert.equal(matches(udp('127.0.0.1', 5353), tcp('127.0.0.1', 5353)), false);
    assert.equal(matches(tcp(null, 5353), udp('0.0.0.0', 5353)), false);
  });

  test('unix vs unix by path, unix vs tcp never', () => {
    assert.equal(matches(unix('/run/a.sock'), unix('/run/a.sock')), true);
    assert.equal(matches(unix('/run/a.sock'), unix('/run/b.sock')), false);
    assert.equal(matches(unix('/run/a.sock'), tcp('::', 8080)), false);
    assert.equal(matches(tcp(null, 8080), unix('/run/a.sock')), false);
  });
});

describe('parseBindArgs: dgram signatures', () => {
  test("bind(port) binds the wildcard of the socket's family", () => {
    assert.deepEqual(parseBindArgs([5353], 'udp4'), { address: udp('0.0.0.0', 5353), callback: undefined });
    assert.deepEqual(parseBindArgs([5353], 'udp6'), { address: udp('::', 5353), callback: undefined });
  });

  test('bind(port, address, cb) and bind(port, cb)', () => {
    assert.deepEqual(parseBindArgs([5353, '127.0.0.1', cb], 'udp4'), { address: udp('127.0.0.1', 5353), callback: cb });
    assert.deepEqual(parseBindArgs(['5353', cb], 'udp4'), { address: udp('0.0.0.0', 5353), callback: cb });
    assert.deepEqual(parseBindArgs([5353, '0:0::1'], 'udp6').address, udp('::1', 5353));
  });

  test('bind({ port, address }, cb); a host name is kept for the router to resolve', () => {
    assert.deepEqual(parseBindArgs([{ port: 53, address: 'LocalHost', exclusive: true }, cb], 'udp4'), {
      address: udp('localhost', 53),
      callback: cb,
    });
  });

  test('port 0, no port, an fd, a handle or a bad address are left to Node', () => {
    for (const args of [[], [cb], [0], [{ port: 0 }], [{ fd: 5 }], [{ recvStart() {} }], [70000], [53, 42]]) {
      assert.equal(parseBindArgs(args, 'udp4').address, undefined, JSON.stringify(args));
    }
  });
});

describe('isLoopback: IP addresses parsed as addresses, never a name by how it starts', () => {
  test('127.0.0.0/8, ::1 and 127.x mapped into IPv6 are loopback', () => {
    for (const host of ['127.0.0.1', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:7f00:2'])
      assert.equal(isLoopback(host), true, host);
  });
  test('names that start like one, other addresses and garbage are not', () => {
    const not = [
      '127.0.0.1.attacker.example',
      '127.attacker.example',
      '127.',
      '127.1',
      '0x7f.0.0.1',
      '::1.attacker.example',
      '::ffff:127.0.0.1.x',
      '::1%lo',
      'localhost',
      '10.0.0.1',
      '::',
      '0.0.0.0',
      '::ffff:10.0.0.1',
      '',
      '128.0.0.1',
    ];
    for (const host of not) assert.equal(isLoopback(host), false, host);
  });
});
