// Unit tests for dist/cli/args.js and dist/cli/resolve.js: the `baton`
// command line, and `baton run`'s options resolved from it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testCertificate } from '../helpers/http.mjs';
import { parseArgs, UsageError, HELP, RUN_HELP, CONTROL_HELP, helpText } from '../../dist/cli/args.js';
import { CANARY_FOR_DEFAULT_MS, parseCanary, parseRequest } from '../../dist/protocol/control.js';
import { parseListen } from '../../dist/cli/options.js';
import { resolveRun } from '../../dist/cli/resolve.js';
import { logicalCwd } from '../../dist/cwd.js';

let dir;
let app;
/**
 * `baton <argv>` run from `dir`: a run command resolved (with no config file there), any other as parsed.
 * @param {string[]} argv
 */
const parse = async (argv, cwd = dir) => {
  const parsed = parseArgs(argv, { cwd });
  return parsed.cmd === 'run' ? resolveRun(parsed, cwd, {}) : parsed;
};

/**
 * parse() of a command line that must be a run command: the resolved command.
 * @param {string[]} argv
 */
const run = async (argv, cwd = dir) => {
  const r = await parse(argv, cwd);
  if (r.cmd !== 'run') throw new Error(`baton ${argv.join(' ')} parsed as ${r.cmd}, not run`);
  return r;
};

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-args-'));
  app = path.join(dir, 'app.js');
  fs.writeFileSync(app, '');
  fs.mkdirSync(path.join(dir, 'site'));
  fs.mkdirSync(path.join(dir, 'api'));
  fs.writeFileSync(path.join(dir, 'api', 'index.mjs'), '');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const cpus = os.availableParallelism?.() ?? os.cpus().length;

test('help and version', async () => {
  assert.deepEqual(await parse([]), { cmd: 'help' });
  assert.deepEqual(await parse(['--help']), { cmd: 'help' });
  assert.deepEqual(await parse(['-h']), { cmd: 'help' });
  assert.deepEqual(await parse(['help']), { cmd: 'help' });
  assert.deepEqual(await parse(['help', 'run']), { cmd: 'help', topic: 'run' });
  assert.deepEqual(await parse(['help', 'status']), { cmd: 'help', topic: 'status' });
  assert.deepEqual(await parse(['--version']), { cmd: 'version' });
  assert.deepEqual(await parse(['-v']), { cmd: 'version' });
  assert.deepEqual(await parse(['run', '--help']), { cmd: 'help', topic: 'run' });
  assert.deepEqual(await parse(['run', '-w', '2', '-h', 'app.js']), { cmd: 'help', topic: 'run' });
  assert.deepEqual(await parse(['reload', '--help']), { cmd: 'help', topic: 'reload' });
  assert.deepEqual(await parse(['stop', '-h']), { cmd: 'help', topic: 'stop' });
});

test('run: defaults', async () => {
  assert.deepEqual(await parse(['run', 'app.js']), {
    cmd: 'run',
    options: {
      workers: 1,
      name: undefined,
      control: undefined,
      readyTimeout: 30000,
      drainTimeout: 30000,
      crashWindow: 3000,
      waitReady: false,
      closeWebSockets: true,
      closeEventStreams: true,
      requestMetrics: true,
      compileCache: true,
      maxDraining: 3,
      unresponsiveAfter: 10000,
      replaceUnresponsive: false,
      maxMemory: undefined,
      maxErrorIncrease: 20,
      minJudgedRequests: 20,
      unjudged: 'proceed',
      maxLatencyRatio: 2,
      batch: undefined,
      maxRequests: 0,
      maxRequestsJitter: 0,
      maxAge: 0,
      maxAgeJitter: 0,
      shutdownDelay: 0,
      listen: [],
      nodeArgs: [],
      node: undefined,
      nodeAllow: [],
      logFormat: undefined,
      logFile: undefined,
      pidFile: undefined,
      admin: undefined,
      adminTokenFile: undefined,
      adminMetricsPublic: false,
      adminTlsCert: undefined,
      adminTlsKey: undefined,
      releases: undefined,
    },
    settings: {
      generation: 1,
      waitReady: false,
      readyTimeoutMs: 30000,
      drainTimeoutMs: 30000,
      crashWindowMs: 3000,
      upgradeSignal: 'SIGUSR2',
      pidFile: undefined,
      logFormat: 'text',
      closeWebSockets: true,
      closeEventStreams: true,
      maxMemoryBytes: 0,
      requestMetrics: true,
    },
    supervisor: {
      maxDraining: 3,
      unresponsiveMs: 10000,
      replaceUnresponsive: false,
      shutdownDelayMs: 0,
      maxMemoryBytes: undefined,
      maxAgeMs: 0,
      maxAgeJitterMs: 0,
      maxRequests: 0,
      maxRequestsJitter: 0,
      maxErrorIncrease: 20,
      minJudgedRequests: 20,
      unjudged: 'proceed',
      maxLatencyRatio: 2,
      batch: undefined,
    },
    script: app,
    args: [],
    cwd: dir,
    env: {},
    sources: [],
  });
});

test('run: the script is resolved against the working directory, and found with an absolute path', async () => {
  assert.equal((await run(['run', app], process.cwd())).script, app);
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sub', 'server.mjs'), '');
  assert.equal((await run(['run', './sub/server.mjs'])).script, path.join(dir, 'sub', 'server.mjs'));
});

test('run: by default the script resolves against $PWD, keeping a current -> release symlink', async () => {
  const release = path.join(dir, 'releases', 'v1');
  fs.mkdirSync(release, { recursive: true });
  fs.writeFileSync(path.join(release, 'server.js'), '');
  const current = path.join(dir, 'current');
  fs.symlinkSync(release, current);
  const saved = { cwd: process.cwd(), pwd: process.env.PWD };
  try {
    process.chdir(current);
    process.env.PWD = current;
    // A run command line parses as RunArgs.
    const at = /** @type {import('../../dist/cli/resolve.js').RunArgs} */ (
      parseArgs(['run', '--listen', './app.sock', 'server.js'])
    );
    const r = await resolveRun(at, logicalCwd(), {});
    assert.equal(r.script, path.join(current, 'server.js'));
    assert.deepEqual(r.options.listen[0].address, {
      kind: 'unix',
      path: path.join(current, 'app.sock'),
    });
  } finally {
    process.chdir(saved.cwd);
    if (saved.pwd === undefined) delete process.env.PWD;
    else process.env.PWD = saved.pwd;
  }
});

test("run: the app's own arguments after the script are kept verbatim", async () => {
  const r = await run(['run', '-w', '2', 'app.js', '--port', '5', '-w', '9']);
  assert.equal(r.options.workers, 2);
  assert.equal(r.script, app);
  assert.deepEqual(r.args, ['--port', '5', '-w', '9']);
  assert.deepEqual((await run(['run', 'app.js', '--help', '--foo=bar', '--', 'x'])).args, [
    '--help',
    '--foo=bar',
    '--',
    'x',
  ]);
  assert.deepEqual((await run(['run', '--', 'app.js', '-h'])).args, ['-h']);
  assert.deepEqual((await run(['run', 'app.js', ''])).args, ['']);
});

/** @type {[string[], number][]} */
const workerForms = [
  [['-w', '4'], 4],
  [['-w=4'], 4],
  [['-w4'], 4],
  [['--workers', '4'], 4],
  [['--workers=4'], 4],
  [['-w', '1'], 1],
  [['-w', '1024'], 1024],
  [['-w', 'auto'], Math.min(cpus, 1024)],
  [['--workers=auto'], Math.min(cpus, 1024)],
  [['-w', '3', '-w', '5'], 5],
];
for (const [opts, n] of workerForms) {
  test(`run: ${opts.join(' ')} gives ${n} workers`, async () => {
    assert.equal((await run(['run', ...opts, 'app.js'])).options.workers, n);
  });
}

test('run: every value option, in both --opt value and --opt=value forms', async () => {
  /** @type {[string[], Partial<import('../../dist/cli/options.js').RunOptions>][]} */
  const forms = [
    [['--name', 'api'], { name: 'api' }],
    [['--name=api'], { name: 'api' }],
    [['--control', '/run/x/c.sock'], { control: '/run/x/c.sock' }],
    [['--control=/run/x/c.sock'], { control: '/run/x/c.sock' }],
    [['--ready-timeout', '5s'], { readyTimeout: 5000 }],
    [['--ready-timeout=1m'], { readyTimeout: 60000 }],
    [['--drain-timeout', '250ms'], { drainTimeout: 250 }],
    [['--drain-timeout=0'], { drainTimeout: 0 }],
    [['--wait-ready'], { waitReady: true }],
    [['--no-close-websockets'], { closeWebSockets: false }],
    [['--no-close-event-streams'], { closeEventStreams: false }],
    [['--no-request-metrics'], { requestMetrics: false }],
    [['--no-compile-cache'], { compileCache: false }],
    [['--log-format', 'json'], { logFormat: 'json' }],
    [['--log-format=text'], { logFormat: 'text' }],
    [['--node-args', '--inspect  --max-old-space-size=512'], { nodeArgs: ['--inspect', '--max-old-space-size=512'] }],
    [['--node-args=--enable-source-maps'], { nodeArgs: ['--enable-source-maps'] }],
    [['--node-args', '--a', '--node-args', '--b --c'], { nodeArgs: ['--a', '--b', '--c'] }],
    [['--node-args', ''], { nodeArgs: [] }],
  ];
  for (const [opts, want] of forms) {
    const r = await run(['run', ...opts, 'app.js']);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(r.options[k], v, `${opts.join(' ')} → ${k}`);
    assert.equal(r.script, app);
    assert.deepEqual(r.args, []);
  }
});

test('run --shutdown-delay: a duration, parsed as the others', async () => {
  assert.equal((await run(['run', '--shutdown-delay', '5s', 'app.js'])).supervisor.shutdownDelayMs, 5000);
  assert.equal((await run(['run', '--shutdown-delay=1500', 'app.js'])).supervisor.shutdownDelayMs, 1500);
});

test('run: --listen in every address form, repeatable, with optional names', async () => {
  const r = await run([
    'run',
    '--listen',
    '8080',
    '--listen=127.0.0.1:8081',
    '--listen',
    '[::1]:8082',
    '--listen',
    '[::]:8084',
    '--listen',
    '0.0.0.0:8085',
    '--listen',
    '/tmp/baton-x.sock',
    '--listen',
    './rel.sock',
    '--listen',
    'web=9000',
    '--listen=admin=127.0.0.1:9001',
    '--listen',
    'api=/run/app.sock',
    'app.js',
  ]);
  assert.deepEqual(r.options.listen, [
    { spec: '8080', address: { kind: 'tcp', host: null, port: 8080 } },
    { spec: '127.0.0.1:8081', address: { kind: 'tcp', host: '127.0.0.1', port: 8081 } },
    { spec: '[::1]:8082', address: { kind: 'tcp', host: '::1', port: 8082 } },
    { spec: '[::]:8084', address: { kind: 'tcp', host: '::', port: 8084 } },
    { spec: '0.0.0.0:8085', address: { kind: 'tcp', host: '0.0.0.0', port: 8085 } },
    { spec: '/tmp/baton-x.sock', address: { kind: 'unix', path: '/tmp/baton-x.sock' } },
    { spec: './rel.sock', address: { kind: 'unix', path: path.join(dir, 'rel.sock') } },
    { name: 'web', spec: '9000', address: { kind: 'tcp', host: null, port: 9000 } },
    { name: 'admin', spec: '127.0.0.1:9001', address: { kind: 'tcp', host: '127.0.0.1', port: 9001 } },
    { name: 'api', spec: '/run/app.sock', address: { kind: 'unix', path: '/run/app.sock' } },
  ]);
  // A path containing '=' is a path, not NAME=ADDR.
  assert.deepEqual(parseListen('/run/a=b.sock', dir), {
    spec: '/run/a=b.sock',
    address: { kind: 'unix', path: '/run/a=b.sock' },
  });
});

test('reload, stop, status: options and defaults', async () => {
  assert.deepEqual(await parse(['reload']), { cmd: 'reload', json: false });
  assert.deepEqual(await parse(['stop']), { cmd: 'stop', json: false });
  assert.deepEqual(await parse(['status']), { cmd: 'status', json: false });
  assert.deepEqual(await parse(['status', '--json']), { cmd: 'status', json: true });
  assert.deepEqual(await parse(['reload', '--json', '--name', 'api']), { cmd: 'reload', json: true, name: 'api' });
  assert.deepEqual(await parse(['reload', '--name=api']), { cmd: 'reload', json: false, name: 'api' });
  assert.deepEqual(await parse(['stop', '--control', '/run/a/c.sock']), {
    cmd: 'stop',
    json: false,
    control: '/run/a/c.sock',
  });
  assert.deepEqual(await parse(['status', '--control=/run/a/c.sock', '--name', 'x']), {
    cmd: 'status',
    json: false,
    control: '/run/a/c.sock',
    name: 'x',
  });
});

// [argv, text the message must contain]
/** @type {[string[], string][]} */
const bad = [
  [['run'], 'missing the script'],
  [['run', '-w', '2'], 'missing the script'],
  [['run', '--'], 'missing the script'],
  [['run', '-w', '0', 'app.js'], "'0'"],
  [['run', '-w', 'abc', 'app.js'], "'abc'"],
  [['run', '-w', '1025', 'app.js'], "'1025'"],
  [['run', '-w', '1.5', 'app.js'], "'1.5'"],
  [['run', '--workers=2x', 'app.js'], "'2x'"],
  [['run', '-w', '-1', 'app.js'], "--workers: '-1' is not a worker count (use a whole number from 1 to 1024, or auto)"],
  [['run', '--workers', '-4', 'app.js'], "--workers: '-4' is not a worker count"],
  [['run', '-w', '-x', 'app.js'], "option '-w' needs a value (e.g. --workers 4)"],
  [['run', '--ready-timeout', '-5s', 'app.js'], "--ready-timeout: '-5s' is not a duration"],
  [['run', '--drain-timeout', '-1', 'app.js'], "--drain-timeout: '-1' is not a duration"],
  [['run', '--max-memory', '512', 'app.js'], '--max-memory: 512 is 512 bytes; write 512M'],
  [['run', '--max-memory', 'lots', 'app.js'], "--max-memory: 'lots' is not a size (use e.g. 512M, 1.5G or 0 for none)"],
  [['run', '--max-requests', '1e4', 'app.js'], "--max-requests: '1e4' is not a count (use a whole number, 0 for none)"],
  [
    ['run', '--max-error-increase', '120', 'app.js'],
    "--max-error-increase: '120' is not a percentage (use 0 to 100, e.g. 20)",
  ],
  [['run', '--unjudged', 'maybe', 'app.js'], "--unjudged: 'maybe' is not a policy (use proceed or rollback)"],
  [
    ['run', '--max-requests', '1000', '--no-request-metrics', 'app.js'],
    '--max-requests counts requests: drop --no-request-metrics (or BATON_METRICS=0), or --max-requests',
  ],
  [['run', '--drain-timeout', '-.5s', 'app.js'], "--drain-timeout: '-.5s' is not a duration"],
  [
    ['run', '--shutdown-delay', '-3s', 'app.js'],
    "--shutdown-delay: '-3s' is not a duration (use e.g. 500ms, 2s, 1m, 6h or plain milliseconds)",
  ],
  ...['--ready-timeout', '--drain-timeout', '--crash-window', '--shutdown-delay', '--unresponsive-after'].map(
    (o) => /** @type {[string[], string]} */ ([['run', o, '30', 'app.js'], `${o}: 30 is 30 ms; write 30ms or 30s`]),
  ),
  [['run', '--listen', '-8080', 'app.js'], "--listen: '-8080' is not an address"],
  [['run', '--foo', 'app.js'], "unknown option '--foo' (see baton run --help)"],
  [['run', '--foo=1', 'app.js'], "'--foo'"],
  [['run', '-x', 'app.js'], "'-x'"],
  [['run', '--workers'], "'--workers' needs a value"],
  [['run', '--name'], "'--name' needs a value"],
  [['run', '--name', '--wait-ready', 'app.js'], "'--name' needs a value"],
  [['run', '--name=', 'app.js'], "'--name'"],
  [['run', '--name', 'bad/name', 'app.js'], "'bad/name'"],
  [['run', '--name', 'x'.repeat(65), 'app.js'], 'x'.repeat(65)],
  [['run', '--control', 'app.js'], 'missing the script'],
  [['run', '--ready-timeout', '5x', 'app.js'], "--ready-timeout: '5x'"],
  [['run', '--ready-timeout=0', 'app.js'], "--ready-timeout: '0'"],
  [['run', '--drain-timeout=abc', 'app.js'], "--drain-timeout: 'abc'"],
  [['run', '--drain-timeout'], "'--drain-timeout' needs a value"],
  [['run', '--log-format', 'xml', 'app.js'], "--log-format: 'xml'"],
  [['run', '--wait-ready=yes', 'app.js'], "'--wait-ready' takes no value"],
  [['run', '--no-close-websockets=1', 'app.js'], "'--no-close-websockets' takes no value"],
  [['run', '--listen', 'abc', 'app.js'], "--listen: 'abc'"],
  [['run', '--listen', '70000', 'app.js'], "'70000'"],
  [['run', '--listen', '0', 'app.js'], "--listen: '0'"],
  [['run', '--listen', '::1:8080', 'app.js'], 'without brackets'],
  [['run', '--listen', '[nope]:80', 'app.js'], "'[nope]:80'"],
  [['run', '--listen', 'localhost:', 'app.js'], "'localhost:'"],
  [['run', '--listen', '999.1.1.1:80', 'app.js'], "'999.1.1.1:80'"],
  [['run', '--listen', 'bad host:80', 'app.js'], "'bad host:80'"],
  [['run', '--listen', 'localhost:3000', 'app.js'], 'not an IP address'],
  [['run', '--listen', '*:3000', 'app.js'], "'*:3000'"],
  [['run', '--name', 'a\nb', 'app.js'], '"a\\nb"'],
  [['run', 'mis\nsing.js'], '"mis\\nsing.js"'],
  [['reload', '--bad\roption'], '"--bad\\roption"'],
  [['run', '--listen', '=80', 'app.js'], "'=80'"],
  [['run', '--listen', '9x=80', 'app.js'], "'9x=80'"],
  [['run', '--listen', 'web=', 'app.js'], "'web='"],
  [['run', '--listen', `/${'d'.repeat(120)}.sock`, 'app.js'], 'too long'],
  [['run', '--listen', '8080', '--listen', '8080', 'app.js'], 'repeats'],
  [['run', '--listen', 'a=8080', '--listen', 'a=8081', 'app.js'], "reuses the name 'a'"],
  [['run', 'missing.js'], "script 'missing.js' not found (give the path to your server's entry file)"],
  [['run', '-w', '2', 'missing.js', '--port', '1'], "'missing.js'"],
  [['run', 'site'], "script 'site' is a directory (give the server's entry file in it, e.g. baton run site/server.js)"],
  [
    ['run', './api/', '--port', '1'],
    "script './api/' is a directory (give the server's entry file in it, e.g. baton run api/index.mjs)",
  ],
  [['run', '.'], "script '.' is a directory (give the server's entry file in it, e.g. baton run app.js)"],
  [['frobnicate'], "unknown command 'frobnicate'"],
  [['app.js'], 'baton run app.js'],
  [['--foo'], "unknown option '--foo'"],
  [['help', 'foo'], "'foo'"],
  [['reload', 'extra'], "unexpected argument 'extra'"],
  [['reload', '--force'], "unknown option '--force' (see baton reload --help)"],
  [['stop', '--json'], "unknown option '--json' (see baton stop --help)"],
  [['status', '--name'], "'--name' needs a value"],
  [['status', '--name', '../x'], "'../x'"],
  [['status', '--control'], "'--control' needs a value"],
  [['status', '--json=1'], "'--json' takes no value"],
];
for (const [argv, includes] of bad) {
  test(`baton ${argv.join(' ')} → UsageError mentioning ${includes}`, async () => {
    await assert.rejects(parse(argv), (err) => {
      assert.ok(err instanceof UsageError, `${err}`);
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'UsageError');
      assert.ok(err.message.includes(includes), err.message);
      assert.doesNotMatch(err.message, /\n/);
      assert.ok(err.message.length < 300, err.message);
      return true;
    });
  });
}

test('help texts: one line per option, and the right one per topic', () => {
  for (const opt of [
    '--workers',
    '--name',
    '--control',
    '--ready-timeout',
    '--drain-timeout',
    '--wait-ready',
    '--no-close-websockets',
    '--no-compile-cache',
    '--listen',
    '--node-args',
    '--log-format',
    '--help',
  ]) {
    const lines = RUN_HELP.split('\n').filter((l) => l.trimStart().startsWith(opt) || l.includes(`, ${opt}`));
    assert.equal(lines.length, 1, `${opt} in RUN_HELP`);
    assert.ok(lines[0].replace(/^\s*\S.*?\s{2,}/, '').length >= 8, `${opt} has a description`);
  }
  for (const opt of ['--name', '--control', '--json']) assert.ok(CONTROL_HELP.includes(opt));
  for (const cmd of ['run', 'reload', 'stop', 'status']) assert.ok(HELP.includes(`baton ${cmd}`), cmd);
  assert.equal(helpText(), HELP);
  assert.equal(helpText('run'), RUN_HELP);
  assert.equal(helpText('status'), CONTROL_HELP);
});

test('run --admin: [HOST:]PORT, loopback by default; the token read from --admin-token-file at parse time', async () => {
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'tok-0123456789abcdef0123456789abcdef\n', { mode: 0o600 });
  assert.equal((await run(['run', 'app.js'])).admin, undefined, 'off by default');
  assert.deepEqual((await run(['run', '--admin', '9090', 'app.js'])).admin, {
    host: '127.0.0.1',
    port: 9090,
    metricsPublic: false,
  });
  assert.deepEqual((await run(['run', '--admin=localhost:9090', 'app.js'])).admin, {
    host: '127.0.0.1',
    port: 9090,
    metricsPublic: false,
  });
  assert.deepEqual((await run(['run', '--admin', '[::1]:9090', '--admin-metrics-public', 'app.js'])).admin, {
    host: '::1',
    port: 9090,
    metricsPublic: true,
  });
  assert.deepEqual((await run(['run', '--admin', '127.0.0.2:9090', '--admin-token-file', tokenFile, 'app.js'])).admin, {
    host: '127.0.0.2',
    port: 9090,
    metricsPublic: false,
    token: 'tok-0123456789abcdef0123456789abcdef',
  });
  const { warning, ...open } = (
    await run(['run', '--admin', '0.0.0.0:9090', '--admin-token-file', tokenFile, 'app.js'])
  ).admin;
  assert.deepEqual(open, {
    host: '0.0.0.0',
    port: 9090,
    metricsPublic: false,
    token: 'tok-0123456789abcdef0123456789abcdef',
  });
  assert.match(warning, /^--admin 0\.0\.0\.0:9090 without TLS: .*give --admin-tls-cert FILE --admin-tls-key FILE$/);
  const tls = testCertificate;
  const secure = (
    await run([
      'run',
      '--admin',
      '0.0.0.0:9090',
      '--admin-token-file',
      tokenFile,
      '--admin-tls-cert',
      tls.cert,
      '--admin-tls-key',
      tls.key,
      'app.js',
    ])
  ).admin;
  assert.deepEqual(secure, {
    host: '0.0.0.0',
    port: 9090,
    metricsPublic: false,
    token: 'tok-0123456789abcdef0123456789abcdef',
    tls,
  });
  assert.deepEqual(
    (await run(['run', '--admin', '[::]:9090', '--admin-token-file', tokenFile, 'app.js'])).admin.host,
    '::',
  );
});

test('run --admin refusals: off loopback without a token, a bad address, a stray option, an open token file', async () => {
  const refused = (argv, includes) =>
    assert.rejects(parse(argv), (err) => {
      assert.ok(err instanceof UsageError, `${err}`);
      assert.ok(err.message.includes(includes), err.message);
      assert.doesNotMatch(err.message, /\n/);
      assert.ok(err.message.length < 300, err.message);
      return true;
    });
  for (const host of ['0.0.0.0', '[::]', '10.1.2.3', '[2001:db8::1]']) {
    await refused(
      ['run', '--admin', `${host}:9090`, 'app.js'],
      'is not a loopback address, and anyone reaching it could reload or stop this service: give --admin-token-file FILE',
    );
  }
  for (const v of [
    'x',
    'example.com:80',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:70000',
    '::1:9090',
    '[127.0.0.1]:9090',
    '1.2.3:80',
  ]) {
    await refused(['run', '--admin', v, 'app.js'], `--admin: '${v}' `);
  }
  refused(['run', '--admin-token-file', '/x', 'app.js'], '--admin-token-file needs --admin [HOST:]PORT');
  await refused(['run', '--admin-metrics-public', 'app.js'], '--admin-metrics-public needs --admin [HOST:]PORT');
  await refused(['run', '--admin-tls-cert', '/x', 'app.js'], '--admin-tls-cert needs --admin [HOST:]PORT');
  await refused(
    ['run', '--admin', '9090', '--admin-tls-key', '/x', 'app.js'],
    '--admin-tls-key needs --admin-tls-cert FILE too',
  );
  await refused(
    ['run', '--admin', '9090', '--admin-tls-cert', '/x', '--admin-tls-key', '/y', 'app.js'],
    "--admin-tls-cert, --admin-tls-key: cannot read the certificate '/x' (ENOENT)",
  );
  const open = path.join(dir, 'open-token');
  fs.writeFileSync(open, 'tok', { mode: 0o644 });
  fs.chmodSync(open, 0o644);
  await refused(['run', '--admin', '9090', '--admin-token-file', open, 'app.js'], 'chmod 600');
});

test('run --releases DIR: the script is a path inside a release, found in the one current points to', async (t) => {
  const releases = path.join(dir, 'releases');
  t.after(() => fs.rmSync(releases, { recursive: true, force: true }));
  fs.mkdirSync(path.join(releases, 'v1', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(releases, 'v1', 'lib', 'server.js'), '');
  fs.symlinkSync('v1', path.join(releases, 'current'));
  const r = await run(['run', '--releases', 'releases', 'lib/server.js', '--port', '1']);
  assert.deepEqual([r.options.releases, r.script, r.args], [releases, 'lib/server.js', ['--port', '1']]);
  assert.equal((await run(['run', 'app.js'])).options.releases, undefined);

  const refused = (argv, message) =>
    assert.rejects(
      parse(argv),
      (err) => err instanceof UsageError && message.test(err.message) && !err.message.includes('\n'),
    );
  await refused(
    ['run', '--releases', 'nowhere', 'server.js'],
    /^--releases '.*nowhere' is not a directory \(give the directory that holds one directory per release\)$/,
  );
  await refused(
    ['run', '--releases', 'releases', path.join(releases, 'v1', 'lib', 'server.js')],
    /is not inside a release: with --releases, give its path in each release/,
  );
  await refused(['run', '--releases', 'releases', '../app.js'], /is not inside a release/);
  await refused(
    ['run', '--releases', 'releases', 'app.js'],
    /^script 'app\.js' is not a file in .*v1, the release .*current points to/,
  );
  fs.rmSync(path.join(releases, 'current'));
  await refused(
    ['run', '--releases', 'releases', 'lib/server.js'],
    /^--releases .*releases: .*current is missing; point it at a release: ln -sfn v1 /,
  );
});

test('logs [-f] [--worker PID] [-n N] [--json]: only logs takes --worker and -n, each a whole number from 1', async () => {
  assert.deepEqual(await parse(['logs']), { cmd: 'logs', json: false });
  assert.deepEqual(await parse(['logs', '-f', '--worker', '4121', '-n', '50', '--json']), {
    cmd: 'logs',
    json: true,
    follow: true,
    worker: 4121,
    lines: 50,
  });
  assert.deepEqual(await parse(['logs', '--lines=5', '--worker=7']), { cmd: 'logs', json: false, lines: 5, worker: 7 });
  await assert.rejects(parse(['logs', '-n', '0']), /-n: how many of the newest lines, from 1, got '0'/);
  await assert.rejects(parse(['logs', '--worker', 'api']), /--worker: a worker's pid \(see baton status\), got 'api'/);
  await assert.rejects(parse(['events', '--worker', '7']), /unknown option '--worker'/);
  assert.match(
    CONTROL_HELP,
    /baton logs +\[--name NAME\] \[--control PATH\] \[--json\] \[-f\] \[--worker PID\] \[-n N\]/,
  );
  assert.ok(HELP.includes('baton logs'));
});

test('reload --release NAME, releases [--json]: only where they apply', async () => {
  assert.deepEqual(await parse(['reload', '--release', 'v2']), { cmd: 'reload', json: false, release: 'v2' });
  assert.deepEqual(await parse(['releases', '--json', '--name', 'api']), { cmd: 'releases', json: true, name: 'api' });
  assert.deepEqual(await parse(['help', 'releases']), { cmd: 'help', topic: 'releases' });
  for (const cmd of ['status', 'stop', 'releases'])
    await assert.rejects(parse([cmd, '--release', 'v2']), /unknown option '--release'/);
  await assert.rejects(parse(['reload', '--release']), /option '--release' needs a value \(e\.g\. --release v2\)/);
  await assert.rejects(parse(['reload', '--release=']), /needs a value, got an empty one/);
  assert.ok(CONTROL_HELP.includes('--release NAME'));
  assert.ok(HELP.includes('baton releases'));
  assert.ok(RUN_HELP.includes('--releases DIR'));
});

test('reload --canary N [--canary-for DUR]: read as the master and the admin API read them, refused at once when bad', async () => {
  assert.deepEqual(await parse(['reload', '--canary', '1', '--canary-for', '2m']), {
    cmd: 'reload',
    json: false,
    canary: '1',
    canaryFor: '2m',
  });
  await assert.rejects(parse(['reload', '--canary', 'one']), /^UsageError: --canary: 'one' is not a worker count/);
  await assert.rejects(parse(['reload', '--canary-for', '30s']), /--canary-for needs --canary N/);
  await assert.rejects(parse(['reload', '--canary', '1', '--canary-for', '30']), /--canary-for: 30 is 30 ms/);
  await assert.rejects(parse(['reload', '--canary', '1', '--canary-for', '0']), /leaves the canary no time/);
  await assert.rejects(parse(['status', '--canary', '1']), /unknown option '--canary'/);
  assert.deepEqual(parseCanary(2, undefined), { workers: 2, forMs: CANARY_FOR_DEFAULT_MS });
  assert.deepEqual(parseCanary('1', '1m'), { workers: 1, forMs: 60_000 });
  assert.deepEqual(parseCanary(1.5, '1m'), { error: "--canary: '1.5' is not a worker count (use 1 or more)" });
  assert.deepEqual(parseRequest('{"cmd":"reload","canary":1,"canaryFor":"5s"}'), {
    cmd: 'reload',
    canary: { workers: 1, forMs: 5000 },
  });
  assert.deepEqual(parseRequest('{"cmd":"reload","canary":0}'), {
    error: "--canary: '0' is not a worker count (use 1 or more)",
  });
  assert.ok(CONTROL_HELP.includes('--canary-for DUR'));
  assert.deepEqual(await parse(['reload', '--batch', '25%']), { cmd: 'reload', json: false, batch: '25%' });
  await assert.rejects(parse(['reload', '--batch', '0']), /^UsageError: --batch: '0' is not a batch/);
  await assert.rejects(parse(['run', '--batch', 'half', 'app.js']), /--batch: 'half' is not a batch/);
  assert.deepEqual(parseRequest('{"cmd":"reload","batch":"2"}'), { cmd: 'reload', batch: { workers: 2 } });
});
