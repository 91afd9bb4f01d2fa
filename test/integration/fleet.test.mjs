// A fleet behind a real load balancer: two hosts, each a network namespace with
// its own address on a bridge, each running `baton run -w 2 --admin
// 0.0.0.0:9090` on its own `current -> releases/vN`; nginx in the root
// namespace in front, with the test's /readyz endpoints controller. Under
// load through nginx (keep-alive and a new connection per request):
// (a) both hosts reloaded one after the other with examples/rolling-reload.mjs;
// (b) a broken release rolled out the same way stops at the first host, which
// rolls back, and the second is never touched; (c) one host stopped for
// maintenance with --shutdown-delay while the controller takes it out of
// nginx. Each: 0 failed requests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request, rollingReload, writeTokenFile } from '../helpers/http.mjs';
import { get } from '../helpers/load.mjs';
import { readyWorkers, startMaster, status, stopMaster } from '../helpers/master.mjs';
import { describeTransitions, drainStart, loadBalanced } from '../helpers/nginx.mjs';
import { deployDir, switchTo } from '../helpers/releases.mjs';
import { tmpDir, within } from '../helpers/proc.mjs';
import { describeFailures } from '../helpers/scenario.mjs';

const TOKEN = 'fleet-admin-token-5b0c2e9a41c3d7e8';
const APP_PORT = 8080;
const ADMIN_PORT = 9090;
const SHUTDOWN_DELAY_MS = 3000;
const DRAIN_TIMEOUT_MS = 20_000;

function hasIp() {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip =
  process.platform !== 'linux'
    ? 'network namespaces are Linux only'
    : process.getuid() !== 0
      ? 'making network namespaces needs root'
      : !hasIp()
        ? 'the ip command (Debian package iproute2) is not installed'
        : false;

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * A bridge in the root namespace at SUBNET.1 and `count` namespaces on it at
 * SUBNET.2, .3 …; all deleted when the test ends, even on failure. Names and
 * the subnet come from the test's pid, so that two runs do not meet.
 */
function makeHosts(t, count) {
  const tag = `bt${process.pid % 100_000}`;
  const subnet = `10.77.${process.pid % 250}`;
  const bridge = `${tag}br`;
  const hosts = Array.from({ length: count }, (_, i) => ({
    ns: `${tag}-host${i + 1}`,
    veth: `${tag}v${i + 1}`,
    address: `${subnet}.${i + 2}`,
  }));
  t.after(() => {
    // The root side of each veth pair too: a namespace outlives its name while anything still holds it.
    for (const args of [
      ...hosts.flatMap((h) => [
        ['netns', 'del', h.ns],
        ['link', 'del', h.veth],
      ]),
      ['link', 'del', bridge],
    ]) {
      try {
        ip(...args);
      } catch {
        /* never made, or gone with its namespace */
      }
    }
  });
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  for (const h of hosts) {
    ip('netns', 'add', h.ns);
    ip('link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
    ip('link', 'set', h.veth, 'master', bridge, 'up');
    ip('-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0');
    ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', h.ns, 'link', 'set', 'lo', 'up');
  }
  return hosts;
}

/** A baton master inside host `h`'s namespace, on its own deploy directory (releases v1, v2 and a broken v3). */
async function startHost(t, h, dir, tokenFile) {
  // `ip netns exec` execs: the master keeps the pid the harness follows and cleans up.
  const node = path.join(dir, `node-in-${h.ns}`);
  fs.writeFileSync(node, `#!/bin/sh\nexec ip netns exec ${h.ns} ${process.execPath} "$@"\n`, { mode: 0o755 });
  const deploy = deployDir(t, { good: ['v1', 'v2'], broken: ['v3'] });
  const master = startMaster(
    [
      '-w',
      '2',
      '--admin',
      `0.0.0.0:${ADMIN_PORT}`,
      '--admin-token-file',
      tokenFile,
      '--shutdown-delay',
      `${SHUTDOWN_DELAY_MS}ms`,
      '--drain-timeout',
      `${DRAIN_TIMEOUT_MS}ms`,
      'app.mjs',
    ],
    { node, cwd: deploy.current, env: { PORT: String(APP_PORT), HOST: '0.0.0.0', PWD: deploy.current } },
  );
  t.after(() => stopMaster(master));
  await readyWorkers(master, 2);
  /** @type {import('../../dist/testing/load.js').Target} */
  const admin = { protocol: 'http', host: h.address, port: ADMIN_PORT };
  return {
    ...h,
    ...deploy,
    master,
    name: h.ns,
    server: `${h.address}:${APP_PORT}`,
    readyz: admin,
    url: `http://${h.address}:${ADMIN_PORT}`,
    app: { protocol: 'http', host: h.address, port: APP_PORT },
  };
}

const release = async (target) => (await get(target, '/release')).body.trim();

test('a fleet of two hosts behind nginx: rolling reload, a broken release stopped at the first host, a host stopped for maintenance; 0 failed requests', {
  skip,
  timeout: 300_000,
}, async (t) => {
  const dir = tmpDir('baton-fleet-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const hosts = await Promise.all(makeHosts(t, 2).map((h) => startHost(t, h, dir, tokenFile)));
  const urls = hosts.map((h) => h.url);
  const { controller, loads, flowing } = await loadBalanced(t, hosts);

  // Counts per scenario: the loads' totals at each scenario's end, minus those at its start.
  const scenarios = [];
  const snapshot = () => loads.map((l) => ({ ok: l.stats.ok, failed: l.stats.failed, retried: l.stats.retried }));
  const scenario = async (name, body) => {
    await flowing(`load to flow before ${name}`);
    const start = snapshot();
    const out = await body();
    await flowing(`load to flow after ${name}`);
    const end = snapshot();
    scenarios.push({
      name,
      counts: end.map((e, i) => ({
        ok: e.ok - start[i].ok,
        failed: e.failed - start[i].failed,
        retried: e.retried - start[i].retried,
      })),
    });
    return out;
  };

  const good = await scenario('(a) rolling reload to v2', async () => {
    for (const h of hosts) switchTo(h.dir, 'v2');
    return rollingReload(['--token-file', tokenFile, ...urls]);
  });
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /^2 of 2 nodes reloaded$/m);
  for (const h of hosts) assert.equal(await release(h.app), 'v2', `${h.ns} serves v2`);

  const broken = await scenario('(b) broken release v3', async () => {
    for (const h of hosts) switchTo(h.dir, 'v3');
    return rollingReload(['--token-file', tokenFile, ...urls]);
  });
  assert.equal(broken.code, 1, broken.stdout + broken.stderr);
  assert.match(broken.stdout, new RegExp(`^FAIL  ${urls[0]}: rolled back: .*exited before it was ready`, 'm'));
  assert.match(broken.stdout, new RegExp(`0 of 2 nodes reloaded; stopped at ${urls[0]}; not touched: ${urls[1]}`));
  const outcomes = await Promise.all(hosts.map(async (h) => (await status(h.master)).reloads.map((r) => r.ok)));
  assert.deepEqual(
    outcomes,
    [[true, false], [true]],
    'the first host tried v3 and rolled back; the second was never asked',
  );
  for (const h of hosts) assert.equal(await release(h.app), 'v2', `${h.ns} still serves v2`);

  const [, second] = hosts;
  const grace = SHUTDOWN_DELAY_MS + DRAIN_TIMEOUT_MS + 5000;
  /** @type {number} */
  let stoppedAt;
  /** @type {Promise<number>} */
  let drained;
  const exit = await scenario('(c) host 2 stopped for maintenance', async () => {
    drained = drainStart(second.master, grace);
    stoppedAt = Date.now();
    const r = await request(ADMIN_PORT, 'POST', '/api/stop', {
      host: second.address,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(r.status, 202, r.body);
    await controller.removed(second.name);
    return within(second.master.exited, grace, `${second.ns}'s master to exit`);
  });
  const drainAt = await drained;
  assert.deepEqual(exit, { code: 0, signal: null });
  const stats = await Promise.all(loads.map((l) => l.stop()));
  await controller.stop();

  const removedAt = controller.transitions.find((x) => x.upstream?.join() === hosts[0].name)?.at;
  for (const l of describeTransitions(
    [...controller.transitions, { at: drainAt, event: `${second.ns} drains` }],
    stoppedAt,
  ))
    t.diagnostic(`(c) ${l}`);
  for (const { name, counts } of scenarios) {
    t.diagnostic(
      `${name}: ${counts.map((c, i) => `${['keep-alive', 'per-request'][i]} ${c.ok} ok, ${c.failed} failed, ${c.retried} retried`).join('; ')}`,
    );
  }
  const seen = controller.transitions.filter((x) => x.backend === second.name).map((x) => x.probe);
  assert.equal(
    seen[0],
    'not ready (503)',
    `the probes see host 2 not ready first, while it serves: ${seen.join(', ')}`,
  );
  assert.ok(
    removedAt < drainAt,
    `host 2 was taken out of nginx (+${removedAt - stoppedAt} ms) before it drained (+${drainAt - stoppedAt} ms)`,
  );
  for (const [i, s] of stats.entries()) {
    assert.equal(s.failed, 0, describeFailures(['keep-alive', 'per-request'][i], s));
    assert.ok(s.ok > 0);
  }
});
