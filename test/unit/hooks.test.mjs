// Unit tests for dist/worker/hooks.js: onShutdown hooks run in registration
// order, sharing one deadline (each gets what is left); onDrain hooks start
// together; a hook that throws or hangs is logged and the rest still run.
//
// Hooks live in a module-level array that only grows, so in-process tests give
// every hook a guard: it acts only for the context of its own test (its `tag`)
// and returns at once for any later runHooks() call. Scenarios that check stderr
// or need an empty hook list run in a fresh child process.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  addDrainHook as addAnyDrainHook,
  addHook as addAnyHook,
  runDrainHooks,
  runHooks,
} from '../../dist/worker/hooks.js';
import { errorLine } from '../../dist/log.js';

/** @typedef {import('../../dist/worker/hooks.js').ShutdownContext} ShutdownContext */
/** @typedef {import('../../dist/worker/hooks.js').DrainContext} DrainContext */
/** @typedef {{ tag: symbol }} Tag the test a context is for */
/** @typedef {Omit<ShutdownContext, 'msLeft'> & Tag} Context */

// The run hands each hook the context it was given (msLeft added), so the hooks here read its tag.
const addHook = /** @type {(hook: (c: ShutdownContext & Tag) => void | Promise<void>) => void} */ (addAnyHook);
const addDrainHook = /** @type {(hook: (c: DrainContext & Tag) => void | Promise<void>) => void} */ (addAnyDrainHook);

const hooksUrl = new URL('../../dist/worker/hooks.js', import.meta.url).href;
/** @returns {Context} */
const ctx = (ms = 5000) => ({ reason: 'stop', connections: [], deadline: Date.now() + ms, tag: Symbol('test') });

/** Runs ESM `code` in a fresh node; resolves { code, signal, stdout, stderr }; SIGKILLs it after `ms`. */
function runNode(code, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BATON_LOG_FORMAT: 'text' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${ms} ms; stderr: ${stderr}`));
    }, ms);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('runHooks in process', () => {
  test('hooks run in registration order, one at a time, with the context', async () => {
    const mine = ctx();
    const events = [];
    const seen = [];
    addHook(async (c) => {
      if (c.tag !== mine.tag) return;
      seen.push(c);
      events.push('a:start');
      await new Promise((r) => setTimeout(r, 20));
      events.push('a:end');
    });
    addHook((c) => {
      if (c.tag !== mine.tag) return;
      seen.push(c);
      events.push('b');
    });
    addHook(async (c) => {
      if (c.tag !== mine.tag) return;
      seen.push(c);
      events.push('c');
    });
    await runHooks(mine);
    assert.deepEqual(events, ['a:start', 'a:end', 'b', 'c'], 'each hook finishes before the next starts');
    assert.equal(seen.length, 3);
    for (const c of seen) assert.equal(c.deadline, mine.deadline, 'every hook gets the same deadline');
  });

  test('a hook that throws (sync or async) does not stop the rest', async () => {
    const mine = ctx();
    const ran = [];
    addHook((c) => {
      if (c.tag !== mine.tag) return;
      ran.push(1);
      throw new Error('sync boom');
    });
    addHook(async (c) => {
      if (c.tag !== mine.tag) return;
      ran.push(2);
      throw new Error('async boom');
    });
    addHook((c) => {
      if (c.tag !== mine.tag) return undefined;
      ran.push(3);
      return Promise.reject('a string');
    });
    addHook((c) => {
      if (c.tag !== mine.tag) return;
      ran.push(4);
    });
    await assert.doesNotReject(runHooks(mine));
    assert.deepEqual(ran, [1, 2, 3, 4]);
  });

  test('a hanging hook is cut at the deadline and the rest still run', async () => {
    // Measured from before the deadline is set: a busy machine may spend a few ms before runHooks starts.
    const t0 = performance.now();
    const mine = ctx(50);
    const ran = [];
    addHook((c) => {
      if (c.tag !== mine.tag) return undefined;
      ran.push('hang');
      return new Promise(() => {});
    });
    addHook((c) => {
      if (c.tag !== mine.tag) return;
      ran.push('after');
    });
    await runHooks(mine);
    const elapsed = performance.now() - t0;
    assert.deepEqual(ran, ['hang', 'after']);
    assert.ok(elapsed >= 45, `waited ${elapsed.toFixed(1)} ms for the hanging hook`);
  });

  test('a slow hook within the timeout is awaited to the end', async () => {
    const mine = ctx();
    let finished = false;
    addHook(async (c) => {
      if (c.tag !== mine.tag) return;
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    });
    await runHooks(mine);
    assert.equal(finished, true);
  });

  test('context.reason and connections reach the hook unchanged', async () => {
    /** @type {Context} */
    const mine = { ...ctx(), reason: 'upgrade', connections: Object.freeze([]) };
    /** @type {Pick<ShutdownContext, 'reason' | 'connections'>} */
    let got;
    addHook((c) => {
      if (c.tag === mine.tag) got = { reason: c.reason, connections: c.connections };
    });
    await runHooks(mine);
    assert.deepEqual(got, { reason: 'upgrade', connections: [] });
    assert.equal(got.connections, mine.connections);
  });

  test('each hook is told the time left of the one deadline, not a fresh span', async () => {
    const mine = ctx(60_000);
    const given = [];
    addHook(async (c) => {
      if (c.tag !== mine.tag) return;
      given.push(c.msLeft);
      await new Promise((r) => setTimeout(r, 150));
    });
    addHook((c) => {
      if (c.tag === mine.tag) given.push(c.msLeft);
    });
    await runHooks(mine);
    assert.equal(given.length, 2);
    assert.ok(given[0] <= 60_000, `the first hook was given ${given[0]} ms of 60000`);
    assert.ok(given[1] <= given[0] - 150, `the second was given what was left (${given[1]} ms), not a fresh span`);
  });

  test('addHook(non-function) throws TypeError', () => {
    for (const bad of [undefined, null, 'fn', 42, {}, [], Promise.resolve()]) {
      // @ts-expect-error bad input: not a function
      assert.throws(() => addHook(bad), TypeError);
    }
  });
});

describe('runDrainHooks in process', () => {
  test('drain hooks start together, each told the reason, the deadline and the time left', async () => {
    /** @type {Context} */
    const mine = { ...ctx(), reason: 'upgrade' };
    const events = [];
    let release;
    const released = new Promise((resolve) => (release = resolve));
    addDrainHook(async (c) => {
      if (c.tag !== mine.tag) return;
      events.push(['a', c.reason, c.deadline, c.msLeft > 0 && c.msLeft <= 5000]);
      await released;
      events.push('a:end');
    });
    addDrainHook((c) => {
      if (c.tag !== mine.tag) return;
      events.push(['b', c.reason, c.deadline, c.msLeft > 0 && c.msLeft <= 5000]);
      release();
    });
    await runDrainHooks(mine);
    assert.deepEqual(
      events,
      [['a', 'upgrade', mine.deadline, true], ['b', 'upgrade', mine.deadline, true], 'a:end'],
      'the second started while the first was still waiting, and runDrainHooks waited for both',
    );
  });

  test('runHooks runs the onShutdown hooks only, runDrainHooks the onDrain hooks only', async () => {
    const mine = ctx();
    const ran = [];
    addDrainHook((c) => {
      if (c.tag === mine.tag) ran.push('drain');
    });
    addHook((c) => {
      if (c.tag === mine.tag) ran.push('shutdown');
    });
    await runDrainHooks(mine);
    await runHooks(mine);
    assert.deepEqual(ran, ['drain', 'shutdown']);
  });

  test('addDrainHook(non-function) throws TypeError naming onDrain', () => {
    for (const bad of [undefined, 'fn', {}]) {
      // @ts-expect-error bad input: not a function
      assert.throws(() => addDrainHook(bad), { name: 'TypeError', message: /onDrain/ });
    }
  });
});

describe('runHooks in a fresh process', () => {
  test('a drain hook that throws or hangs is logged as a drain hook; the others finish', async () => {
    const r = await runNode(`
      import { addDrainHook, runDrainHooks } from ${JSON.stringify(hooksUrl)};
      const ran = [];
      addDrainHook(() => { throw new Error('drain boom'); });
      addDrainHook(() => new Promise(() => {}));
      addDrainHook(async () => { ran.push(3); });
      await runDrainHooks({ reason: 'upgrade', deadline: Date.now() + 50 });
      console.log(JSON.stringify(ran));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '[3]');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, `two log lines, got:\n${r.stderr}`);
    assert.match(lines[0], / error: drain hook threw hook=1 error="Error: drain boom"$/);
    assert.match(lines[1], / warn: drain hook still running at the drain deadline hook=2 msGiven=\d+$/);
  });

  test('with no hooks, runHooks resolves at once and logs nothing', async () => {
    const r = await runNode(`
      import { runHooks } from ${JSON.stringify(hooksUrl)};
      const t0 = performance.now();
      await runHooks({ reason: 'stop', connections: [], deadline: Date.now() + 5000 });
      console.log(JSON.stringify({ elapsed: performance.now() - t0 }));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(JSON.parse(r.stdout).elapsed < 1000);
  });

  test('failures are logged one line each on stderr; the process is not held open by runHooks', async () => {
    const r = await runNode(`
      import { addHook, runHooks } from ${JSON.stringify(hooksUrl)};
      const ran = [];
      addHook(() => { ran.push(1); });
      addHook(() => { ran.push(2); throw new Error('boom\\nsecond line of the message'); });
      addHook(() => { ran.push(3); return new Promise(() => {}); });
      addHook(async () => { ran.push(4); });
      try { addHook('not a function'); } catch (err) { ran.push(err.constructor.name); }
      const t0 = performance.now();
      await runHooks({ reason: 'stop', connections: [], deadline: Date.now() + 50 });
      console.log(JSON.stringify({ ran, elapsed: performance.now() - t0 }));
      // No explicit exit: the hanging hook's promise must not keep the process alive,
      // and runHooks must not leave a timer behind.
    `);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.ran,
      ['TypeError', 1, 2, 3, 4],
      'the rejected non-function was never registered (it would log a third line)',
    );
    assert.ok(out.elapsed >= 45 && out.elapsed < 2000, `elapsed ${out.elapsed}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, `two log lines, got:\n${r.stderr}`);
    assert.match(lines[0], / error: shutdown hook threw hook=2 error="Error: boom"$/);
    assert.doesNotMatch(r.stderr, /second line/);
    assert.match(lines[1], / warn: shutdown hook still running at the drain deadline hook=3 msGiven=\d+$/);
  });

  test('each runHooks call runs every registered hook once', async () => {
    const r = await runNode(`
      import { addHook, runHooks } from ${JSON.stringify(hooksUrl)};
      let n = 0;
      addHook(() => { n += 1; });
      await runHooks({ reason: 'stop', connections: [], deadline: Date.now() + 1000 });
      await runHooks({ reason: 'stop', connections: [], deadline: Date.now() + 1000 });
      console.log(n);
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '2', 'the one hook ran once per runHooks call');
  });
});

describe('errorLine', () => {
  test('name and first line of the message', () => {
    assert.equal(errorLine(new TypeError('bad\nmore')), 'TypeError: bad');
    assert.equal(errorLine('plain\nstring'), 'plain');
    assert.equal(errorLine(42), '42');
  });
});
