// Every threshold the bench judges, in one table: bench/report.mjs judges
// each against a run's figures (its judge of the same id) and RESULTS.md
// lists each, measured or not, with what was measured and whether it is met.
// A new target is a row here and a judge there.
const MB = 2 ** 20;

export const THRESHOLDS = [
  {
    id: 'restart-failures',
    limit: 0,
    text: (n) =>
      `baton: ${n} failed and ${n} refused requests in every restart row (keep-alive included, 0 ms handler too, the heavy app too)`,
  },
  {
    id: 'one-worker',
    limit: 3,
    text: (pct) =>
      `steady state, 1 worker: throughput within ${pct} % of bare node (0 ms handler), on every Node version measured`,
  },
  {
    id: 'request-counting',
    limit: 1,
    text: (pct) =>
      `the workers' request counting: baton run -w 1 with it on within ${pct} % of it off in req/s (0 ms handler, keep-alive, loaded at once)`,
  },
  {
    id: 'two-workers-vs-pm2',
    limit: 1.5,
    text: (x) => `steady state, 2 workers, new connection per request: at least ${x}× PM2 cluster ×2 (0 ms handler)`,
  },
  {
    id: 'soak-flat',
    limit: 10,
    text: (pct) =>
      `master fds, RSS and children flat over the soak (fds and children unchanged, RSS within ${pct} % of its value after the warm-up)`,
  },
  {
    id: 'soak-heap',
    limit: 2 * MB,
    text: (bytes) =>
      `master heap used at the end of the soak within ${bytes / MB} MB of its value after a tenth of it (after a full GC)`,
  },
  {
    id: 'preload',
    limit: 10,
    text: (ms) => `preload cost: app start with the preload minus without, alternating pairs, under ${ms} ms`,
  },
  {
    id: 'h2-restarts',
    limit: 0,
    text: (n) =>
      `HTTP/2 (h2c and TLS), a reload every 2 s under a client that reconnects as real ones do: ${n} failed requests, ${n} streams refused by the server`,
  },
  {
    id: 'ws-reconnect',
    limit: 2000,
    text: (ms) =>
      `WebSockets, 1,000 clients, 3 reloads: 0 failed reconnects, 0 lost messages, every client on the new generation within ${ms} ms of the first close`,
  },
  {
    id: 'paused-clients',
    limit: 0,
    text: (n) =>
      `clients each on a keep-alive connection of their own, pausing 1–2.5 s, a restart every 3 s: baton ${n} failed requests (run -w 2 and standalone)`,
  },
  {
    id: 'paused-drain',
    limit: 100,
    text: (ms) =>
      `those clients: the old generation drained under ${ms} ms after the new one is ready (idle connections moved, not waited for)`,
  },
  {
    id: 'leak-soak',
    limit: 0,
    text: (n) =>
      `a leaking app under --max-memory for 10 minutes, its workers replaced again and again: ${n} failed requests, the workers' RSS bounded, the master's memory flat`,
  },
  {
    id: 'node-switch',
    limit: 0,
    text: (n) =>
      `the workers moved onto another Node.js (24, 26 and back) every 3 s under load: ${n} failed or refused requests`,
  },
  {
    id: 'canary-share',
    limit: 0,
    text: (n) =>
      `a release answering 500, reloaded with --canary 1 into baton run -w 4 under load: rolled back, at most the canary's share of the requests meanwhile failed, ${n} after`,
  },
  {
    id: 'reload-overhead',
    limit: 100,
    text: (ms) =>
      `a reload takes under ${ms} ms beyond the app's own start (the new generation's, in that reload) until the old generation has drained (its last connection closed; its processes' exit after that is shown beside it), under load, in every baton restart row, the heavy app included`,
  },
];
