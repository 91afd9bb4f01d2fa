// The master's timeline: every line it logs, kept with a rising id. `baton
// events` prints those kept; `-f` follows them as they come; GET /api/events
// streams them, resumed after Last-Event-ID. A reload's lines say who asked:
// the CLI, a signal, the admin API.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { request, serverSentEvents, writeTokenFile } from '../helpers/http.mjs';
import { baton, cli, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { freePort, root } from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/slow-request-app.mjs');
const TOKEN = 'e2e-events-token-3c9a1f0e7d2b4a6c8e0f';

test('baton events: the timeline kept, each reload saying who asked; -f follows it as it comes', {
  timeout: 60_000,
}, async (t) => {
  const port = await freePort();
  const master = startMaster(['-w', '1', script], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  assert.equal((await baton(['reload', '--control', master.control])).code, 0);

  const kept = await baton(['events', '--control', master.control]);
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stdout, /info: started workers=1/);
  assert.match(kept.stdout, /info: reload requested by=cli\n[\s\S]*info: reload: done next=2/);
  const json = await baton(['events', '--control', master.control, '--json']);
  const ids = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id);
  assert.deepEqual(
    ids,
    ids.map((_, i) => ids[0] + i),
    'rising ids, none missing',
  );

  const follower = spawn(process.execPath, [cli, 'events', '-f', '--control', master.control], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => follower.kill());
  let followed = '';
  follower.stdout.setEncoding('utf8').on('data', (d) => (followed += d));
  const seen = (re) =>
    new Promise((resolve) => {
      const check = () => re.test(followed) && resolve(undefined);
      follower.stdout.on('data', check);
      check();
    });
  await seen(/reload: done next=2/);
  process.kill(/** @type {number} */ (master.child.pid), 'SIGHUP');
  await seen(/reload requested by=SIGHUP\n[\s\S]*reload: done next=3/);
});

test('GET /api/events: Server-Sent Events, resumed after Last-Event-ID; a reload through the API says so', {
  timeout: 60_000,
}, async (t) => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const master = startMaster(['--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile, script], {
    env: { PORT: String(port) },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 1);
  const authorization = `Bearer ${TOKEN}`;
  const refused = await request(adminPort, 'GET', '/api/events');
  assert.equal(refused.status, 401, 'the token guards it');

  const stream = async (headers, until) => {
    const events = await serverSentEvents(adminPort, '/api/events', { authorization, ...headers }, until);
    for (const e of events) assert.equal(e.sseId, e.id);
    return events;
  };
  const first = await stream({}, (es) => es.some((e) => e.text.startsWith('started')));
  const last = first.at(-1).id;
  const resumed = stream({ 'last-event-id': String(last) }, (es) => es.some((e) => e.text.startsWith('reload: done')));
  const r = await request(adminPort, 'POST', '/api/reload', { headers: { authorization } });
  assert.equal(r.status, 200, r.body);
  const after = await resumed;
  assert.ok(
    after.every((e) => e.id > last),
    'only what came after the last id seen',
  );
  assert.ok(
    after.some((e) => e.text === 'reload requested' && e.fields.by === 'api'),
    JSON.stringify(after),
  );
});
