/**
 * The admin page at `/`: one self-contained document (its style and script
 * inline, no other asset), a client of the same API that fleet tooling uses.
 * Everything it shows is written as text nodes, never as HTML, and its
 * Content-Security-Policy allows only its own style and script, by hash: an
 * injected tag or attribute would not run.
 *
 * The document is the same for everyone; the script asks /api/status whether
 * it is signed in, so a session cookie that SameSite=Strict held back from a
 * link on another site is sent again by the page's own request.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { formatMs, mib } from '../format.js';
import { PAGE_HEADER } from './session.js';

/** On every response of the admin listener: nothing it answers may be framed, sniffed, or leak the page's address. */
export const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #fff; --line: #e3e6eb; --text: #1d2330; --muted: #697386;
  --accent: #3d5afe; --ok: #2b8a3e; --ok-bg: #e6f4ea; --bad: #c92a2a; --bad-bg: #fdecec;
  --warn: #b7650b; --warn-bg: #fff3e0; --info: #1c6dd0; --info-bg: #e7f0fc;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11141a; --card: #181c24; --line: #2a303c; --text: #e4e7ee; --muted: #8d96a8;
    --accent: #7b8cff; --ok: #69db7c; --ok-bg: #1b3324; --bad: #ff8787; --bad-bg: #3a1f22;
    --warn: #ffc078; --warn-bg: #3a2c17; --info: #74c0fc; --info-bg: #172a3d;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 16px; padding: 14px 28px; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 600; font-size: 17px; }
.brand .name { color: var(--muted); font-weight: 400; }
.live { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
.live[data-state="up"]::before { background: var(--ok); }
.live[data-state="down"]::before { background: var(--bad); }
.live[data-state="stopping"]::before { background: var(--warn); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 20px; }
h2 { font-size: 14px; font-weight: 600; margin: 0 0 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 20px; margin-bottom: 20px; }
.summary .card { margin: 0; }
.label { display: block; font-size: 13px; color: var(--muted); margin-bottom: 4px; }
.sub { display: block; font-size: 13px; color: var(--muted); margin-top: 2px; }
.big { font-size: 34px; font-weight: 600; line-height: 1.1; font-variant-numeric: tabular-nums; }
.mid { display: block; font-size: 20px; font-weight: 600; line-height: 1.3; margin-top: 6px; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
ul.plain { list-style: none; margin: 0; padding: 0; }
code, .mono, td.num { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 12px; font-weight: 500; color: var(--muted); padding: 6px 10px; border-bottom: 1px solid var(--line); }
td { padding: 9px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.reason { color: var(--muted); font-size: 13px; word-break: break-word; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 500; background: var(--info-bg); color: var(--info); }
.pill.ready, .pill.ok { background: var(--ok-bg); color: var(--ok); }
.pill.draining { background: var(--warn-bg); color: var(--warn); }
.pill.unresponsive, .pill.failed { background: var(--bad-bg); color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; }
.actions p { margin: 0; flex: 1 1 320px; color: var(--muted); }
select, input { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 7px 10px; }
button { font: inherit; font-weight: 500; border-radius: 8px; padding: 7px 16px; border: 1px solid var(--line); background: var(--card); color: var(--text); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); border-color: var(--bad); }
dialog button.danger { background: var(--bad); color: #fff; }
ol.phases { list-style: none; margin: 16px 0 0; padding: 0; }
ol.events { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; font: 12px/1.6 ui-monospace, monospace; }
ol.events li[data-level="warn"] { color: var(--warn); }
ol.events li[data-level="error"] { color: var(--bad); }
ol.phases:empty { display: none; }
ol.phases li { display: flex; gap: 12px; padding: 4px 0 4px 18px; position: relative; }
ol.phases li::before { content: ""; position: absolute; left: 2px; top: 12px; width: 7px; height: 7px; border-radius: 50%; background: var(--accent); }
ol.phases li.bad::before { background: var(--bad); }
ol.phases .at { margin-left: auto; color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
.outcome { margin-top: 14px; padding: 12px 14px; border-radius: 8px; background: var(--ok-bg); color: var(--ok); }
.outcome[data-ok="false"] { background: var(--bad-bg); color: var(--bad); }
.outcome strong { display: block; }
.outcome p { margin: 4px 0 0; color: var(--text); }
.outcome pre { margin: 8px 0 0; max-height: 220px; overflow: auto; font-size: 12px; color: var(--text); white-space: pre-wrap; }
.signin { max-width: 420px; margin: 64px auto; }
.signin h1 { font-size: 22px; margin: 0 0 6px; }
.signin p { color: var(--muted); margin: 0 0 16px; }
.signin input { width: 100%; margin-bottom: 12px; }
.signin p.error { color: var(--bad); min-height: 1.5em; margin: 10px 0 0; }
dialog { border: 1px solid var(--line); border-radius: 12px; padding: 22px 24px; max-width: 440px; background: var(--card); color: var(--text); }
dialog::backdrop { background: rgba(10, 14, 22, .45); }
dialog h2 { text-transform: none; letter-spacing: 0; font-size: 18px; color: var(--text); }
dialog menu { display: flex; justify-content: flex-end; gap: 10px; padding: 0; margin: 18px 0 0; }
footer { text-align: center; color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
`;

const SCRIPT = String.raw`
'use strict';
const formatMs = ${formatMs.toString()};
const $ = (id) => document.getElementById(id);
const PAGE = { '${PAGE_HEADER}': '1' };
const signInNeeded = document.body.dataset.signIn === 'yes';
let timer = 0;
/** Only the latest poll renders and schedules the next: one started meanwhile (after a reload) takes over. */
let polls = 0;
let serving = null;
let releasesAsked = false;
/** This page's reloads until each new generation serves (an old one may drain long after): the buttons wait for them. */
let reloading = 0;
/** The master this page told to stop: its 'Stopping' outcome stays until another master answers. */
let stoppedPid = null;

function h(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}
const mib = ${mib.toString()};
const count = (n, one, many) => n + ' ' + (n === 1 ? one : many);
const when = (iso) => {
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
};
const cell = (text, className) => h('td', className ? { className } : {}, text);

async function errorOf(r) {
  try {
    return (await r.json()).error || 'HTTP ' + r.status;
  } catch {
    return 'HTTP ' + r.status;
  }
}

function view(name) {
  $('signin').hidden = name !== 'signin';
  $('dashboard').hidden = name !== 'dashboard';
  $('signout').hidden = !(signInNeeded && name === 'dashboard');
  if (name === 'signin') {
    unfollow();
    clearTimeout(timer);
    polls += 1; // a poll still on its way would show the dashboard again
    live('idle', 'signed out');
    $('token').focus();
  }
}

function live(state, text) {
  $('live').dataset.state = state;
  $('live').textContent = text;
}

async function poll() {
  clearTimeout(timer);
  const mine = ++polls;
  let status;
  let body;
  try {
    const r = await fetch('/api/status', { headers: PAGE, cache: 'no-store' });
    [status, body] = [r.status, r.ok ? await r.json() : await errorOf(r)];
  } catch {
    [status, body] = [0, 'no answer; retrying'];
  }
  if (mine !== polls) return;
  if (status === 401) return view('signin');
  if (status !== 200) {
    live('down', body);
    timer = setTimeout(poll, 2000);
    return;
  }
  render(body);
  view('dashboard');
  if (!releasesAsked) loadReleases();
  timer = setTimeout(poll, 1000);
}

/** The master's timeline, followed (GET /api/events): the master it comes from, the last event seen, its stop. */
let following = null;

function unfollow() {
  following?.controller.abort();
  following = null;
}

/** Follows the timeline of master masterPid, resuming after the last event on a break, anew for another master. */
function follow(masterPid) {
  if (following?.pid === masterPid) return;
  unfollow();
  const f = { pid: masterPid, last: 0, controller: new AbortController() };
  following = f;
  $('events').replaceChildren();
  (async () => {
    while (following === f) {
      try {
        const r = await fetch('/api/events?after=' + f.last, { headers: PAGE, signal: f.controller.signal });
        if (r.ok) await events(r.body, (name, e) => name === 'event' && showEvent(f, e));
      } catch {
        // The master gone or restarted, or this page signed out: tried again below, or ended.
      }
      if (following === f) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
}

/** An event, newest first: what another client, a signal or the master itself did shows here as it happens. */
function showEvent(f, e) {
  f.last = e.id;
  const fields = Object.entries(e.fields).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => k + '=' + v).join(' ');
  const list = $('events');
  list.prepend(h('li', { 'data-level': e.level, 'data-id': String(e.id) }, when(e.at) + '  ' + e.text + (fields ? '  ' + fields : '')));
  while (list.children.length > 200) list.lastChild.remove();
  if (/^(reload|stopping|stopped|replaced|started)/.test(e.text)) poll();
}

function render(s) {
  serving = s.generation;
  follow(s.masterPid);
  const stopping = s.stopping;
  if (stopping) live('stopping', stopping.phase === 'delay' ? 'stopping: not ready, serving on for ' + formatMs(stopping.msLeft) : 'stopping: draining');
  else live('up', 'live');
  if (stoppedPid !== null && !stopping && s.masterPid !== stoppedPid) {
    stoppedPid = null;
    $('outcome').hidden = true;
  }
  if (!reloading) busy(Boolean(stopping) || stoppedPid !== null);
  document.title = 'baton · ' + s.name + ' · generation ' + s.generation;
  $('name').textContent = s.name;
  $('generation').textContent = String(s.generation);
  const by = (state) => s.workers.filter((w) => w.state === state).length;
  $('worker-count').textContent = String(by('ready'));
  $('worker-more').textContent = 'ready · ' + by('starting') + ' starting · ' + by('draining') + ' draining';
  $('master').textContent = 'pid ' + s.masterPid;
  $('master-more').textContent = 'up ' + formatMs(s.uptimeMs) + (s.master ? ' · ' + mib(s.master.rssBytes, '–') : '');
  // Since its switch: the reload that put this very generation in service, not the last one to finish.
  const put = s.reloads.find((r) => r.ok && r.generation === s.generation);
  const since = put && put.startedAt && put.inServiceMs !== undefined ? new Date(Date.parse(put.startedAt) + put.inServiceMs).toISOString() : put && put.at;
  $('generation-more').textContent = (s.release ? 'release ' + s.release + ' · ' : '') + (since ? 'since ' + when(since) : 'since start');
  $('listeners').replaceChildren(...(s.listeners.length ? s.listeners.map((l) => h('li', { className: 'mono' }, l)) : [h('li', { className: 'muted' }, 'none yet')]));
  $('workers').replaceChildren(...(s.workers.length ? s.workers.map(workerRow) : [h('tr', {}, h('td', { colSpan: 8, className: 'muted' }, 'No workers.'))]));
  const newest = s.reloads.slice().sort((a, b) => (b.startedAt || b.at).localeCompare(a.startedAt || a.at));
  $('reloads').replaceChildren(...(newest.length ? newest.map(reloadRow) : [h('tr', {}, h('td', { colSpan: 6, className: 'muted' }, 'No reloads yet.'))]));
}

function workerRow(w) {
  const state = w.unresponsive ? 'unresponsive' : w.state;
  return h('tr', { 'data-pid': String(w.pid), 'data-state': state },
    cell(String(w.pid), 'num'), cell(String(w.generation), 'num'),
    h('td', {}, h('span', { className: 'pill ' + state }, state)),
    cell(formatMs(w.uptimeMs), 'num'), cell(mib(w.rssBytes, '–'), 'num'),
    cell(w.delayMs === null ? '–' : w.delayMs + ' ms', 'num'),
    cell(w.connections === null ? '–' : String(w.connections), 'num'),
    cell(w.heartbeatAgeMs === null ? '–' : formatMs(w.heartbeatAgeMs) + ' ago', 'num'));
}

/** A reload: when it started, how long until the new generation served (the switch), then until the old one had drained. */
function reloadRow(r) {
  const cut = r.cut ? count(r.cut, 'connection', 'connections') + ' cut at the drain timeout' : '';
  const details = [r.release ? 'release ' + r.release : '', r.ok ? cut : r.reason || ''].filter(Boolean).join(' · ');
  const drain = r.drainedMs !== undefined && r.inServiceMs !== undefined ? formatMs(r.drainedMs - r.inServiceMs) : '–';
  return h('tr', { 'data-generation': String(r.generation), 'data-ok': String(r.ok) },
    cell(String(r.generation), 'num'),
    h('td', {}, h('span', { className: 'pill ' + (r.ok ? 'ok' : 'failed') }, r.ok ? 'ok' : 'rolled back')),
    h('td', { className: 'num', title: r.startedAt || r.at }, when(r.startedAt || r.at)),
    h('td', { className: 'num', 'data-cell': 'switch' }, r.ok && r.inServiceMs !== undefined ? formatMs(r.inServiceMs) : '–'),
    h('td', { className: 'num', 'data-cell': 'drain' }, drain),
    cell(details, 'reason'));
}

async function loadReleases() {
  releasesAsked = true;
  let r;
  try {
    r = await fetch('/api/releases', { headers: PAGE, cache: 'no-store' });
  } catch {
    return;
  }
  if (r.status !== 200) {
    $('release-picker').hidden = true;
    return;
  }
  const list = await r.json();
  const select = $('release');
  const chosen = select.value;
  const onDisk = list.current ? 'as on disk (current: ' + list.current + ')' : 'as on disk';
  select.replaceChildren(h('option', { value: '' }, onDisk),
    ...list.releases.map((x) => h('option', { value: x.name }, x.name + (x.serving ? ' (serving)' : ''))));
  if (list.releases.some((x) => x.name === chosen)) select.value = chosen;
  $('release-picker').hidden = false;
}

function confirmed(title, text, action, className) {
  const d = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = action;
  $('confirm-ok').className = className;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

function busy(on) {
  $('reload').disabled = on;
  $('stop').disabled = on;
  $('release').disabled = on;
}

function outcome(ok, title, text, details) {
  const o = $('outcome');
  o.dataset.ok = String(ok);
  o.replaceChildren(...[h('strong', {}, title), text && h('p', {}, text),
    details && h('details', {}, h('summary', {}, 'What the worker wrote to stderr'), h('pre', {}, details))].filter(Boolean));
  o.hidden = false;
}

function phaseText(p) {
  switch (p.phase) {
    case 'queued': return 'Waiting: ' + p.reason;
    case 'spawned': return 'Started generation ' + p.generation + (p.release ? ' (release ' + p.release + ')' : '') + ': '
      + (p.pids.length === 1 ? 'pid ' : 'pids ') + p.pids.join(', ');
    case 'ready': return 'Generation ' + p.generation + ' ready after ' + formatMs(p.ms);
    case 'draining': return 'Draining generation ' + p.generation + ' (' + count(p.connections, 'open connection', 'open connections') + ')';
    case 'done': return 'Done: generation ' + p.generation + ' serves';
    case 'rollback': return 'Generation ' + p.generation + ' failed: rolled back';
    default: return p.phase;
  }
}

async function events(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (name && data) onEvent(name[1], JSON.parse(data[1]));
    }
  }
}

function showResult(r, rolledBack) {
  if (r.ok) {
    const cut = r.cut ? ' ' + count(r.cut, 'connection was', 'connections were') + ' still open at the drain timeout and cut.' : '';
    return outcome(true, 'Reloaded: generation ' + r.generation + ' serves.', 'The reload took ' + formatMs(r.ms) + '.' + cut);
  }
  if (!rolledBack) return outcome(false, 'Not reloaded: ' + r.reason + '.');
  outcome(false, 'The reload failed and was rolled back.', 'Generation ' + r.generation + ' did not take over. Why: ' + r.reason, r.stderrTail);
}

async function reload() {
  const release = $('release-picker').hidden ? '' : $('release').value;
  const onto = release ? 'release ' + release : 'the code on disk';
  const text = 'New workers start on ' + onto + '; the old ones drain once the new ones are ready. If the new ones fail, they are stopped and generation ' + serving + ' serves on.';
  if (!(await confirmed('Reload onto ' + onto + '?', text, 'Reload', 'primary'))) return;
  reloading += 1;
  busy(true);
  let served = false;
  // In service: another reload may start at once (a hotfix never waits for a slow drain).
  const inService = () => {
    if (served) return;
    served = true;
    reloading -= 1;
    if (!reloading) busy(false);
  };
  $('phases').replaceChildren();
  $('outcome').hidden = true;
  const headers = { ...PAGE, Accept: 'text/event-stream' };
  if (release) headers['Content-Type'] = 'application/json';
  const started = Date.now();
  try {
    const r = await fetch('/api/reload', { method: 'POST', headers, body: release ? JSON.stringify({ release }) : undefined });
    if (r.status === 401) return view('signin');
    if (!r.ok) return outcome(false, 'The reload was refused.', await errorOf(r));
    let result;
    let rolledBack = false;
    await events(r.body, (name, data) => {
      if (name === 'result') result = data;
      if (name !== 'phase') return;
      rolledBack ||= data.phase === 'rollback';
      if (data.phase === 'draining') inService();
      $('phases').append(h('li', { 'data-phase': data.phase, className: data.phase === 'rollback' ? 'bad' : '' },
        h('span', {}, phaseText(data)), h('span', { className: 'at' }, '+' + formatMs(Date.now() - started))));
    });
    if (result) showResult(result, rolledBack);
    else outcome(false, 'The answer ended before the reload did.', 'The history below shows how it went.');
  } catch (err) {
    outcome(false, 'The reload’s progress was lost.', err.message + '. The history below shows how it went.');
  } finally {
    inService();
    poll();
    loadReleases();
  }
}

async function stop() {
  const text = 'Every worker finishes its requests in flight and exits, then the master exits. Nothing serves until baton is started again.';
  if (!(await confirmed('Stop baton?', text, 'Stop', 'danger'))) return;
  busy(true);
  const pid = Number($('master').textContent.replace('pid ', ''));
  const r = await fetch('/api/stop', { method: 'POST', headers: PAGE }).catch((err) => err);
  if (r.ok) {
    stoppedPid = pid;
    return outcome(true, 'Stopping: the workers drain, then the master exits.');
  }
  busy(false);
  if (r.status === 401) return view('signin');
  outcome(false, 'Not stopped.', r instanceof Error ? r.message : await errorOf(r));
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = $('signin-error');
  error.textContent = '';
  let r;
  try {
    r = await fetch('/signin', { method: 'POST', headers: { ...PAGE, Authorization: 'Bearer ' + $('token').value.trim() } });
  } catch (err) {
    error.textContent = 'No answer: ' + err.message;
    return;
  }
  if (!r.ok) {
    error.textContent = r.status === 401 ? 'That is not the token.' : await errorOf(r);
    return;
  }
  $('token').value = '';
  poll();
});
$('signout').addEventListener('click', async () => {
  await fetch('/signout', { method: 'POST', headers: PAGE }).catch(() => {});
  view('signin');
});
$('reload').addEventListener('click', reload);
$('stop').addEventListener('click', stop);
poll();
`;

const ICON =
  '<svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true"><rect x="13" y="1" width="6" height="30" rx="3" ' +
  'transform="rotate(40 16 16)" fill="#3d5afe"/><circle cx="16" cy="16" r="4" fill="#ffb300"/></svg>';

const BODY = `
<header>
  <div class="brand">${ICON}<span>baton</span><span class="name" id="name"></span></div>
  <div class="live" id="live" data-state="idle">connecting</div>
  <button id="signout" hidden>Sign out</button>
</header>
<main>
  <section id="signin" hidden>
    <form id="signin-form" class="card signin" method="post" action="/signin">
      <h1>Sign in</h1>
      <p>Paste the admin token: the contents of the file given to <code>--admin-token-file</code>.</p>
      <input type="password" id="token" name="token" autocomplete="current-password" aria-label="Admin token" required>
      <button type="submit" class="primary">Sign in</button>
      <p class="error" id="signin-error" role="alert"></p>
    </form>
  </section>
  <section id="dashboard" hidden>
    <div class="summary">
      <div class="card"><span class="label">Generation</span><span class="big" id="generation"></span><span class="sub" id="generation-more"></span></div>
      <div class="card"><span class="label">Workers</span><span class="big" id="worker-count"></span><span class="sub" id="worker-more"></span></div>
      <div class="card"><span class="label">Master</span><span class="mid" id="master"></span><span class="sub" id="master-more"></span></div>
      <div class="card"><span class="label">Listeners</span><ul class="plain" id="listeners"></ul></div>
    </div>
    <div class="card">
      <div class="actions">
        <p>A reload starts new workers, waits until they are ready, then drains the old ones. New workers that fail are rolled back.</p>
        <label id="release-picker" hidden>Release <select id="release"></select></label>
        <button id="reload" class="primary">Reload</button>
        <button id="stop" class="danger">Stop</button>
      </div>
      <ol class="phases" id="phases" aria-live="polite"></ol>
      <div class="outcome" id="outcome" role="status" hidden></div>
    </div>
    <div class="card">
      <h2>Workers</h2>
      <table>
        <thead><tr><th>PID</th><th>Gen</th><th>State</th><th>Uptime</th><th>Memory</th><th>Loop delay</th><th>Connections</th><th>Heartbeat</th></tr></thead>
        <tbody id="workers"></tbody>
      </table>
    </div>
    <div class="card">
      <h2>Reloads</h2>
      <table>
        <thead><tr><th>Gen</th><th>Outcome</th><th>Started</th><th>Switched after</th><th>Old drained after the switch</th><th>Details</th></tr></thead>
        <tbody id="reloads"></tbody>
      </table>
    </div>
    <div class="card">
      <h2>Events</h2>
      <ol class="events" id="events" aria-live="polite"></ol>
    </div>
    <footer>Refreshed every second; events as they happen.</footer>
  </section>
</main>
<dialog id="confirm">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <menu><button value="cancel">Cancel</button><button value="ok" id="confirm-ok"></button></menu>
  </form>
</dialog>`;

const hash = (text: string): string => `'sha256-${crypto.createHash('sha256').update(text).digest('base64')}'`;

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    'img-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
};

const FAVICON = `data:image/svg+xml,${encodeURIComponent(ICON.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" '))}`;

/** The document; `signIn`: a token is set, so the page signs in (and out) with it. */
const html = (signIn: boolean): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>baton</title>
<link rel="icon" href="${FAVICON}">
<style>${STYLE}</style>
</head>
<body data-sign-in="${signIn ? 'yes' : 'no'}">${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Answers GET / with the page. */
export function servePage(res: http.ServerResponse, signIn: boolean): void {
  const body = html(signIn);
  res.writeHead(200, { ...PAGE_HEADERS, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
