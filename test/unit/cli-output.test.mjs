// The `baton` command as a process, with a reader that hangs up early
// (`baton reload | head -1`, `baton status | true`): the command still runs to
// its end and exits with its own status, and says nothing about the EPIPE.
// Each hang-up happens before the master's next answer, ordered by events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlServer } from '../../dist/control/server.js';
import { within } from '../helpers/proc.mjs';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

/** @type {import('../../dist/protocol/control.js').Status} */
const STATUS = {
  name: 'default',
  masterPid: 4242,
  uptimeMs: 1000,
  generation: 1,
  workers: [],
  listeners: [],
  reloads: [],
};
/** @type {import('../../dist/protocol/control.js').Phase[]} */
const PHASES = [
  { phase: 'spawned', generation: 2, pids: [6001] },
  { phase: 'ready', generation: 2, ms: 40 },
  { phase: 'draining', generation: 1, connections: 0 },
  { phase: 'done', generation: 2, ms: 95 },
];

/** @template [T=void] */
function deferred() {
  /** @type {(value: T) => void} */
  let resolve;
  const promise = /** @type {Promise<T>} */ (new Promise((r) => (resolve = r)));
  return { promise, resolve };
}

let root;
const children = [];
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-out-'));
  fs.chmodSync(root, 0o700);
});
after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** `baton <args>` with stdout a pipe the test closes: { child, stdoutClosed, done: Promise<{ code, stderr }> }. */
function batonCli(args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  const done = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  const stdoutClosed = new Promise((resolve) => child.stdout.once('close', resolve));
  return { child, stdoutClosed, done };
}

test('baton reload | head -1: the reload runs to its end, exit 0, no EPIPE on stderr', {
  timeout: 20_000,
}, async () => {
  const file = path.join(root, 'reload.sock');
  const gate = deferred();
  /** @type {import('../../dist/protocol/control.js').Controllable} */
  const master = {
    async reload(onPhase) {
      onPhase(PHASES[0]);
      await gate.promise; // the rest comes once the reader has gone
      for (const p of PHASES.slice(1)) onPhase(p);
      return { ok: true, generation: 2, ms: 95 };
    },
    stop() {},
    status: () => STATUS,
    releases: () => undefined,
  };
  const server = await within(startControlServer(file, master), 5000, 'startControlServer');
  try {
    const { child, stdoutClosed, done } = batonCli(['reload', '--control', file]);
    let first = '';
    child.stdout.setEncoding('utf8');
    await within(
      /** @type {Promise<void>} */ (
        new Promise((resolve) => {
          child.stdout.on('data', (c) => {
            first += c;
            if (first.includes('\n')) resolve();
          });
        })
      ),
      10_000,
      'the first line of reload',
    );
    assert.equal(first.split('\n')[0], 'spawned generation 2: pid 6001');
    child.stdout.destroy(); // head -1 exits
    await within(stdoutClosed, 5000, 'closing the read end');
    gate.resolve();
    const r = await within(done, 10_000, 'baton reload to exit');
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  } finally {
    gate.resolve();
    await within(server.close(), 5000, 'close');
  }
});

test('baton status | true: exit 0, nothing on stderr', { timeout: 20_000 }, async () => {
  const file = path.join(root, 'status.sock');
  const stdoutGone = deferred();
  // A master that answers only once the reader has gone, so the answer meets a closed pipe.
  const server = net.createServer((sock) =>
    sock.once('data', () => {
      void stdoutGone.promise.then(() => sock.end(`${JSON.stringify({ type: 'status', data: STATUS })}\n`));
    }),
  );
  await within(/** @type {Promise<void>} */ (new Promise((r) => server.listen(file, r))), 5000, 'listen');
  try {
    const { child, stdoutClosed, done } = batonCli(['status', '--control', file]);
    void stdoutClosed.then(stdoutGone.resolve);
    child.stdout.destroy(); // true exits without reading
    const r = await within(done, 10_000, 'baton status to exit');
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  } finally {
    server.close();
  }
});
