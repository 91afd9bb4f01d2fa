// Which workers baton gives Node's module compile cache, and where.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCacheDir, compileCacheEnv, nodeHasCompileCache } from '../../dist/supervisor/compile-cache.js';

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
  assert.deepEqual(compileCacheEnv({ NODE_COMPILE_CACHE: '/mine' }, dir), {}, 'the user\'s own cache stays');
  assert.deepEqual(compileCacheEnv({ NODE_DISABLE_COMPILE_CACHE: '1' }, dir), {}, 'Node\'s own switch stays off');
});
