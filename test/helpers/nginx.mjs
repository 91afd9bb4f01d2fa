// A real nginx (the Debian package) in front of baton masters, started by the
// test with its own prefix and configuration, and the endpoints controller a
// Kubernetes cluster would run beside it: a probe loop on each backend's
// /readyz that takes a backend out of nginx's upstream when it turns not ready.
// The upstream settings are the ones docs/load-balancer.md recommends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { get, startLoad } from './load.mjs';
import { freePort, sleep, tmpDir, tool, waitFor, waitForLine, within } from './proc.mjs';

const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

/** @typedef {import('../../dist/testing/load.js').Target} Target */
/** @typedef {{ name: string, server: string, readyz: Target }} Backend */
/** @typedef {Awaited<ReturnType<typeof startNginx>>} Nginx */
/**
 * A change a probe saw ({ backend, probe }), nginx applied ({ upstream }), or a test's own ({ event }).
 * @typedef {{ at: number, backend?: string, probe?: string, upstream?: string[], event?: string }} Transition
 */

/** nginx.conf for an upstream of `servers` (HOST:PORT), served on `listen`; /_config answers `version`. */
function config(prefix, listen, servers, version) {
  return `daemon off;
worker_processes 2;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
${TEMP_PATHS.map((p) => `  ${p}_temp_path ${prefix}/tmp/${p};`).join('\n')}
  upstream app {
${servers.map((s) => `    server ${s} max_fails=1 fail_timeout=2s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
    }
    location = /_config {
      return 200 "${version}\\n";
    }
  }
}
`;
}

/**
 * Starts nginx on 127.0.0.1:`port` in front of `servers`; stopped (by pid)
 * when the test ends. setServers() rewrites the upstream, reloads nginx
 * (SIGHUP to its master) and resolves once new connections get the new
 * configuration.
 * @param {import('node:test').TestContext} t
 * @param {{ port: number, servers: string[] }} options
 */
export async function startNginx(t, { port, servers }) {
  const prefix = tmpDir('baton-nginx-');
  for (const p of TEMP_PATHS) fs.mkdirSync(path.join(prefix, 'tmp', p), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  /** @type {Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  let version = 1;
  fs.writeFileSync(conf, config(prefix, `127.0.0.1:${port}`, servers, version));
  // -e: the error log before the configuration is read, which would be /var/log/nginx's.
  const child = spawn(tool('nginx'), ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(exited, 20_000, 'nginx to exit');
    fs.rmSync(prefix, { recursive: true, force: true });
  });
  const applied = (v) =>
    waitFor(async () => (await get(target, '/_config', 2000)).body.trim() === String(v), {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: `nginx to serve configuration ${v} (${prefix}/error.log)`,
    });
  await applied(version);
  return {
    target,
    pid: child.pid,
    log: () => fs.readFileSync(path.join(prefix, 'error.log'), 'utf8'),
    /** @param {string[]} next */
    async setServers(next) {
      if (next.length === 0) throw new Error('an nginx upstream needs at least one server');
      fs.writeFileSync(conf, config(prefix, `127.0.0.1:${port}`, next, ++version));
      child.kill('SIGHUP');
      await applied(version);
    },
  };
}

/**
 * Kubernetes' endpoints controller, played: every `periodMs` it probes each
 * backend's /readyz ({ name, server: 'HOST:PORT' in the upstream, readyz: a
 * target }); when the set of ready backends changes, nginx's upstream becomes
 * that set. `transitions` records each change a probe saw and each change
 * nginx applied, with the time (Date.now()). Runs until stop() or `maxMs`.
 * @param {Pick<Nginx, 'setServers'>} nginx
 * @param {Backend[]} backends
 * @param {{ periodMs?: number, maxMs?: number }} [options]
 */
export function endpointsController(nginx, backends, { periodMs = 100, maxMs = 300_000 } = {}) {
  const state = new Map(backends.map((b) => [b.name, 'ready']));
  /** @type {Transition[]} */
  const transitions = [];
  let inUpstream = backends.map((b) => b.name);
  let stopped = false;
  /** @param {Backend} b */
  const probe = async (b) => {
    try {
      const { status } = await get(b.readyz, '/readyz', 1000);
      return status === 200 ? 'ready' : `not ready (${status})`;
    } catch (err) {
      return `unreachable (${err.code ?? err.message})`;
    }
  };
  const loop = (async () => {
    const started = Date.now();
    while (!stopped && Date.now() - started < maxMs) {
      const seen = await Promise.all(backends.map(probe));
      backends.forEach((b, i) => {
        if (seen[i] === state.get(b.name)) return;
        transitions.push({ at: Date.now(), backend: b.name, probe: seen[i] });
        state.set(b.name, seen[i]);
      });
      const ready = backends.filter((b) => state.get(b.name) === 'ready');
      const names = ready.map((b) => b.name);
      if (ready.length > 0 && names.join() !== inUpstream.join()) {
        await nginx.setServers(ready.map((b) => b.server));
        transitions.push({ at: Date.now(), upstream: names });
        inUpstream = names;
      }
      await sleep(periodMs);
    }
  })();
  return {
    transitions,
    /** Resolves once nginx no longer sends new requests to `name`. */
    removed: (/** @type {string} */ name) =>
      waitFor(() => !inUpstream.includes(name), {
        timeoutMs: 60_000,
        intervalMs: 20,
        what: `${name} to leave nginx's upstream`,
      }),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * nginx in front of `backends`, the endpoints controller beside it, and load
 * through nginx, keep-alive and a new connection per request (`loads`, in that
 * order), all stopped when the test ends. Closes by nginx's own reloads are
 * counted apart (retryClosedReused). `flowing(what)` resolves once 300 more
 * requests have been served.
 * @param {import('node:test').TestContext} t
 * @param {Backend[]} backends
 */
export async function loadBalanced(t, backends) {
  const nginx = await startNginx(t, { port: await freePort(), servers: backends.map((b) => b.server) });
  const controller = endpointsController(nginx, backends);
  t.after(() => controller.stop());
  const loads = /** @type {const} */ (['keepalive', 'close']).map((mode) =>
    startLoad({ target: nginx.target, mode, concurrency: 8, retryClosedReused: true }),
  );
  t.after(() => Promise.all(loads.map((l) => l.stop())));
  const served = () => loads.reduce((n, l) => n + l.stats.ok, 0);
  return {
    nginx,
    controller,
    loads,
    /** @param {string} what */
    async flowing(what) {
      const before = served();
      await waitFor(() => served() > before + 300, { timeoutMs: 30_000, what });
    },
  };
}

/**
 * Resolves with the time a `baton run` master starts to drain for its stop.
 * @param {import('../../dist/testing/harness.js').Followed} master
 * @param {number} timeoutMs
 */
export function drainStart(master, timeoutMs) {
  return waitForLine(master, (l) => (l.text.startsWith('stopping: draining all workers') ? Date.now() : undefined), {
    timeoutMs,
    what: 'the master to start draining',
  });
}

/**
 * The transitions (and other events: { at, event }) as lines in the order they
 * happened, their times in ms from `t0`, for the test's diagnostics.
 * @param {Transition[]} events
 * @param {number} t0
 */
export function describeTransitions(events, t0) {
  const what = (/** @type {Transition} */ x) =>
    x.event ?? (x.backend ? `${x.backend} /readyz ${x.probe}` : `nginx upstream = ${x.upstream.join(', ')}`);
  return [...events].sort((x, y) => x.at - y.at).map((x) => `+${x.at - t0} ms: ${what(x)}`);
}
