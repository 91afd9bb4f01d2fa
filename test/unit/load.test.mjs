// batonjs/testing's load client: what it counts as failed, and what as retried.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startLoad } from '../../dist/testing/load.js';
import { waitFor } from '../../dist/testing/harness.js';

/**
 * Answers the first request on each connection, keeping it alive, and closes the connection when the second arrives.
 * @param {import('node:test').TestContext} t
 * @returns {Promise<import('../../dist/testing/load.js').Target>}
 */
async function closingServer(t) {
  const server = net.createServer((socket) => {
    let requests = 0;
    socket.on('data', () => {
      if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n');
      else socket.destroy();
    });
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  t.after(() => server.close());
  return {
    protocol: 'http',
    host: '127.0.0.1',
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
  };
}

test('a reused keep-alive connection closed before any response: failed, or retried with retryClosedReused', {
  timeout: 20_000,
}, async (t) => {
  const target = await closingServer(t);
  for (const retryClosedReused of [false, true]) {
    const load = startLoad({ target, concurrency: 1, maxRequests: 2, retryClosedReused });
    const { stats: s } = load;
    await waitFor(() => s.ok + s.failed + s.retried === 2, { what: 'both requests to end' });
    await load.stop();
    assert.equal(s.ok, 1);
    const key = Object.keys(retryClosedReused ? s.retries : s.failures)[0];
    assert.match(key ?? '', /\(reused\)$/, JSON.stringify(s));
    assert.equal(retryClosedReused ? s.retried : s.failed, 1, JSON.stringify(s));
    assert.equal(retryClosedReused ? s.failed : s.retried, 0, JSON.stringify(s));
  }
});
