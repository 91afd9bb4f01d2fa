// Unit tests for dist/log.js: a text line leaves out empty fields (the master's
// start-up line said `sockets=` before any worker listened).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const logUrl = new URL('../../dist/log.js', import.meta.url).href;

/** What log() writes on stderr for `fields`, in a process of its own (it writes to fd 2). */
function line(fields) {
  const script = `import(${JSON.stringify(logUrl)}).then((m) => m.log('info', 'started', ${JSON.stringify(fields)}))`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 }).stderr;
}

test('a text line leaves out empty and unset fields, and keeps 0 and false', () => {
  const text = line({ workers: 2, pids: '11,12', sockets: '', release: undefined, cut: 0, ok: false });
  assert.match(text, / info: started workers=2 pids=11,12 cut=0 ok=false\n$/);
});
