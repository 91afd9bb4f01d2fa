// A team coming from PM2 runs its ecosystem file as it is: `baton run
// --config ecosystem.config.js --only api --env production` starts the app it
// names, with its instances and env_production, says once what of the file it
// does not use, reloads onto the same settings, and `baton status` says where
// each setting came from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { get } from '../helpers/load.mjs';
import { baton, readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { freePort, tmpDir, waitFor } from '../helpers/proc.mjs';

test('baton run --config ecosystem.config.js --only api --env production', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir('baton-ecosystem-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'server.js'),
    `require('node:http').createServer((req, res) => res.end(process.env.NODE_ENV + ' ' + process.argv.slice(2).join(' '))).listen(${port}, '127.0.0.1');\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'ecosystem.config.js'),
    `module.exports = {
  apps: [
    { name: 'api', script: 'server.js', args: '--from ecosystem', instances: 2, exec_mode: 'cluster', kill_timeout: 4000, watch: true,
      env: { NODE_ENV: 'development' }, env_production: { NODE_ENV: 'production' } },
    { name: 'cron', script: 'cron.js' },
  ],
};
`,
  );
  const master = startMaster(['--config', 'ecosystem.config.js', '--only', 'api', '--env', 'production'], {
    cwd: dir,
    env: { PWD: dir },
  });
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  assert.equal((await get(target)).body, 'production --from ecosystem');
  assert.match(master.output, /settings from ecosystem\.config\.js \(app api\)/);
  assert.match(
    master.output,
    /warn: ecosystem\.config\.js \(app api\): baton does not use watch \(use your deploy tool to run baton reload\)/,
  );
  const s = await status(master);
  assert.deepEqual(s.settings, [
    { key: 'workers', value: '2', from: 'ecosystem.config.js (app api)' },
    { key: 'name', value: 'api', from: 'ecosystem.config.js (app api)' },
    { key: 'control', value: master.control, from: '--control' },
    { key: 'drainTimeout', value: '4s', from: 'ecosystem.config.js (app api)' },
    { key: 'crashWindow', value: '0', from: '--crash-window' },
  ]);
  const text = await baton(['status', '--control', master.control]);
  assert.match(text.stdout, /settings +workers=2 \(ecosystem\.config\.js \(app api\)\), name=api/);

  const r = await baton(['reload', '--control', master.control]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitFor(async () => (await status(master)).generation === 2, { what: 'generation 2' });
  assert.equal((await get(target)).body, 'production --from ecosystem', 'the new generation has the same settings');
});
