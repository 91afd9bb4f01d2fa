// Unit tests for dist/supervisor/handoff.js: where the master sends a
// connection a draining worker handed over, with fake workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Handoff } from '../../dist/supervisor/handoff.js';

const A = 'tcp:127.0.0.1:8080';
const B = 'unix:/run/app.sock';

/** A fake worker: what it was handed and told, and whether it takes a connection. */
function worker(generation, state, listening, takes = true) {
  let exit;
  return {
    generation,
    state,
    listening,
    got: [],
    told: [],
    exited: new Promise((resolve) => (exit = resolve)),
    exit: () => exit({ code: 0, signal: null }),
    handOver(address, handle) {
      this.got.push([address, handle.fd]);
      return Promise.resolve(takes);
    },
    send(body) {
      this.told.push(body);
      return true;
    },
  };
}

/** A fake handle that counts its closes. */
const handle = (fd) => ({
  fd,
  closed: 0,
  close() {
    this.closed++;
  },
});
const settled = () => new Promise((resolve) => setImmediate(resolve));

test('a connection goes to the ready workers of the newest generation that listen on its address, in turn; the sender is told; the master closes its copy', async () => {
  const h = new Handoff();
  const old = h.add(worker(1, 'draining', [A]));
  const others = [h.add(worker(3, 'ready', [B])), h.add(worker(3, 'starting', [A])), h.add(worker(2, 'ready', [A]))];
  const [x, y] = [h.add(worker(3, 'ready', [A, B])), h.add(worker(3, 'ready', [A]))];
  const handles = [handle(10), handle(11), handle(12)];
  handles.forEach((hd, id) => h.forward(old, id, A, hd));
  await settled();
  assert.deepEqual([...x.got, ...y.got].sort(), [
    [A, 10],
    [A, 11],
    [A, 12],
  ]);
  assert.ok(x.got.length >= 1 && y.got.length >= 1, 'not taken in turn');
  assert.deepEqual(
    others.map((w) => w.got.length),
    [0, 0, 0],
  );
  assert.deepEqual(
    old.told,
    [0, 1, 2].map((id) => ({ type: 'connection-taken', id, taken: true })),
  );
  assert.deepEqual(
    handles.map((hd) => hd.closed),
    [1, 1, 1],
  );
});

test('with no ready worker listening there, or one that does not take it, the sender is told it was not taken (it keeps it); an exited worker receives none', async () => {
  const h = new Handoff();
  const old = h.add(worker(1, 'draining', [A]));
  const other = h.add(worker(2, 'ready', [B]));
  h.forward(old, 0, A, handle(20));
  const broken = h.add(worker(2, 'ready', [A], false));
  h.forward(old, 1, A, handle(21));
  await settled();
  broken.exit();
  await settled();
  const last = handle(22);
  h.forward(old, 2, A, last);
  await settled();
  assert.deepEqual(
    old.told,
    [0, 1, 2].map((id) => ({ type: 'connection-taken', id, taken: false })),
  );
  assert.deepEqual(broken.got, [[A, 21]]);
  assert.deepEqual(other.got, []);
  assert.equal(last.closed, 1);
});

test('Handing (either end of a channel): each connection waits for the answer with its id; an unwritten one, or one outstanding when the peer goes, is not taken', async () => {
  const { Handing } = await import('../../dist/generation/handing.js');
  const sent = [];
  /** @typedef {import('../../dist/generation/channel.js').Channel} Channel */
  /** A channel whose sendHandle() resolves `written`: all of one that Handing uses. */
  const channel = (written) => {
    /** @type {Pick<Channel, 'sendHandle'>} */
    const fake = {
      sendHandle: (body, h) => {
        sent.push([body, h.fd]);
        return Promise.resolve(written);
      },
    };
    return /** @type {Channel} */ (fake);
  };
  const h = new Handing();
  const first = h.send(channel(true), A, handle(1));
  const second = h.send(channel(true), B, handle(2));
  const unwritten = h.send(channel(false), A, handle(3));
  const outstanding = h.send(channel(true), A, handle(4));
  h.answer(1, false);
  h.answer(0, true);
  h.answer(7, true);
  assert.deepEqual(await Promise.all([first, second, unwritten]), [true, false, false]);
  h.end();
  assert.equal(await outstanding, false);
  assert.deepEqual(sent, [
    [{ type: 'connection', id: 0, address: A }, 1],
    [{ type: 'connection', id: 1, address: B }, 2],
    [{ type: 'connection', id: 2, address: A }, 3],
    [{ type: 'connection', id: 3, address: A }, 4],
  ]);
});
