// Node's own `cluster` module as a peer: a primary forking WORKERS (2) workers
// of bench/app.mjs with the default round-robin scheduling (the primary
// accepts and hands each connection to a worker). Over its IPC channel it
// says {type:'ready'} once every worker listens and, on {type:'reload'},
// does the usual rolling restart: per worker, fork a replacement, wait until
// it listens, then SIGTERM the old one; then {type:'reloaded'}.
import cluster from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const count = Number(process.env.WORKERS ?? 2);

cluster.schedulingPolicy = cluster.SCHED_RR;
cluster.setupPrimary({ exec: path.join(here, 'app.mjs') });

const fork = () =>
  new Promise((resolve, reject) => {
    const w = cluster.fork();
    w.once('listening', () => resolve(w));
    w.once('exit', (code, signal) =>
      reject(new Error(`worker ${w.process.pid} exited (${signal ?? code}) before listening`)),
    );
  });

let workers = await Promise.all(Array.from({ length: count }, fork));
process.send?.({ type: 'ready', pids: workers.map((w) => w.process.pid) });

let reloading = false;
process.on('message', async (/** @type {{ type?: string } | undefined} */ m) => {
  if (m?.type !== 'reload' || reloading) return;
  reloading = true;
  const next = [];
  for (const old of workers) {
    next.push(await fork());
    const exited = new Promise((resolve) => old.once('exit', resolve));
    old.process.kill('SIGTERM');
    await exited;
  }
  workers = next;
  reloading = false;
  process.send?.({ type: 'reloaded', pids: workers.map((w) => w.process.pid) });
});

const stop = () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
