// Unit tests for dist/supervisor/releases.js: which names are releases of a
// directory (each refusal with its own message), what `current` points to
// (and the one-line error when it points to none), the listing, and the
// atomic switch of `current`, on a real directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { currentRelease, listReleases, names, pointCurrent, releasePath } from '../../dist/supervisor/releases.js';
import { ReloadRefused } from '../../dist/protocol/control.js';
import { DEFAULTS } from '../../dist/protocol/settings.js';
import { SocketTable } from '../../dist/supervisor/sockets.js';
import { workerSpawner } from '../../dist/supervisor/worker.js';
import { root, tmpDir, within } from '../helpers/proc.mjs';

/** DIR with releases v1 and v2, a file, a link out of DIR, a link to v2, and current -> v1; `outside` is another directory. */
function layout(t) {
  const root = tmpDir('baton-releases-unit-');
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'releases');
  const outside = path.join(root, 'elsewhere');
  for (const d of [path.join(dir, 'v1'), path.join(dir, 'v2', 'sub'), outside]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.txt'), '');
  fs.symlinkSync(outside, path.join(dir, 'escape'));
  fs.symlinkSync('v2', path.join(dir, 'latest'));
  fs.symlinkSync('v1', path.join(dir, 'current'));
  return { dir, outside };
}

const refused = (fn, message) =>
  assert.throws(fn, (/** @type {Error} */ err) => {
    assert.ok(err instanceof ReloadRefused, err.stack);
    assert.equal(err.busy, false);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });

test('a release is a directory directly in DIR: every other name is refused with its reason', (t) => {
  const { dir, outside } = layout(t);
  assert.equal(releasePath(dir, 'v1'), fs.realpathSync(path.join(dir, 'v1')));
  assert.equal(releasePath(dir, 'latest'), fs.realpathSync(path.join(dir, 'v2')), 'a link to a release in DIR is one');
  /** @type {[string, RegExp][]} */
  const cases = [
    ['..', /^release '\.\.' starts with '\.'/],
    ['.', /^release '\.' starts with '\.'/],
    ['a/b', /^release 'a\/b' holds a '\/'/],
    ['v2/sub', /^release 'v2\/sub' holds a '\/'/],
    ['../releases/v1', /holds a '\/'|starts with '\.'/],
    ['/etc', /^release '\/etc' is an absolute path/],
    ['', /^release '' is empty/],
    ['escape', new RegExp(`^release 'escape' links out of ${dir} \\(to ${fs.realpathSync(outside)}\\)`)],
    ['v9', new RegExp(`^release 'v9' is not in ${dir}`)],
    ['notes.txt', /^release 'notes\.txt' is not a directory/],
    ['current', /^release 'current' is the link baton manages, not a release/],
    ['v1\n', /^release "v1\\n" holds a control character/],
    ['x'.repeat(256), /is longer than 255 bytes/],
  ];
  for (const [name, message] of cases) refused(() => releasePath(dir, name), message);
  for (const [name] of cases)
    assert.throws(() => releasePath(dir, name), /give the name of a directory in .* \(baton releases lists them\)$/);
});

test('the listing: releases sorted, current and serving marked; current, files, hidden names and links out left out', (t) => {
  const { dir } = layout(t);
  fs.mkdirSync(path.join(dir, '.cache'));
  assert.deepEqual(names(dir), ['latest', 'v1', 'v2']);
  assert.deepEqual(listReleases(dir, 'v2'), {
    dir,
    current: 'v1',
    serving: 'v2',
    releases: [
      { name: 'latest', current: false, serving: false },
      { name: 'v1', current: true, serving: false },
      { name: 'v2', current: false, serving: true },
    ],
  });
  fs.rmSync(path.join(dir, 'current'));
  assert.deepEqual(listReleases(dir, null).current, null, 'no current: none is marked');
});

test('current: the release it points to, or one line naming DIR and the fix', (t) => {
  const { dir, outside } = layout(t);
  const link = path.join(dir, 'current');
  assert.equal(currentRelease(dir), 'v1');
  const repoint = (target) => {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link);
  };
  repoint(path.join(dir, 'v2'));
  assert.equal(currentRelease(dir), 'v2', 'an absolute link into DIR');
  repoint('./v1');
  assert.equal(currentRelease(dir), 'v1');
  const fix = `point it at a release: ln -sfn latest ${link}`;
  repoint('v9');
  refused(
    () => currentRelease(dir),
    new RegExp(`^--releases ${dir}: ${link} points to v9, which is not in ${dir}; ${fix}$`),
  );
  repoint(outside);
  refused(() => currentRelease(dir), new RegExp(`points to ${outside}, which is not in ${dir}; `));
  repoint('escape');
  refused(() => currentRelease(dir), /points to escape, which links out of /);
  repoint('v2/sub');
  refused(() => currentRelease(dir), /points to v2\/sub, which is not in /);
  fs.rmSync(link);
  refused(() => currentRelease(dir), new RegExp(`^--releases ${dir}: ${link} is missing; ${fix}$`));
  fs.mkdirSync(link);
  refused(() => currentRelease(dir), /current is not a link; replace it with one: point it at a release/);
});

test('pointCurrent: a new link renamed over the old one, relative to DIR, nothing left behind', (t) => {
  const { dir } = layout(t);
  const before = fs.readdirSync(dir).sort();
  pointCurrent(dir, 'v2');
  assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'v2');
  assert.equal(currentRelease(dir), 'v2');
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'no temporary link left');
  // A current that is a directory cannot be renamed over: the error is the caller's, and no temporary link stays.
  fs.rmSync(path.join(dir, 'current'));
  fs.mkdirSync(path.join(dir, 'current', 'x'), { recursive: true });
  assert.throws(() => pointCurrent(dir, 'v1'), { code: /EISDIR|ENOTEMPTY|EEXIST/ });
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
});

test('a release swapped for a link after its generation started: its workers, respawns included, still start in the release checked', async (t) => {
  const { dir, outside } = layout(t);
  const app = 'app.mjs';
  // Each writes which copy it is and where it runs, then exits.
  const say = (who) =>
    `import fs from 'node:fs';\nfs.writeFileSync(process.env.OUT, JSON.stringify({ who: '${who}', cwd: process.cwd() }));\nprocess.exit(0);\n`;
  fs.writeFileSync(path.join(dir, 'v1', app), say('v1'));
  fs.writeFileSync(path.join(outside, app), say('outside'));
  const out = path.join(outside, 'out.json');
  const spawner = workerSpawner(
    {
      execPath: process.execPath,
      nodeArgs: [],
      register: path.join(root, 'dist/register.js'),
      script: app,
      args: [],
      cwd: dir,
      env: { ...process.env, OUT: out },
      settings: { ...DEFAULTS, generation: 1 },
    },
    new SocketTable(),
  );
  const launch = spawner(1, releasePath(dir, 'v1'));
  fs.renameSync(path.join(dir, 'v1'), path.join(dir, 'v1.moved'));
  fs.symlinkSync(outside, path.join(dir, 'v1'));
  const worker = launch();
  t.after(() => worker.kill());
  await within(worker.exited, 30_000, 'the worker to exit');
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), {
    who: 'v1',
    cwd: fs.realpathSync(path.join(dir, 'v1.moved')),
  });
  assert.throws(
    () => spawner(2, path.join(dir, 'v1')),
    /release .* cannot be opened \((ELOOP|ENOTDIR)\): it was replaced or removed as it was started/,
    'a generation whose release is a link by now is refused',
  );
});
