// The least time Node's IPC channel takes to carry idle connections from one
// process to another, with nothing else running: the floor under baton's
// hand-over of idle keep-alive connections (bench/paused.mjs). Node sends a
// socket, then waits for the receiver's acknowledgement before the next one
// (lib/internal/child_process.js: one handle in flight per channel), so the
// floor grows with the count, one round trip each, whatever the sender does.
//
// Alone: `node bench/ipc-floor.mjs [COUNT]`.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

/**
 * The sender: accepts `count` connections, then sends them to its parent, each
 * as the one before is written: Node's queue then holds one at most (it walks
 * the whole queue at every acknowledgement, so thousands queued at once cost
 * more than the channel).
 */
function sender(count) {
  const sockets = [];
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.push(socket);
    if (sockets.length < count) return;
    process.send({ type: 'start' });
    const next = (i) => i < count && process.send({ type: 'socket' }, sockets[i], () => next(i + 1));
    next(0);
  });
  server.listen(0, '127.0.0.1', () =>
    process.send({ type: 'port', port: /** @type {net.AddressInfo} */ (server.address()).port }),
  );
}

/** Milliseconds from the first socket sent to the `count`th received, over one channel. */
export function ipcFloor(count, { timeoutMs = 60_000 } = {}) {
  const child = fork(SELF, ['sender', String(count)], { stdio: 'ignore' });
  const clients = [];
  let timer;
  return new Promise((resolve, reject) => {
    let started = 0;
    let received = 0;
    timer = setTimeout(() => reject(new Error(`${received} of ${count} sockets in ${timeoutMs} ms`)), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the sender exited (${code}) after ${received} sockets`)));
    child.on('message', (/** @type {{ type: string, port?: number }} */ m, /** @type {net.Socket} */ socket) => {
      if (m.type === 'port') {
        for (let i = 0; i < count; i++) clients.push(net.connect(m.port, '127.0.0.1').on('error', () => {}));
      } else if (m.type === 'start') {
        started = performance.now();
      } else if (m.type === 'socket') {
        socket.destroy();
        if (++received === count) resolve(Math.round(performance.now() - started));
      }
    });
  }).finally(() => {
    clearTimeout(timer);
    child.removeAllListeners('exit');
    child.kill();
    for (const c of clients) c.destroy();
  });
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'sender') sender(Number(process.argv[3]));
  else {
    const count = Number(process.argv[2] ?? 2000);
    console.log(`${count} idle sockets over one IPC channel: ${await ipcFloor(count)} ms`);
  }
}
