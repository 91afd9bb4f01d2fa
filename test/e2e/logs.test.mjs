// With --log-file the master keeps the last lines in memory: `baton logs`
// prints them (text as in the file, or JSON), -n the newest N, --worker one
// worker's, -f follows; GET /api/logs answers them as JSON, or streams them
// resumed after Last-Event-ID. Without --log-file there are none to read.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request, serverSentEvents, writeTokenFile } from '../helpers/http.mjs';
import { baton, cli, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root, tmpDir } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/chatty-app.mjs');
const TOKEN = 'e2e-logs-token-8d1e5b2a9c4f7e0a3b6d';

/** A master of two chatty workers (each writes `tick PID` every 20 ms), with `args`; its admin port and workers. */
async function chatty(t, args) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const admin = ['--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile];
  const master = startMaster(['-w', '2', ...admin, ...args, script], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  return { master, adminPort, workers: await readyWorkers(master, 2) };
}

const authorization = `Bearer ${TOKEN}`;

test('baton logs and GET /api/logs: the lines kept, by worker, the newest N, followed; SSE resumed after its id', {
  timeout: 60_000,
}, async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { master, adminPort, workers } = await chatty(t, ['--log-file', path.join(dir, 'baton.log')]);
  const [a, b] = workers;
  const control = ['--control', master.control];

  // Followed first: it must see lines written after it asked.
  const follower = spawn(process.execPath, [cli, 'logs', '-f', '--worker', String(b), ...control], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => follower.kill());
  const followed = await new Promise((resolve) => {
    let out = '';
    follower.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.split(`stdout[${b}] gen=1 tick ${b}\n`).length > 3) resolve(out);
    });
  });
  assert.doesNotMatch(followed, new RegExp(`\\[${a}\\]|baton gen=`), "only the worker asked for's lines");

  const text = await baton(['logs', ...control]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^\S+Z baton gen=1 info: started workers=2 pids=/m, "the master's own lines");
  assert.match(text.stdout, new RegExp(`^\\S+Z stdout\\[${a}\\] gen=1 tick ${a}$`, 'm'), 'as the file has them');
  const json = await baton(['logs', '--json', '-n', '3', '--worker', String(a), ...control]);
  const lines = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3, json.stdout);
  for (const l of lines) {
    assert.deepEqual([l.pid, l.generation, l.stream, l.line], [a, 1, 'stdout', `tick ${a}`]);
    assert.equal(typeof l.time, 'number');
  }
  assert.ok(lines[0].seq < lines[1].seq && lines[1].seq < lines[2].seq, 'oldest first');

  assert.equal((await request(adminPort, 'GET', '/api/logs')).status, 401, 'the token guards it');
  const bad = await request(adminPort, 'GET', '/api/logs?limit=0', { headers: { authorization } });
  assert.equal(bad.status, 400, bad.body);
  const get = async (query) => {
    const r = await request(adminPort, 'GET', `/api/logs?${query}`, { headers: { authorization } });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body);
  };
  const after = await get(`worker=${a}&after=${lines[0].seq}`);
  assert.equal(after.enabled, true);
  assert.deepEqual(after.lines.slice(0, 2), lines.slice(1), 'those after the seq given, oldest first');
  assert.ok(after.lines.every((l) => l.pid === a));
  const newest = await get('limit=2');
  assert.equal(newest.lines.length, 2);
  assert.ok(newest.lines[0].seq > after.lines.at(-1).seq - 2, 'the newest of them');

  const first = await serverSentEvents(adminPort, '/api/logs?limit=2', { authorization }, (ls) => ls.length >= 4);
  assert.ok(first.every((l) => l.sseId === l.seq));
  const last = first.at(-1).seq;
  const resumed = await serverSentEvents(
    adminPort,
    '/api/logs',
    { authorization, 'last-event-id': String(last) },
    (ls) => ls.some((l) => l.pid === b),
  );
  assert.equal(resumed[0].seq, last + 1, 'resumed right after the last line seen');
});

test('without --log-file: baton logs says to start with it (exit 1), the API says not enabled', {
  timeout: 60_000,
}, async (t) => {
  const { master, adminPort } = await chatty(t, []);
  const r = await baton(['logs', '--control', master.control]);
  assert.deepEqual([r.code, r.stdout], [1, '']);
  assert.match(r.stderr, /^this master keeps no log lines \(start baton run with --log-file PATH to keep them\)\n$/);
  const got = await request(adminPort, 'GET', '/api/logs', { headers: { authorization } });
  assert.deepEqual([got.status, JSON.parse(got.body)], [200, { enabled: false, lines: [] }]);
});
