// Which workers baton gives Node's module compile cache, and where.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  compileCacheDir,
  compileCacheEnv,
  nodeHasCompileCache,
  prepareCompileCacheDir,
} from '../../dist/supervisor/compile-cache.js';

test('Node reads NODE_COMPILE_CACHE from 22.1 on', () => {
  for (const v of ['20.20.2', '21.7.3', '22.0.0']) assert.equal(nodeHasCompileCache(v), false, v);
  for (const v of ['22.1.0', '22.23.3', '24.21.0', '26.12.1']) assert.equal(nodeHasCompileCache(v), true, v);
});

test('the cache sits beside the control socket, named after it', () => {
  assert.equal(compileCacheDir('/run/user/1000/baton/api.sock'), '/run/user/1000/baton/api.compile-cache');
  assert.equal(compileCacheDir('/srv/app/control'), '/srv/app/control.compile-cache');
});

test('set for the workers unless off, already decided by the environment, or unknown to this Node', () => {
  const dir = '/run/user/1000/baton/default.compile-cache';
  assert.deepEqual(compileCacheEnv({}, dir), nodeHasCompileCache() ? { NODE_COMPILE_CACHE: dir } : {});
  assert.deepEqual(compileCacheEnv({}, undefined), {}, '--no-compile-cache');
  assert.deepEqual(compileCacheEnv({ NODE_COMPILE_CACHE: '/mine' }, dir), {}, "the user's own cache stays");
  assert.deepEqual(compileCacheEnv({ NODE_DISABLE_COMPILE_CACHE: '1' }, dir), {}, "Node's own switch stays off");
});

test('the cache directory is made private, and one that someone else could have written is refused, never used', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fresh = path.join(dir, 'fresh.compile-cache');
  prepareCompileCacheDir(fresh);
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  prepareCompileCacheDir(fresh);
  const refused = (cache, why) =>
    assert.throws(
      () => prepareCompileCacheDir(cache),
      (/** @type {Error} */ err) => {
        assert.equal(
          err.message,
          `the compile cache '${cache}' ${why}, and its code would run in the workers: remove it (baton makes it anew, private), or run with --no-compile-cache`,
        );
        return true;
      },
    );
  const open = path.join(dir, 'open.compile-cache');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  refused(open, 'is writable by other users (mode 0777)');
  fs.chmodSync(open, 0o770);
  refused(open, 'is writable by other users (mode 0770)');
  fs.chmodSync(open, 0o755);
  prepareCompileCacheDir(open);
  assert.equal(
    fs.statSync(open).mode & 0o777,
    0o700,
    'one of ours only others could read (as Node made it by the umask) is made private',
  );
  const link = path.join(dir, 'link.compile-cache');
  fs.symlinkSync(fresh, link);
  refused(link, 'is a symbolic link, not a directory');
  if (process.getuid() === 0) {
    const theirs = path.join(dir, 'theirs.compile-cache');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, 65534, 65534);
    refused(theirs, 'belongs to uid 65534, not to this user');
  }
});
