// The admin page in a real browser (Debian's chromium, driven by
// playwright-core) against a real `baton run -w 2 --admin ... --admin-token-file
// --releases DIR`: a wrong token does not sign in, the right one does; the
// page shows the workers; a release picked and Reload (confirmed) shows each
// phase as it happens, then the new generation and its new pids; a broken
// release shows its rollback reason; a form that another origin's page
// submits to /api/reload and /api/stop changes nothing; Stop (confirmed) stops
// the master. Then what the page must not hide (issue 27): a reload another
// client started, Reload again during a drain, stopping, a master gone; and at
// 390 and 1,440 px, light and dark, no overflow and no serious axe-core
// violation, a worker's crash, a new release on disk, the log panel, a page
// locked out. With BATON_SCREENSHOTS=docs/images the README's screenshots are
// saved there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { request, writeTokenFile } from '../helpers/http.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../helpers/master.mjs';
import { alive, freePort, root, servingPid, waitFor, within } from '../helpers/proc.mjs';
import { releaseOf, releasesDir } from '../helpers/releases.mjs';

const TOKEN = 'browser-test-token-7d1e9c40b2a5f3e1';
const CHROMIUM = '/usr/bin/chromium';
const linux = process.platform === 'linux';
const skip = !linux && "Debian's chromium is the browser this test drives";

/** With BATON_SCREENSHOTS=docs/images, the screenshots the README shows are saved there. */
const saveScreenshot = (/** @type {string} */ name, /** @type {Buffer} */ png) =>
  process.env.BATON_SCREENSHOTS && fs.writeFileSync(path.join(root, process.env.BATON_SCREENSHOTS, name), png);

/** One browser for the whole file: each test makes its own context (its cookies, its viewport). */
/** @type {import('playwright-core').Browser} */
let browser;
before(async () => {
  if (linux) browser = await chromium.launch({ executablePath: CHROMIUM });
});
after(() => browser?.close());

/** What the page shows: the generation, and each worker row's pid, generation and state. */
const shown = (page) =>
  page.evaluate(() => ({
    generation: Number(document.getElementById('generation').textContent),
    workers: [
      .../** @type {NodeListOf<HTMLTableRowElement>} */ (document.querySelectorAll('#workers tr[data-pid]')),
    ].map((tr) => ({
      pid: Number(tr.dataset.pid),
      generation: Number(tr.children[1].textContent),
      state: tr.dataset.state,
    })),
  }));

/** The page's workers once exactly `count` of generation `generation` are ready and no other is left, pids sorted. */
async function readyOnPage(page, generation, count) {
  await page.waitForFunction(
    ([g, n]) => {
      const rows = [
        .../** @type {NodeListOf<HTMLTableRowElement>} */ (document.querySelectorAll('#workers tr[data-pid]')),
      ];
      return (
        rows.length === n &&
        rows.every((tr) => tr.dataset.state === 'ready' && tr.children[1].textContent === String(g))
      );
    },
    [generation, count],
    { timeout: 60_000 },
  );
  return (await shown(page)).workers.map((w) => w.pid).sort((a, b) => a - b);
}

/** Clicks `button`, then the confirmation dialog's `answer` button ('ok' or 'cancel'). */
async function clickAndAnswer(page, button, answer) {
  await page.click(button);
  await page.waitForSelector('#confirm[open]');
  await page.click(`#confirm button[value="${answer}"]`);
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
}

/** A page on another origin that submits a form to `target` as soon as it loads, as a forger's would. */
async function forgerSite(t) {
  const server = http.createServer((req, res) => {
    const target = new URL(req.url, 'http://x').searchParams.get('target');
    res.setHeader('Content-Type', 'text/html');
    res.end(
      `<form method="post" action="${target}"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`,
    );
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return /** @type {import('node:net').AddressInfo} */ (server.address()).port;
}

test('the admin page in headless Chromium: sign-in, workers, a release picked, reload phases, rollback reason, no cross-site action, stop', {
  skip,
  timeout: 300_000,
}, async (t) => {
  const dir = releasesDir(t, { good: ['v1', 'v2'], broken: ['v3'], app: 'test/fixtures/gated-release-app.mjs' });
  fs.writeFileSync(path.join(dir, 'v1/go'), '');
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const [port, adminPort] = [await freePort(), await freePort()];
  /** @type {import('../../dist/testing/load.js').Target} */
  const target = { protocol: 'http', host: '127.0.0.1', port };
  const admin = `http://127.0.0.1:${adminPort}`;
  const master = startMaster(
    [
      '-w',
      '2',
      '--wait-ready',
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--admin-token-file',
      tokenFile,
      '--releases',
      dir,
      'app.mjs',
    ],
    { env: { PORT: String(port) } },
  );
  t.after(() => stopMaster(master));
  await waitFor(() => servingPid(target), { what: 'release v1 to serve', timeoutMs: 30_000 });
  const status = async () =>
    JSON.parse(
      (await request(adminPort, 'GET', '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } })).body,
    );

  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const posts = [];
  page.on('request', (r) => r.method() === 'POST' && posts.push(new URL(r.url()).pathname));
  await page.goto(admin);

  // A wrong token does not sign in: the form says so, and no cookie is set.
  await page.waitForSelector('#signin-form');
  await page.fill('#token', 'not-the-token');
  await page.click('#signin-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent === 'That is not the token.');
  assert.equal(await page.isVisible('#dashboard'), false);
  assert.deepEqual(await context.cookies(), []);

  // The right one does: a session cookie (HttpOnly, SameSite=Strict, not the token, gone when the browser closes), and the two workers.
  await page.fill('#token', TOKEN);
  await page.click('#signin-form button[type="submit"]');
  const first = await readyOnPage(page, 1, 2);
  const [cookie, ...more] = await context.cookies();
  assert.equal(more.length, 0);
  assert.deepEqual(
    [cookie.name, cookie.httpOnly, cookie.sameSite, cookie.path],
    [`baton_session_${adminPort}`, true, 'Strict', '/'],
  );
  assert.ok(cookie.expires === -1 && !cookie.value.includes(TOKEN), JSON.stringify(cookie));
  assert.deepEqual(
    first,
    (await status()).workers.map((w) => w.pid).sort((a, b) => a - b),
    "the page shows the master's workers",
  );

  // The release picker (--releases): v2 picked, then Reload, held before its workers are ready: the page
  // already shows them spawned; then the rest.
  await page.waitForSelector('#release-picker:not([hidden])');
  const options = () =>
    page.$$eval('#release option', (/** @type {HTMLOptionElement[]} */ os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(await options(), [
    ['', 'as on disk (current: v1)'],
    ['v1', 'v1 (serving)'],
    ['v2', 'v2'],
    ['v3', 'v3'],
  ]);
  await page.selectOption('#release', 'v2');
  await page.click('#reload');
  await page.waitForSelector('#confirm[open]');
  assert.equal(await page.textContent('#confirm-title'), 'Reload onto release v2?');
  await page.click('#confirm button[value="ok"]');
  await page.waitForSelector('#phases li[data-phase="spawned"]');
  assert.match(
    await page.textContent('#phases li[data-phase="spawned"]'),
    /^Started generation 2 \(release v2\): pids \d+, \d+/,
  );
  assert.deepEqual(
    await page.$$eval('#phases li', (lis) => lis.map((li) => li.dataset.phase).filter((p) => p !== 'queued')),
    ['spawned'],
    'the spawned phase is shown while the reload waits for the new workers',
  );
  assert.equal(await page.isVisible('#outcome'), false);
  fs.writeFileSync(path.join(dir, 'v2/go'), '');
  await page.waitForSelector('#outcome[data-ok="true"]', { timeout: 60_000 });
  assert.deepEqual(
    await page.$$eval('#phases li', (lis) => lis.map((li) => li.dataset.phase).filter((p) => p !== 'queued')),
    ['spawned', 'ready', 'draining', 'done'],
  );
  assert.match(await page.textContent('#outcome'), /^Reloaded: generation 2 serves\./);
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    'outcome',
    'the focus goes to what came of the reload, not to <body> with the disabled button',
  );
  const second = await readyOnPage(page, 2, 2);
  assert.equal(second.filter((pid) => first.includes(pid)).length, 0, 'new pids');
  assert.equal(await releaseOf(target), 'v2');
  await page.waitForFunction(
    () => document.querySelector('#release option[value="v2"]').textContent === 'v2 (serving)',
  );
  assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'v2');

  // A release that throws at start: the page says it was rolled back, and why, in words; generation 2 serves on.
  await page.selectOption('#release', 'v3');
  await clickAndAnswer(page, '#reload', 'ok');
  await page.waitForSelector('#outcome[data-ok="false"]', { timeout: 60_000 });
  const said = await page.textContent('#outcome');
  assert.match(
    said,
    /^The reload failed and was rolled back\.Generation 3 did not take over\. Why: worker pid \d+ exited before it was ready \(code 1\)/,
  );
  assert.match(said, /release v3 is broken/);
  await page.waitForSelector('#reloads tr[data-generation="3"][data-ok="false"]');
  assert.match(await page.textContent('#reloads tr[data-generation="3"]'), /rolled back.*exited before it was ready/);
  assert.deepEqual(await readyOnPage(page, 2, 2), second, 'the same workers serve');
  assert.equal(await releaseOf(target), 'v2');
  assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'v2', 'current stays');

  const screenshot = await page.screenshot({ fullPage: true });
  assert.deepEqual([...screenshot.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
  saveScreenshot('page-rollback.png', screenshot);

  // Another origin's page submits forms to the actions, in this signed-in browser: refused, nothing happens.
  // Another port of 127.0.0.1 is the same site, so SameSite=Strict sends the cookie: the origin check is what refuses.
  const before = await status();
  const forger = await forgerSite(t);
  for (const host of ['127.0.0.1', 'localhost']) {
    for (const action of ['/api/reload', '/api/stop']) {
      const forged = await context.newPage();
      const answered = forged.waitForResponse((r) => r.url() === `${admin}${action}`);
      await forged.goto(`http://${host}:${forger}/?target=${encodeURIComponent(`${admin}${action}`)}`);
      const answer = await answered;
      assert.equal(answer.status(), host === 'localhost' ? 401 : 403, `${host} ${action}: ${await answer.text()}`);
      if (host === '127.0.0.1')
        assert.match((await answer.request().allHeaders()).cookie ?? '', /baton_session_/, 'the cookie went along');
      await forged.close();
    }
  }
  const after = await status();
  assert.deepEqual(
    [after.generation, after.reloads.length, after.workers.map((w) => w.pid).sort((a, b) => a - b)],
    [before.generation, before.reloads.length, second],
    'no reload',
  );
  assert.ok(alive(master.child.pid), 'the master lives');
  assert.equal((await request(adminPort, 'GET', '/readyz')).status, 200, 'and is not stopping');

  // Stop: cancelled, nothing is sent; confirmed, the master drains and exits 0.
  await clickAndAnswer(page, '#stop', 'cancel');
  await clickAndAnswer(page, '#stop', 'ok');
  await page.waitForFunction(() => document.getElementById('outcome').textContent.startsWith('Stopping'));
  assert.deepEqual(await within(master.exited, 60_000, 'the master to exit'), { code: 0, signal: null });
  assert.deepEqual(
    posts,
    ['/signin', '/signin', '/api/reload', '/api/reload', '/api/stop'],
    'one stop, once confirmed',
  );
});

/** Signs `page` in at `admin` and waits for its dashboard with `workers` ready workers. */
async function signIn(page, admin, workers) {
  const port = Number(new URL(admin).port);
  await waitFor(async () => (await request(port, 'GET', '/healthz')).status === 200, { what: 'the admin listener' });
  await page.goto(admin);
  await page.waitForSelector('#signin-form');
  await page.fill('#token', TOKEN);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#workers tr[data-state="ready"]').length === n,
    workers,
    { timeout: 60_000 },
  );
}

test('the admin page tells the truth: Reload again while the old generation drains, stopping shown, a restarted master served again', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const [port, adminPort] = [await freePort(), await freePort()];
  const admin = `http://127.0.0.1:${adminPort}`;
  const start = () => {
    const m = startMaster(
      [
        '--shutdown-delay',
        '2s',
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--admin-token-file',
        tokenFile,
        path.join(root, 'test/fixtures/slow-request-app.mjs'),
      ],
      { env: { PORT: String(port) } },
    );
    t.after(() => stopMaster(m));
    return m;
  };
  const first = start();
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await signIn(page, admin, 1);
  await page.waitForSelector('#logs-off:not([hidden])');
  assert.match(await page.textContent('#logs-off'), /start baton run with --log-file PATH/, 'no --log-file: a hint');

  // A reload another client started (the CLI) shows on the page as it happens: the timeline it follows.
  assert.equal((await baton(['reload', '--control', first.control])).code, 0);
  await page.waitForFunction(() => {
    const text = document.getElementById('events').textContent;
    return text.includes('reload requested  by=cli') && text.includes('reload: done');
  });

  // A request that keeps the old generation draining 6 s: once the new one serves, Reload may be pressed again.
  const slow = request(port, 'GET', '/?delay=6000');
  await waitFor(() => first.output.includes('request arrived'), { what: 'the slow request to arrive' });
  await clickAndAnswer(page, '#reload', 'ok');
  await page.waitForFunction(
    () =>
      document.querySelector('#phases li[data-phase="draining"]') !== null &&
      !(/** @type {HTMLButtonElement} */ (document.getElementById('reload')).disabled),
  );
  const draining = JSON.parse(
    (await request(adminPort, 'GET', '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } })).body,
  );
  assert.ok(
    draining.workers.some((/** @type {{ state: string }} */ w) => w.state === 'draining'),
    'Reload is enabled while the old generation still drains',
  );
  await slow;
  // Its row: when it started, the switch, and the drain after it, each its own figure.
  await page.waitForFunction(() => {
    const drain = document.querySelector('#reloads tr[data-generation="3"] td[data-cell="drain"]');
    return drain !== null && drain.textContent !== '–';
  });
  const row = await page.$$eval('#reloads tr[data-generation="3"] td', (tds) => tds.map((td) => td.textContent));
  assert.equal(row.length, 6, JSON.stringify(row));
  assert.ok(row[3] !== '–' && row[4] !== '–', `the switch and the drain are shown apart: ${JSON.stringify(row)}`);

  // Stopped from the page, with a shutdown delay: the page says stopping; once another master serves there, the page
  // (signed in again: the sessions were the old master's) offers Reload and Stop, and no longer says Stopping.
  await clickAndAnswer(page, '#stop', 'ok');
  await page.waitForFunction(() => document.getElementById('live').dataset.state === 'stopping');
  await waitFor(() => !alive(/** @type {number} */ (first.child.pid)), { what: 'the first master to exit' });
  const second = start();
  await readyWorkers(second, 1);
  await signIn(page, admin, 1);
  await page.waitForFunction(
    () =>
      !(/** @type {HTMLButtonElement} */ (document.getElementById('reload')).disabled) &&
      document.getElementById('outcome').hidden,
  );

  // Stopped from elsewhere (the CLI): the page shows it, and disables what a stopping master would refuse.
  const stopped = await baton(['stop', '--control', second.control]);
  assert.equal(stopped.code, 0, stopped.stderr);
  await page.waitForFunction(
    () =>
      document.getElementById('live').dataset.state === 'stopping' &&
      /** @type {HTMLButtonElement} */ (document.getElementById('reload')).disabled,
  );

  // Gone: a banner, the figures greyed, the tab's title; the buttons stay disabled.
  await within(second.exited, 60_000, 'the second master to exit');
  await page.waitForSelector('#gone:not([hidden])');
  assert.match(
    await page.textContent('#gone'),
    /^The master is not answering \(no answer\)\. What this page shows is as of /,
  );
  assert.match(await page.title(), /^⚠ not answering · baton · /);
  assert.deepEqual(
    await page.evaluate(() => [
      document.getElementById('dashboard').classList.contains('stale'),
      /** @type {HTMLButtonElement} */ (document.getElementById('reload')).disabled,
      document.getElementById('live').textContent,
    ]),
    [true, true, 'not answering'],
  );
});

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on `page`, as `rule: selectors`. */
async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    // @ts-expect-error axe-core, evaluated in the page just above
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes}`);
}

test('the admin page at 390 px and 1,440 px, light and dark: no overflow, no serious axe violation; which release serves, a crash per worker, the log panel, new releases, a locked-out page signs in again', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const dir = releasesDir(t, { good: ['v1'], app: 'test/fixtures/slow-request-app.mjs' });
  const tokenFile = writeTokenFile(t, `${TOKEN}\n`);
  const [port, adminPort] = [await freePort(), await freePort()];
  const admin = `http://127.0.0.1:${adminPort}`;
  const logFile = path.join(dir, 'baton.log');
  fs.writeFileSync(path.join(dir, 'v1/package.json'), '{"version":"1.4.0"}');
  fs.writeFileSync(path.join(dir, 'v1/REVISION'), 'build-812\n');
  const args = ['-w', '2', '--admin', `127.0.0.1:${adminPort}`, '--admin-token-file', tokenFile, '--releases', dir];
  args.push('--log-file', logFile);
  const master = startMaster([...args, 'app.mjs'], { env: { PORT: String(port) } });
  t.after(() => stopMaster(master));
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await signIn(page, admin, 2);

  // Which code serves: the release, its version and revision, on the card and in /metrics.
  assert.match(await page.textContent('#generation-more'), /^release v1 \(1\.4\.0 · build-812\) · since start$/);
  const metrics = await request(adminPort, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.match(metrics.body, /^baton_release_info\{release="v1",version="1\.4\.0",revision="build-812"\} 1$/m);

  // A worker crashes: its slot's row says it restarted, and how the last one ended.
  const [victim] = (await shown(page)).workers;
  process.kill(victim.pid, 'SIGKILL');
  await page.waitForFunction(() => {
    const exits = [...document.querySelectorAll('#workers td[data-cell="exit"]')].map((td) => td.textContent);
    return exits.some((text) => text.startsWith('SIGKILL · '));
  });
  const row = await page.$$eval('#workers tr', (trs) =>
    trs
      .filter((tr) => tr.querySelector('td[data-cell="exit"]').textContent !== '–')
      .map((tr) => [tr.querySelector('td[data-cell="restarts"]').textContent, tr.dataset.pid]),
  );
  assert.equal(row.length, 1, JSON.stringify(row));
  assert.equal(row[0][0], '1');
  assert.notEqual(Number(row[0][1]), victim.pid, 'a new worker in its slot');

  // The log panel: the master's lines (the crash among them) and a worker's, live; the filter keeps one worker's.
  await page.waitForFunction(() => document.getElementById('logs').textContent.includes('SIGKILL'));
  const pid = Number((await request(port, 'GET', '/?delay=0')).body);
  const line = `request arrived pid ${pid} delay 0`;
  await page.waitForFunction((l) => document.getElementById('logs').textContent.includes(l), line);
  await page.selectOption('#log-worker', String(pid));
  await page.waitForFunction(
    ([p, l]) => {
      const lis = [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#logs li'))];
      return lis.length > 0 && lis.every((li) => li.dataset.pid === p) && lis.some((li) => li.textContent.endsWith(l));
    },
    [String(pid), line],
  );
  await page.selectOption('#log-worker', '');
  await page.waitForSelector('#logs li[data-stream="master"]');

  // Each worker's CPU use between heartbeats, the requests a second of the one asked; generation 1's requests.
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#workers td[data-cell="cpu"]')].every((td) => /^\d+\.\d %$/.test(td.textContent)),
  );
  await page.waitForSelector('#traffic tr[data-generation="1"]');
  await page.waitForFunction(
    (p) => /^\d+\.\d$/.test(document.querySelector(`#workers tr[data-pid="${p}"] td[data-cell="rate"]`).textContent),
    pid,
  );

  // The master keeps each worker's last heartbeats (in /api/status): a page opened now draws a sparkline of each
  // figure at its first render, from that history, not from what it polled itself.
  const { workers } = JSON.parse(
    (await request(adminPort, 'GET', '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } })).body,
  );
  for (const { pid: p, history } of workers) {
    const lengths = Object.values(history).map((series) => series.length);
    assert.ok(lengths.length === 4 && lengths.every((n) => n >= 2 && n <= 60), `${p}: ${JSON.stringify(history)}`);
  }
  const fresh = await context.newPage();
  await fresh.goto(admin);
  const firstRender = await fresh.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#workers tr[data-pid]')];
    return (
      rows.length > 0 && rows.map((tr) => [...tr.querySelectorAll('polyline')].map((l) => l.getAttribute('points')))
    );
  });
  const sparks = await firstRender.jsonValue();
  assert.ok(sparks.length === 2 && sparks.flat().length === 8 && sparks.flat().every(Boolean), JSON.stringify(sparks));
  await fresh.close();
  await page.bringToFront();

  // A release put on disk while the page is open appears in the picker.
  fs.cpSync(path.join(dir, 'v1'), path.join(dir, 'v2'), { recursive: true });
  await page.waitForSelector('#release option[value="v2"]', { state: 'attached' });

  for (const width of [390, 1440])
    for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= width, `${width} px ${colorScheme}: the page is ${wide} px wide`);
      assert.deepEqual(await axeViolations(page), [], `${width} px ${colorScheme}`);
      const shot = await page.screenshot({ fullPage: true });
      saveScreenshot(`page-${width}-${colorScheme}.png`, shot);
    }

  // Locked out: its session gone (the cookie cleared) and this address over the limit of wrong tokens, which another
  // client sent: the page shows the sign-in and why, not the last figures; the right token still signs in.
  await context.clearCookies();
  for (let i = 0; i < 10; i++)
    await request(adminPort, 'GET', '/api/status', { headers: { authorization: 'Bearer wrong' } });
  await page.waitForSelector('#signin:not([hidden])');
  assert.match(
    await page.textContent('#signin-error'),
    /^too many failed attempts from .*; the right token still signs in\.$/,
  );
  assert.equal(await page.isVisible('#dashboard'), false);
  await signIn(page, admin, 2);
});
