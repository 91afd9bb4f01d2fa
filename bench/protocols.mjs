// The protocols beyond HTTP/1.1 under `baton run -w 2`, with clients that
// behave as real ones do at a restart:
//   h2c, h2 (TLS)  examples/http2.mjs under bench/h2-load.mjs's reconnecting
//                  client, steady and with a `baton reload` every 2 s
//   WebSockets     examples/websocket.mjs with N clients sending a message
//                  a second each (bench/ws-wave.mjs), reloaded 3 times: the
//                  reconnect wave after each
//
// `npm run bench` runs them after its rows; alone, into an earlier run's
// results: `node bench/run.mjs --only protocols --soak 0 --merge results/DATE.json`.
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runH2Load } from './h2-load.mjs';
import { startBatonRun } from './targets.mjs';
import { startClients } from './ws-wave.mjs';
import { freePort, sleep, waitFor } from '../dist/testing/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const examples = path.resolve(here, '../examples');

/** Resolves once an HTTP/2 GET / on `url` answers 200. */
function h2Get(url) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { rejectUnauthorized: false });
    session.on('error', reject);
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => {
      session.close();
      return h[':status'] === 200 ? resolve() : reject(new Error(`status ${h[':status']}`));
    });
    req.on('error', reject);
    req.resume();
    req.end();
  });
}

const H2_VARIANTS = [
  { id: 'h2c', name: 'HTTP/2 cleartext (h2c)', env: { H2C: '1' }, scheme: 'http' },
  { id: 'h2-tls', name: 'HTTP/2 over TLS', env: {}, scheme: 'https' },
];

/** A `baton reload` every 2 s from 1 s in, while one still has 1 s of load after it: the HTTP/1 rows' rhythm. */
async function restartsDuring(target, durationS) {
  const startedAt = Date.now();
  const windows = [];
  for (let k = 0; 1000 + 2000 * k + 1000 <= durationS * 1000; k++) {
    await sleep(startedAt + 1000 + 2000 * k - Date.now());
    windows.push(await target.restart());
  }
  return windows;
}

async function h2Rows({ durationS, log }) {
  const rows = [];
  for (const v of H2_VARIANTS) {
    const port = await freePort();
    const url = `${v.scheme}://127.0.0.1:${port}`;
    const target = await startBatonRun({
      port,
      delayMs: 0,
      workers: 2,
      app: path.join(examples, 'http2.mjs'),
      env: v.env,
      serving: () =>
        waitFor(
          () =>
            h2Get(url).then(
              () => true,
              () => false,
            ),
          { timeoutMs: 15_000, intervalMs: 20, what: `${v.name} to serve` },
        ),
    });
    try {
      for (const scenario of ['steady', 'restart']) {
        await sleep(200);
        const [load, restarts] = await Promise.all([
          runH2Load({ url, connections: 20, streams: 10, durationS, tls: v.scheme === 'https' }),
          scenario === 'restart' ? restartsDuring(target, durationS) : [],
        ]);
        const okRestarts = restarts.filter((r) => r.ok);
        const row = {
          id: `${v.id}/${scenario}`,
          name: v.name,
          scenario,
          durationS,
          connections: 20,
          streams: 10,
          commands: target.commands,
          ...load,
          rps: load.ok / (load.durationMs / 1000),
          restarts: restarts.length,
          restartsFailed: restarts.filter((r) => !r.ok).map((r) => r.detail),
          reloadMs: okRestarts.map((r) => r.ms),
        };
        rows.push(row);
        log(
          `${v.name}, ${scenario}: ${row.ok} ok, ${row.failed} failed, ${row.refused} refused by the server, ${row.retried} retried after GOAWAY, ${Math.round(row.rps)} req/s, ${row.connectionsOpened} connections${row.restarts ? `, ${row.restarts} reloads` : ''}${Object.keys(row.errors).length ? `; errors ${JSON.stringify(row.errors)}` : ''}`,
        );
      }
    } finally {
      await target.stop();
    }
  }
  return rows;
}

async function wsReloads({ clients, reloads = 3, log }) {
  const port = await freePort();
  const target = await startBatonRun({ port, delayMs: 0, workers: 2, app: path.join(examples, 'websocket.mjs') });
  const group = startClients({ url: `ws://127.0.0.1:${port}/`, clients, everyMs: 1000 });
  try {
    await waitFor(() => group.greeted() === clients, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `${clients} WebSocket clients to connect`,
    });
    await sleep(2000);
    const waves = [];
    for (let i = 0; i < reloads; i++) {
      const wave = group.wave(group.pidsServing(), 30_000);
      const reload = await target.restart();
      const w = await wave;
      waves.push({ reloadOk: reload.ok, reloadMs: reload.ms, ...w });
      log(
        `WebSockets, reload ${i + 1}: ${w.reconnected}/${w.clients} clients on the new generation ${w.reconnectedMs === null ? 'NOT ALL' : `${w.reconnectedMs} ms after baton reload began (${w.sinceFirstCloseMs} ms after the first close)`}; new generation's echo p99 during the wave ${w.p99Ms} ms (${w.echoesDuringWave} echoes)`,
      );
      await sleep(2000);
    }
    // What is still unanswered once the clients have had time to send it again is lost.
    await waitFor(() => group.lost() === 0, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'every message to be echoed',
    }).catch(() => {});
    return { clients, everyMs: 1000, waves, lost: group.lost(), ...group.stats, commands: target.commands };
  } finally {
    group.stop();
    await target.stop();
  }
}

export async function runProtocols({ quick, durationS = quick ? 4 : 20, clients = quick ? 200 : 1000, log }) {
  const h2 = await h2Rows({ durationS, log });
  const ws = await wsReloads({ clients, log });
  log(
    `WebSockets: ${ws.sent} sent, ${ws.echoed} echoed, ${ws.resent} sent again after a reconnect, ${ws.lost} lost, ${ws.failedReconnects} failed reconnects`,
  );
  return { h2, ws };
}
