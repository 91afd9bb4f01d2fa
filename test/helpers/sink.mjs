// A tiny local TCP sink standing in for Redis: each connection writes one line
// "<pid> <count>", as an app flushes what it counted in memory.
import net from 'node:net';

/**
 * Resolves with { port, flushes: [{ pid, count }], total(), close() } once listening.
 * @returns {Promise<{ port: number, flushes: { pid: number, count: number }[], total: () => number, close: () => void }>}
 */
export function startSink() {
  /** @type {{ pid: number, count: number }[]} */
  const flushes = [];
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (text += d));
    socket.on('end', () => {
      const [pid, count] = text.trim().split(' ').map(Number);
      flushes.push({ pid, count });
      socket.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
        flushes,
        total: () => flushes.reduce((n, f) => n + f.count, 0),
        close: () => server.close(),
      }),
    ),
  );
}
