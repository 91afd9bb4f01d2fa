#!/usr/bin/env node
// Reloads a fleet of baton masters through their admin APIs, one node at a
// time: the next node is touched only once the previous one reloaded and
// answers /readyz, and the first failure stops the rollout, so a broken
// release reaches one node (which rolls back) and never the rest.
//
//   node examples/rolling-reload.mjs [--release NAME] [--token-file FILE] [--timeout SECONDS] URL...
//
// URL is a node's admin base, e.g. http://10.0.0.2:9090 (`baton run --admin`).
// The token comes from --token-file or BATON_ADMIN_TOKEN, never the command
// line. Exit status: 0 when every node reloaded, 1 at the first failure, 2 on
// bad input. Plain Node (20+), no dependencies: copy it into your own tooling.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node examples/rolling-reload.mjs [--release NAME] [--token-file FILE] [--timeout SECONDS] URL...';

function fail(message) {
  console.error(`rolling-reload: ${message}`);
  process.exit(2);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        release: { type: 'string' },
        'token-file': { type: 'string' },
        timeout: { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length === 0) fail(`give at least one node's admin URL\n${USAGE}`);
  const nodes = positionals.map((raw) => {
    let url;
    try {
      url = new URL(raw);
    } catch {
      fail(`${JSON.stringify(raw)} is not a URL; give a node's admin base, e.g. http://10.0.0.2:9090`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${raw}: use an http:// or https:// URL`);
    return url.href.replace(/\/$/, '');
  });
  const timeoutS = Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0)
    fail(`--timeout ${JSON.stringify(values.timeout)}: give the seconds one node may take, e.g. --timeout 300`);
  let token = process.env.BATON_ADMIN_TOKEN;
  if (values['token-file'] !== undefined) {
    try {
      token = fs.readFileSync(values['token-file'], 'utf8').trim();
    } catch (err) {
      fail(`--token-file ${JSON.stringify(values['token-file'])}: cannot read it (${err.code ?? err.message})`);
    }
  }
  return { nodes, release: values.release, token, timeoutMs: timeoutS * 1000 };
}

/** One node's reload: resolves { ok: true, result } or { ok: false, reason }. */
async function reloadNode(base, { release, token, timeoutMs }) {
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${base}/api/reload`, {
      method: 'POST',
      headers,
      body: JSON.stringify(release === undefined ? {} : { release }),
      signal,
    });
  } catch (err) {
    return {
      ok: false,
      reason: `no answer: ${(err.cause?.code ?? err.name === 'TimeoutError') ? `no result within ${timeoutMs / 1000} s` : err.message}`,
    };
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok || body.ok !== true) {
    const why = body.reason ?? body.error ?? `HTTP ${res.status}`;
    return { ok: false, reason: res.status === 500 && body.reason ? `rolled back: ${why}` : why };
  }
  // The reload is over once the new generation serves; the node must also say
  // so to its load balancer before the next node leaves the pool.
  const ready = await fetch(`${base}/readyz`, { signal }).catch((err) => ({ ok: false, status: err.message }));
  if (!ready.ok) return { ok: false, reason: `reloaded, but /readyz answers ${ready.status}` };
  return { ok: true, result: body };
}

const options = readOptions();
const done = [];
for (const [i, base] of options.nodes.entries()) {
  const outcome = await reloadNode(base, options);
  if (!outcome.ok) {
    console.log(`FAIL  ${base}: ${outcome.reason}`);
    const untouched = options.nodes.slice(i + 1);
    console.log(
      `${done.length} of ${options.nodes.length} nodes reloaded; stopped at ${base}${untouched.length ? `; not touched: ${untouched.join(' ')}` : ''}`,
    );
    process.exit(1);
  }
  const { generation, ms } = outcome.result;
  console.log(`ok    ${base}: generation ${generation} in ${ms} ms`);
  done.push(base);
}
console.log(
  `${done.length} of ${options.nodes.length} nodes reloaded${options.release === undefined ? '' : ` to release ${options.release}`}`,
);
