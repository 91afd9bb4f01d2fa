// When `baton upgrade` refuses because the master's pid cannot change: a
// container's PID 1, or the one child of the init `docker run --init` or
// dumb-init runs, which exits (ending the container) as its child does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pidFixedBy } from '../../dist/supervisor/upgrade.js';

test('the pid is fixed as PID 1 and under a container init, not under systemd or a shell', () => {
  assert.match(pidFixedBy(1, 0, () => undefined) ?? '', /this container's PID 1, whose pid cannot change/);
  for (const init of ['tini', 'docker-init', 'dumb-init'])
    assert.match(pidFixedBy(7, 1, () => init) ?? '', new RegExp(`the child of ${init}, this container's PID 1`));
  assert.equal(
    pidFixedBy(7, 1, () => 'systemd'),
    undefined,
  );
  assert.equal(
    pidFixedBy(7, 1, () => undefined),
    undefined,
  );
  assert.equal(
    pidFixedBy(7, 6, () => 'tini'),
    undefined,
    'a grandchild of tini is not the process tini exits with',
  );
});
