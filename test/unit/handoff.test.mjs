// Unit tests for dist/supervisor/handoff.js: where the master sends a
// connection a draining worker handed over, with fake workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Handoff } from '../../dist/supervisor/handoff.js';

const A = 'tcp:127.0.0.1:8080';
const B = 'unix:/run/app.sock';

/** A fake worker: what it was handed, and whether its channel takes it. */
function worker(generation, state, listening, takes = true) {
  let exit;
  return {
    generation, state, listening, got: [],
    exited: new Promise((resolve) => (exit = resolve)),
    exit: () => exit({ code: 0, signal: null }),
    handOver(address, handle) {
      this.got.push([address, handle.fd]);
      return Promise.resolve(takes);
    },
  };
}

/** A fake handle that counts its closes. */
const handle = (fd) => ({ fd, closed: 0, close() { this.closed++; } });
const settled = () => new Promise((resolve) => setImmediate(resolve));

test('a connection goes to the ready workers of the newest generation that listen on its address, in turn; the master closes its copy', async () => {
  const h = new Handoff();
  const old = h.add(worker(1, 'draining', [A]));
  const elsewhere = h.add(worker(3, 'ready', [B]));
  const starting = h.add(worker(3, 'starting', [A]));
  const older = h.add(worker(2, 'ready', [A]));
  const [x, y] = [h.add(worker(3, 'ready', [A, B])), h.add(worker(3, 'ready', [A]))];
  const handles = [handle(10), handle(11), handle(12)];
  for (const hd of handles) h.forward(old, A, hd);
  await settled();
  assert.deepEqual([...x.got, ...y.got].map(([, fd]) => fd).sort(), [10, 11, 12]);
  assert.ok(x.got.length >= 1 && y.got.length >= 1, 'not taken in turn');
  assert.deepEqual([old, elsewhere, starting, older].map((w) => w.got.length), [0, 0, 0, 0]);
  assert.deepEqual(handles.map((hd) => hd.closed), [1, 1, 1]);
});

test('with no ready worker listening there, or one whose channel fails, the connection goes back to its sender; an exited worker receives none', async () => {
  const h = new Handoff();
  const old = h.add(worker(1, 'draining', [A]));
  const other = h.add(worker(2, 'ready', [B]));
  h.forward(old, A, handle(20));
  const broken = h.add(worker(2, 'ready', [A], false));
  h.forward(old, A, handle(21));
  broken.exit();
  await settled();
  h.forward(old, A, handle(22));
  await settled();
  assert.deepEqual(old.got, [[A, 20], [A, 21], [A, 22]]);
  assert.deepEqual(broken.got, [[A, 21]]);
  assert.deepEqual(other.got, []);
});
