// A TypeScript app run through tsx, as users run one: under baton run -w 2
// --node-args "--import tsx", and standalone with node --import tsx --import
// batonjs/register. Its source is changed before each reload, and the new
// generation answers with the changed code; 0 failed requests under load.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { follow } from '../../dist/testing/harness.js';
import { get, startLoad } from '../helpers/load.mjs';
import { startMaster, stopMaster } from '../helpers/master.mjs';
import { cleanup, examples, freePort, register, reload, root, sleep, tmpDir, waitFor } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const RELOADS = 3;
const T = { timeout: 180_000 };
const source = fs.readFileSync(path.join(examples, 'app.ts'), 'utf8');

/** examples/app.ts, answering `<pid> v<version>`; a change a type checker would see, too. */
function writeVersion(file, version) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the app's source text, a template literal, replaced as text
  const changed = source.replace('`${process.pid}\\n`', `\`\${process.pid} v\${${version} as number}\\n\``);
  assert.notEqual(changed, source, 'the source changed');
  fs.writeFileSync(file, changed);
}

const versionOf = (body) => Number(/^\d+ v(\d+)\n$/.exec(body)?.[1]);

/** Each reload after a source change: the new code answers; both loads see 0 failed requests. */
async function reloadsAfterChanges(t, app, file, port) {
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  await waitFor(async () => versionOf((await get(target)).body) === 1, {
    timeoutMs: 60_000,
    what: 'version 1 to answer',
  });
  const expect = (status, body) => status === 200 && versionOf(body) > 0;
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) => ({
    mode,
    load: startLoad({ target, mode, concurrency: 8, expect }),
  }));
  const codes = [];
  try {
    for (let v = 2; v <= RELOADS + 1; v++) {
      await sleep(250);
      writeVersion(file, v);
      const r = await reload(app, { timeoutMs: 90_000 });
      codes.push(r.code);
      assert.equal(r.code, 0, r.output);
      assert.equal(versionOf((await get(target)).body), v, `the new generation runs version ${v}`);
    }
    await sleep(250);
  } finally {
    for (const { load } of loads) await load.stop();
  }
  t.diagnostic(`reload exit codes: ${codes.join(' ')}`);
  for (const {
    mode,
    load: { stats },
  } of loads) {
    t.diagnostic(`${mode}: ${stats.ok} ok, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, describeFailures(mode, stats));
    assert.ok(stats.ok > 0, `${mode} was served`);
  }
}

function appFile(t) {
  const dir = tmpDir('baton-tsx-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'app.ts');
  writeVersion(file, 1);
  return file;
}

test(
  'a .ts app under baton run -w 2 --node-args "--import tsx": each reload runs the changed source, 0 failed requests',
  T,
  async (t) => {
    const port = await freePort();
    const file = appFile(t);
    const master = startMaster(['-w', '2', '--node-args', '--import tsx', file], {
      env: { PORT: String(port), HOST: '127.0.0.1' },
    });
    t.after(() => stopMaster(master));
    await reloadsAfterChanges(t, master, file, port);
  },
);

test(
  'a .ts app standalone, node --import tsx --import batonjs/register: each upgrade runs the changed source, 0 failed requests',
  T,
  async (t) => {
    const port = await freePort();
    const file = appFile(t);
    // The harness's startStandalone takes no node flags: spawned here the same way, with tsx first.
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', register, file], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BATON_LOG_FORMAT: 'text' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = Object.assign(follow(child), { kind: 'standalone', serving: child.pid });
    t.after(() => cleanup(app));
    await reloadsAfterChanges(t, app, file, port);
  },
);
