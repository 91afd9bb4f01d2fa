// Unit tests for `baton run`'s config file (dist/cli/config.js), PM2's
// ecosystem file (dist/cli/ecosystem.js), and how they merge with the flags
// (dist/cli/resolve.js); and the documents made from the option table: the
// README's table and the config file's JSON Schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, parseArgs } from '../../dist/cli/args.js';
import { RUN_OPTIONS } from '../../dist/cli/options.js';
import { configSchema, optionsTable } from '../../dist/cli/options-doc.js';
import { resolveRun } from '../../dist/cli/resolve.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-config-'));
  fs.writeFileSync(path.join(dir, 'server.js'), '');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh directory in `dir` holding `files` ({ name: text }). */
function project(files) {
  const at = fs.mkdtempSync(path.join(dir, 'p-'));
  fs.writeFileSync(path.join(at, 'server.js'), '');
  for (const [name, text] of Object.entries(files))
    fs.writeFileSync(path.join(at, name), typeof text === 'string' ? text : JSON.stringify(text));
  return at;
}

/**
 * `baton run <argv>` from `cwd`, resolved.
 * @param {string[]} argv
 * @param {string} cwd
 */
const run = (argv, cwd) =>
  // A command line starting with run parses as RunArgs (or help, which no test here asks for).
  resolveRun(
    /** @type {import('../../dist/cli/resolve.js').RunArgs} */ (parseArgs(['run', ...argv], { cwd })),
    cwd,
    {},
  );

const refused = (promise, message) =>
  assert.rejects(promise, (err) => {
    assert.ok(err instanceof UsageError, String(err));
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });

test('baton.config.json in the working directory: its values, flags over them, the defaults under them; where each came from', async () => {
  const at = project({
    'baton.config.json': {
      $schema: './schema.json',
      script: 'server.js',
      args: ['--port', '1'],
      workers: 3,
      drainTimeout: '10s',
      crashWindow: 0,
      waitReady: true,
      listen: ['8080', './app.sock'],
      nodeArgs: '--enable-source-maps',
    },
  });
  const r = await run([], at);
  assert.equal(r.script, path.join(at, 'server.js'));
  assert.deepEqual(r.args, ['--port', '1']);
  assert.deepEqual(
    [r.options.workers, r.settings.drainTimeoutMs, r.settings.crashWindowMs, r.settings.waitReady],
    [3, 10_000, 0, true],
  );
  assert.deepEqual(
    r.options.listen.map((l) => l.address),
    [
      { kind: 'tcp', host: null, port: 8080 },
      { kind: 'unix', path: path.join(at, 'app.sock') },
    ],
  );
  assert.deepEqual(r.options.nodeArgs, ['--enable-source-maps']);
  assert.equal(r.config.label, 'baton.config.json');
  const byKey = Object.fromEntries(r.sources.map((s) => [s.key, s]));
  assert.deepEqual(byKey.drainTimeout, { key: 'drainTimeout', value: '10s', from: 'baton.config.json' });

  const flagged = await run(['-w', '2', '--listen', '9090', 'server.js', '--other'], at);
  assert.equal(flagged.options.workers, 2, 'a flag wins over the file');
  assert.deepEqual(
    flagged.options.listen.map((l) => l.spec),
    ['9090'],
    "a list given by flags replaces the file's",
  );
  assert.deepEqual(flagged.args, ['--other'], 'a script on the command line brings its own arguments');
  assert.equal(flagged.settings.drainTimeoutMs, 10_000, 'the file over the default');
  assert.deepEqual(
    flagged.sources.find((s) => s.key === 'workers'),
    { key: 'workers', value: '2', from: '--workers' },
  );
  assert.equal(
    flagged.sources.some((s) => s.key === 'readyTimeout'),
    false,
    'defaults are not listed',
  );
});

test('--config FILE: a .mjs default export, relative paths from its own directory; a file given that is missing', async () => {
  const at = project({
    'conf.mjs':
      'export default { script: "server.js", releases: undefined, adminTokenFile: undefined, workers: "auto", control: "./c.sock" };',
  });
  const r = await run(['--config', 'conf.mjs'], at);
  assert.equal(r.options.control, path.join(at, 'c.sock'));
  assert.ok(r.options.workers >= 1);
  await refused(run(['--config', 'nope.json', 'server.js'], at), /^--config '.*nope\.json': no such file$/);
});

test('bad config files: one line naming the file, the key and the fix, nothing started', async () => {
  const cases = [
    [{ drainTimout: '10s' }, /^baton\.config\.json: unknown key 'drainTimout' \(did you mean drainTimeout\?\)/],
    [{ workers: true }, /^baton\.config\.json: workers must be a string or a number, not true \(e\.g\. "4"\)$/],
    [{ workers: [2] }, /^baton\.config\.json: workers must be a string or a number, not \[2\]/],
    [{ drainTimeout: '10 parsecs' }, /^baton\.config\.json: drainTimeout: '10 parsecs' is not a duration/],
    [{ drainTimeout: 30 }, /^baton\.config\.json: drainTimeout: 30 is 30 ms; write 30ms or 30s$/],
    [{ waitReady: 'yes' }, /^baton\.config\.json: waitReady must be true or false, not "yes"/],
    [{ listen: ['8080', '8080'] }, /^baton\.config\.json: listen: '8080' repeats an address/],
    [{ script: 7 }, /^baton\.config\.json: script must be a string/],
    [{ args: '--port 1' }, /^baton\.config\.json: args must be an array of strings/],
    [[1, 2], /^baton\.config\.json: exports an array, not an object of options/],
  ];
  for (const [config, message] of cases)
    await refused(run(['server.js'], project({ 'baton.config.json': config })), message);
  await refused(
    run(['server.js'], project({ 'baton.config.json': '{ "workers": 2,' })),
    /^baton\.config\.json: not valid JSON \(/,
  );
  await refused(
    run(['server.js'], project({ 'baton.config.json': {}, 'baton.config.mjs': 'export default {};' })),
    /^both baton\.config\.json and baton\.config\.mjs are in .*: keep one, or name one with --config FILE$/,
  );
  await refused(run(['--only', 'api', 'server.js'], project({})), /^--only needs an ecosystem file/);
  await refused(
    run(['--env', 'production', 'server.js'], project({ 'baton.config.json': {} })),
    /^--env is for PM2's ecosystem files, and baton\.config\.json has no apps$/,
  );
  await refused(run([], project({ 'baton.config.json': { workers: 2 } })), /^missing the script to run/);
});

// As PM2's documentation writes them (pm2.keymetrics.io/docs/usage/application-declaration/).
const ECOSYSTEM = `module.exports = {
  apps: [
    {
      name: 'api',
      script: './server.js',
      args: '--port 3000 --verbose',
      instances: 'max',
      exec_mode: 'cluster',
      node_args: '--max-old-space-size=512',
      wait_ready: true,
      listen_timeout: 8000,
      kill_timeout: 5000,
      watch: true,
      max_memory_restart: '300M',
      out_file: './logs/out.log',
      pid_file: './run/api.pid',
      env: { NODE_ENV: 'development', PORT: 3000 },
      env_production: { NODE_ENV: 'production' },
    },
    { name: 'worker', script: 'worker.js', instances: 2 },
  ],
};
`;

test("PM2's ecosystem file (CommonJS): --only picks the app, --env its env_NAME; what baton does not use is named once, with what to do", async () => {
  const at = project({ 'ecosystem.config.cjs': ECOSYSTEM, 'worker.js': '' });
  const r = await run(['--config', 'ecosystem.config.cjs', '--only', 'api', '--env', 'production'], at);
  assert.equal(r.script, path.join(at, 'server.js'));
  assert.deepEqual(r.args, ['--port', '3000', '--verbose']);
  assert.equal(r.options.name, 'api');
  assert.ok(r.options.workers >= 1, 'instances: max is one per CPU');
  assert.deepEqual(r.options.nodeArgs, ['--max-old-space-size=512']);
  assert.deepEqual([r.settings.waitReady, r.settings.readyTimeoutMs, r.settings.drainTimeoutMs], [true, 8000, 5000]);
  assert.equal(r.supervisor.maxMemoryBytes, 300 * 2 ** 20, 'max_memory_restart: --max-memory');
  assert.equal(r.options.pidFile, path.join(at, 'run/api.pid'), 'pid_file: --pid-file, relative to the file');
  assert.deepEqual(r.env, { NODE_ENV: 'production', PORT: '3000' });
  assert.equal(r.cwd, at);
  assert.equal(r.config.label, 'ecosystem.config.cjs (app api)');
  assert.deepEqual(r.config.warnings, [
    'ecosystem.config.cjs (app api): baton does not use watch (use your deploy tool to run baton reload), out_file (one file takes stdout and stderr both: log_file, or --log-file)',
  ]);
  const worker = await run(['--config', 'ecosystem.config.cjs', '--only', 'worker'], at);
  assert.deepEqual(
    [worker.options.workers, worker.script, worker.config.warnings],
    [2, path.join(at, 'worker.js'), []],
  );

  await refused(
    run(['--config', 'ecosystem.config.cjs'], at),
    /^ecosystem\.config\.cjs has 2 apps \(api, worker\): choose one with --only NAME$/,
  );
  await refused(
    run(['--config', 'ecosystem.config.cjs', '--only', 'web'], at),
    /^ecosystem\.config\.cjs: no app named 'web' \(apps: api, worker\)$/,
  );
  await refused(
    run(['--config', 'ecosystem.config.cjs', '--only', 'worker', '--env', 'staging'], at),
    /^ecosystem\.config\.cjs \(app worker\): env_staging is missing/,
  );
});

test("PM2's ecosystem file as ESM, and its mistakes", async () => {
  const at = project({
    'ecosystem.config.mjs': 'export default { apps: [{ name: "api", script: "server.js", instances: 4, cwd: "." }] };',
  });
  assert.equal((await run(['--config', 'ecosystem.config.mjs'], at)).options.workers, 4);
  await refused(
    run(['--config', 'e.json'], project({ 'e.json': { apps: [{ name: 'api' }] } })),
    /^e\.json \(app api\): script is missing/,
  );
  await refused(
    run(['--config', 'e.json'], project({ 'e.json': { apps: [{ script: 'server.js', kill_timeout: '5s' }] } })),
    /kill_timeout must be a whole number of milliseconds, not "5s"$/,
  );
  await refused(
    run(['--config', 'e.json'], project({ 'e.json': { apps: [{ script: 'server.js', instances: 'lots' }] } })),
    /workers: 'lots' is not a worker count/,
  );
});

test("the README's table of options is the option table's (node scripts/docs.mjs --readme writes it)", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.ok(
    readme.includes(`-->\n${optionsTable()}\n<!-- /options -->`),
    'README.md is out of date: run npm run build && node scripts/docs.mjs --readme',
  );
});

test("the shipped JSON Schema is the option table's: every key, of the type its flag takes, nothing else", () => {
  const shipped = JSON.parse(fs.readFileSync(path.join(root, 'dist/baton.config.schema.json'), 'utf8'));
  assert.deepEqual(shipped, configSchema());
  assert.equal(shipped.additionalProperties, false);
  assert.deepEqual(
    Object.keys(shipped.properties).sort(),
    ['$schema', 'args', 'script', ...RUN_OPTIONS.map((d) => d.key)].sort(),
  );
  for (const d of RUN_OPTIONS) {
    const p = shipped.properties[d.key];
    if (d.sets !== undefined) assert.equal(p.type, 'boolean', d.key);
    else if (d.list) assert.equal(p.anyOf[1].type, 'array', d.key);
    else assert.ok([p.type].flat().includes('string'), d.key);
  }
});
