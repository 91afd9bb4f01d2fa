// A standalone process that has handed over and is still draining a long
// download (A) is asked to upgrade again. It logs that and ignores the
// request, whether its successor (B) still serves or has itself upgraded and
// exited: one upgrade signal gives one upgrade (an app's own handler may
// re-raise the signal at its process, as NestJS's shutdown hooks do; passed on
// to B, each generation upgraded the next without end). Before that, A
// signalled B by bare pid, got `kill ESRCH` as an unhandled rejection and
// died, cutting the download it was draining.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLine } from '../../dist/testing/harness.js';
import {
  alive,
  cleanup,
  freePort,
  gone,
  linesOf,
  root,
  servingPid,
  startStandalone,
  upgrade,
  waitFor,
  within,
} from '../helpers/proc.mjs';

const script = path.join(root, 'test/fixtures/download-app.mjs');
const TOTAL = 20 * 1024 * 1024;
/** The client reads this much, then stops reading until the test has done its steps. */
const HOLD_AT = 1024 * 1024;

/** The sha256 of the download: TOTAL bytes, byte i being i % 251 (as download-app.mjs serves it). */
function expectedSha256() {
  const block = Buffer.alloc(251 * 4096);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  const hash = crypto.createHash('sha256');
  for (let left = TOTAL; left > 0; left -= block.length)
    hash.update(left >= block.length ? block : block.subarray(0, left));
  return hash.digest('hex');
}
const EXPECTED = expectedSha256();
/** Per test: a hung process fails the test (and its t.after cleanup runs) instead of hanging the run. */
const T = { timeout: 90_000 };

/**
 * Starts the download. `held` resolves once HOLD_AT bytes have arrived, with
 * the pid serving it; the client then reads nothing more until `resume()`, so
 * the download cannot end while the test works (the kernel's socket buffers
 * hold far less than the 19 MiB left). `result` resolves once it ends or breaks.
 */
function startDownload(t, target) {
  let onHeld;
  let onBroken;
  const held = new Promise((resolve, reject) => {
    onHeld = resolve;
    onBroken = reject;
  });
  let response;
  let req;
  let holding = false;
  const result = new Promise((resolve) => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    let settled = false;
    const settle = (r) => {
      if (settled) return;
      settled = true;
      onBroken(new Error(`the download ended before ${HOLD_AT} bytes: ${JSON.stringify(r)}`));
      resolve(r);
    };
    req = http.get({ host: target.host, port: target.port, path: '/download', agent: false }, (res) => {
      response = res;
      const pid = Number(res.headers['x-pid']);
      res.on('data', (d) => {
        hash.update(d);
        bytes += d.length;
        if (bytes >= HOLD_AT && !holding) {
          holding = true;
          res.pause();
          onHeld({ pid, bytes });
        }
      });
      res.on('end', () =>
        settle({ status: res.statusCode, pid, bytes, complete: res.complete, sha256: hash.digest('hex') }),
      );
      res.on('close', () =>
        settle({ status: res.statusCode, pid, bytes, complete: false, error: 'connection closed before the end' }),
      );
      res.on('error', (/** @type {NodeJS.ErrnoException} */ err) =>
        settle({ status: res.statusCode, pid, bytes, complete: false, error: err.code ?? err.message }),
      );
    });
    req.on('error', (/** @type {NodeJS.ErrnoException} */ err) =>
      settle({ bytes, complete: false, error: err.code ?? err.message }),
    );
  });
  t.after(() => req.destroy());
  return { held, result, resume: () => response.resume() };
}

async function startApp(t) {
  const port = await freePort();
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const app = startStandalone(script, { env: { PORT: String(port), HOST: '127.0.0.1' } });
  t.after(() => cleanup(app));
  const pid = await waitFor(() => servingPid(target), { what: 'generation 1 to serve' });
  return { app, target, pid };
}

/** The sockets (inodes) `pid` holds open now, from /proc. */
function socketsOf(pid) {
  const out = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]);
    } catch {
      // closed in between
    }
  }
  return out;
}

async function checkDownload(download, pid) {
  download.resume();
  const r = await within(download.result, 30_000, 'the download to end');
  assert.equal(r.error, undefined, `the download from pid ${pid} broke: ${JSON.stringify(r)}`);
  assert.equal(r.status, 200);
  assert.equal(r.pid, pid, 'generation 1 served the whole download');
  assert.equal(r.complete, true);
  assert.equal(r.bytes, TOTAL, 'every byte arrived');
  assert.equal(r.sha256, EXPECTED, 'byte for byte the content served');
}

test(
  'a draining process asked to upgrade again after its successor has itself upgraded and exited logs and ignores the request; its download completes',
  T,
  async (t) => {
    const { app, target, pid: a } = await startApp(t);
    const download = startDownload(t, target);
    assert.equal(
      (await within(download.held, 10_000, 'the download to start')).pid,
      a,
      'generation 1 serves the download',
    );

    const before = socketsOf(a);
    const b = await upgrade(app, a, { untilExit: false });
    assert.ok(alive(a), 'A drains: its download is still in flight');
    // What A gained with B is the IPC channel to it (its listening socket is closed, not gained).
    const channel = [...socketsOf(a)].filter((s) => !before.has(s));
    assert.ok(
      channel.length >= 1,
      `A holds a channel socket to B (sockets before ${[...before]}, now ${[...socketsOf(a)]})`,
    );

    const c = await upgrade(app, b);
    assert.ok(![a, b].includes(c), `C is a new process: ${c}`);
    await waitFor(() => gone(b), { what: `B (${b}) to be reaped by A` });
    // A has seen B go once it has closed its end of the channel.
    await waitFor(
      () => {
        const now = socketsOf(a);
        return channel.every((s) => !now.has(s));
      },
      { what: 'A to close its channel to the exited B' },
    );

    const ignored = waitForLine(app, (l) => (l.pid === a && l.text.startsWith('already handed over') ? l : undefined), {
      what: 'A to answer the second upgrade request',
    });
    process.kill(a, 'SIGUSR2');
    const line = await ignored;
    assert.equal(
      line.text,
      `already handed over: ignoring the upgrade request; send it to the successor successor=${b}`,
    );
    assert.equal(line.level, 'info');
    assert.ok(alive(a), 'A is still alive after the request');

    await checkDownload(download, a);
    assert.deepEqual(
      await within(app.exited, 15_000, 'A to exit'),
      { code: 0, signal: null },
      'A exits 0 once its download is done',
    );
    assert.equal(linesOf(app, a, 'drained, exiting').length, 1);
    assert.equal(await servingPid(target), c, 'C still serves');

    assert.equal(linesOf(app, a, 'successor spawned').length, 1, 'A started one successor only (B)');
    assert.equal(linesOf(app, a, 'already handed over').length, 1);
    assert.equal(linesOf(app, c, 'upgrade started').length, 0, 'the ignored request did not reach C');
    assert.doesNotMatch(app.output, /ESRCH|Unhandled|unhandled/);
  },
);

test(
  'a draining process asked to upgrade again while its successor serves ignores the request: the successor does not upgrade',
  T,
  async (t) => {
    const { app, target, pid: a } = await startApp(t);
    const download = startDownload(t, target);
    assert.equal(
      (await within(download.held, 10_000, 'the download to start')).pid,
      a,
      'generation 1 serves the download',
    );

    const b = await upgrade(app, a, { untilExit: false });
    assert.ok(alive(a), 'A drains: its download is still in flight');
    assert.equal(await servingPid(target), b);

    const ignored = waitForLine(app, (l) => (l.pid === a && l.text.startsWith('already handed over') ? l : undefined), {
      what: 'A to answer the second upgrade request',
    });
    process.kill(a, 'SIGUSR2');
    assert.equal(
      (await ignored).text,
      `already handed over: ignoring the upgrade request; send it to the successor successor=${b}`,
    );

    await checkDownload(download, a);
    assert.deepEqual(
      await within(app.exited, 15_000, 'A to exit'),
      { code: 0, signal: null },
      'A exits 0 once its download is done',
    );
    assert.equal(linesOf(app, a, 'successor spawned').length, 1, 'A started one successor only (B)');
    assert.equal(linesOf(app, b, 'upgrade started').length, 0, 'the request did not reach B');
    assert.equal(await servingPid(target), b, 'B still serves');
  },
);
