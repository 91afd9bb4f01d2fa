// scripts/test-deps.sh, which `npm test` and .ci/run start with: the Debian
// packages the suite drives are installed where missing, or the run stops
// before the first test in one line naming them and the command. Run against
// stand-ins for id, apt-get and the tools (a PATH of their own), so nothing is
// installed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root, tmpDir } from '../helpers/proc.mjs';

const script = path.join(root, 'scripts/test-deps.sh');
const bash = ['/bin/bash', '/usr/bin/bash'].find((p) => fs.existsSync(p));
const PACKAGES = 'wrk systemd python3 nginx iproute2 util-linux chromium';

/** Runs the script with only `tools` on PATH (each a stand-in printing `output`), as uid `uid`; apt-get's calls go to a log. */
function run({ uid, tools = [] }) {
  const bin = tmpDir('baton-test-deps-');
  const log = path.join(bin, 'apt.log');
  const stub = (name, body) => fs.writeFileSync(path.join(bin, name), `#!${bash}\n${body}\n`, { mode: 0o755 });
  stub('id', `echo ${uid}`);
  stub('apt-get', `echo "$DEBIAN_FRONTEND $*" >> ${log}`);
  for (const t of tools) stub(t, 'exit 0');
  const r = spawnSync(bash, [script], { encoding: 'utf8', env: { PATH: bin }, timeout: 10_000 });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  fs.rmSync(bin, { recursive: true, force: true });
  return { code: r.status, stderr: r.stderr, calls };
}

test('as a user without sudo: stops in one line naming the missing packages and the command', {
  skip: !bash && 'no bash',
}, () => {
  const r = run({ uid: 1000 });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `the tests need Debian packages that are missing: ${PACKAGES}; install them with: sudo apt-get install -y ${PACKAGES}\n`,
  );
  assert.deepEqual(r.calls, []);
});

test('as root: installs what is missing with apt-get, asking nothing', { skip: !bash && 'no bash' }, () => {
  const r = run({ uid: 0, tools: ['wrk', 'python3', 'ip', 'unshare', 'chromium', 'systemd-notify'] });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, ['noninteractive update -qq', 'noninteractive install -y -qq systemd nginx']);
});

test('with every tool there: does nothing', { skip: !bash && 'no bash' }, () => {
  const r = run({
    uid: 1000,
    tools: ['wrk', 'systemd-notify', 'systemd-socket-activate', 'python3', 'nginx', 'ip', 'unshare', 'chromium'],
  });
  assert.deepEqual(r, { code: 0, stderr: '', calls: [] });
});
