// WebSocket clients that behave like a real app's at a reload: each greets
// with the pid serving it (examples/websocket.mjs), sends a numbered message
// every `everyMs`, and on any close reconnects at once and sends again what
// was not yet echoed (at-least-once delivery, as a chat or a trading client
// does). A reload's figures, from `mark()` to the moment every client has
// been greeted by a process that was not serving before:
//   reconnectedMs  until the last client is on the new generation
//   failedReconnects  connection attempts that did not open
//   lost           messages never echoed, after a settling pause
//   p99Ms          echo latency of the new generation during the wave
import WebSocket from 'ws';

const MAX_ATTEMPTS = 20;

export function startClients({ url, clients, everyMs = 1000 }) {
  const all = [];
  const stats = { failedReconnects: 0, sent: 0, resent: 0, echoed: 0 };
  let stopped = false;
  let wave;

  function client(id) {
    const c = { id, ws: undefined, pid: undefined, pending: new Map(), seq: 0, greetedAt: 0, attempts: 0 };
    const send = (seq) => {
      if (c.ws?.readyState === WebSocket.OPEN) c.ws.send(`${id}.${seq}`);
    };
    const connect = () => {
      if (stopped) return;
      const ws = new WebSocket(url);
      c.ws = ws;
      c.pid = undefined;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        c.attempts = 0;
      });
      ws.on('message', (data) => {
        const text = String(data);
        const colon = text.indexOf(':');
        if (colon < 0) {
          c.pid = Number(text);
          c.greetedAt = performance.now();
          wave?.greeted(c);
          for (const seq of c.pending.keys()) {
            stats.resent++;
            send(seq);
          }
          return;
        }
        const seq = Number(text.slice(text.indexOf('.', colon) + 1));
        const sentAt = c.pending.get(seq);
        if (sentAt === undefined) return;
        c.pending.delete(seq);
        stats.echoed++;
        wave?.echo(Number(text.slice(0, colon)), performance.now() - sentAt);
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        if (stopped) return;
        wave?.closed();
        if (!opened) {
          stats.failedReconnects++;
          if (++c.attempts >= MAX_ATTEMPTS) return;
        }
        connect();
      });
    };
    c.connect = connect;
    c.tick = () => {
      if (c.pid === undefined) return;
      const seq = ++c.seq;
      c.pending.set(seq, performance.now());
      stats.sent++;
      send(seq);
    };
    return c;
  }

  for (let i = 0; i < clients; i++) all.push(client(i));
  for (const c of all) c.connect();
  // Spread the sends over the interval, as independent clients would.
  /** @type {NodeJS.Timeout & { k?: number }} */
  const timer = setInterval(() => {
    const slice = Math.max(1, Math.ceil(all.length / 10));
    const from = (timer.k = ((timer.k ?? -1) + 1) % 10) * slice;
    for (const c of all.slice(from, from + slice)) c.tick();
  }, everyMs / 10);

  return {
    stats,
    /** Clients greeted by a process in `pids` (all of them, when `pids` is undefined). */
    greeted: (pids) => all.filter((c) => c.pid !== undefined && (pids === undefined || pids.has(c.pid))).length,
    pidsServing: () => new Set(all.map((c) => c.pid).filter((p) => p !== undefined)),
    /** Starts a wave: resolves once every client is greeted by a pid not in `oldPids`, or after `maxMs`. */
    wave(oldPids, maxMs) {
      const t0 = performance.now();
      const moved = new Set(all.filter((c) => c.pid !== undefined && !oldPids.has(c.pid)).map((c) => c.id));
      const latencies = [];
      let firstClose;
      let resolve;
      const done = new Promise((r) => (resolve = r));
      const finish = () => {
        clearTimeout(timeout);
        wave = undefined;
        const sorted = latencies.sort((a, b) => a - b);
        resolve({
          reconnected: moved.size,
          clients: all.length,
          reconnectedMs: moved.size === all.length ? Math.round(performance.now() - t0) : null,
          sinceFirstCloseMs:
            moved.size === all.length && firstClose !== undefined ? Math.round(performance.now() - firstClose) : null,
          p99Ms: sorted.length ? Number(sorted[Math.floor(0.99 * (sorted.length - 1))].toFixed(1)) : null,
          echoesDuringWave: sorted.length,
        });
      };
      const timeout = setTimeout(finish, maxMs);
      wave = {
        closed() {
          firstClose ??= performance.now();
        },
        greeted(c) {
          if (oldPids.has(c.pid)) return;
          moved.add(c.id);
          if (moved.size === all.length) finish();
        },
        echo(pid, ms) {
          if (!oldPids.has(pid)) latencies.push(ms);
        },
      };
      if (moved.size === all.length) finish();
      return done;
    },
    /** Messages sent and never echoed. */
    lost: () => all.reduce((n, c) => n + c.pending.size, 0),
    stop() {
      stopped = true;
      clearInterval(timer);
      for (const c of all) c.ws?.terminate();
    },
  };
}
