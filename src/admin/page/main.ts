/**
 * The admin page's script (bundled by scripts/page.mjs, inlined in page.html): signs in, polls /api/status every
 * second and shows it, follows the timeline, and acts (actions.ts).
 */
import type { GenerationRequests, ReloadRecord, Status, WorkerStatus } from '../../protocol/control.js';
import { busy, clearOutcome, listenToActions } from './actions.js';
import { $, errorOf, h, PAGE } from './dom.js';
import { followLogs, unfollowLogs, workerChoices } from './logs.js';
import { identities, loadReleases } from './releases.js';
import { page } from './state.js';
import { follow, unfollow } from './timeline.js';
import { sample, spark, trendOf } from './trends.js';
import {
  actionsDisabled,
  exitText,
  formatMs,
  type Live,
  liveOf,
  mib,
  newestFirst,
  percent,
  releaseText,
  reloadCells,
  servingSince,
  signedOut,
  stateOf,
  titleOf,
  when,
  workerCounts,
} from './view.js';

const POLL_MS = 1000;
const RETRY_MS = 2000;
const signInNeeded = document.body.dataset.signIn === 'yes';
let timer: ReturnType<typeof setTimeout> | undefined;
/** Only the latest poll renders and schedules the next: one started meanwhile (after a reload) takes over. */
let polls = 0;
/** Polls since the release list was asked for. */
let releasesAsked = 0;
/** The release list is asked for at every this many polls. */
const RELEASES_EVERY = 5;
/** The last status answered, and when. */
let last: { status: Status; at: number } | undefined;

const cell = (text: string, className?: string) => h('td', className ? { className } : {}, text);

function view(name: 'signin' | 'dashboard', why = ''): void {
  $('signin').hidden = name !== 'signin';
  $('dashboard').hidden = name !== 'dashboard';
  $('signout').hidden = !(signInNeeded && name === 'dashboard');
  if (name === 'signin') {
    unfollow();
    unfollowLogs();
    clearTimeout(timer);
    polls += 1; // a poll still on its way would show the dashboard again
    live({ state: 'idle', text: 'signed out' });
    $('signin-error').textContent = why;
    document.title = titleOf(undefined, true);
    $('token').focus();
  }
}

function live({ state, text }: Live): void {
  const e = $('live');
  e.dataset.state = state;
  // Said again only when it changes: the element is a live region.
  if (e.textContent !== text) e.textContent = text;
}

/** The master does not answer: said in a banner, the tab's title and the header; its last figures greyed. */
function notAnswering(why: string): void {
  const banner = $('gone');
  if (banner.hidden) {
    const since = last ? ` What this page shows is as of ${new Date(last.at).toLocaleTimeString()}.` : '';
    banner.textContent = `The master is not answering (${why}).${since} Reload and Stop wait until it answers again.`;
    banner.hidden = false;
  }
  $('dashboard').classList.add('stale');
  live({ state: 'down', text: 'not answering' });
  busy(true);
  document.title = titleOf(last?.status, false);
}

async function poll(): Promise<void> {
  clearTimeout(timer);
  const mine = ++polls;
  let status: number;
  let body: Status | string;
  try {
    const r = await fetch('/api/status', { headers: PAGE, cache: 'no-store' });
    [status, body] = [r.status, r.ok ? await r.json() : await errorOf(r)];
  } catch {
    [status, body] = [0, 'no answer'];
  }
  if (mine !== polls) return;
  if (signedOut(status)) return view('signin', status === 429 ? `${body}; the right token still signs in.` : '');
  if (status !== 200) {
    notAnswering(body as string);
    timer = setTimeout(poll, RETRY_MS);
    return;
  }
  last = { status: body as Status, at: Date.now() };
  $('gone').hidden = true;
  $('dashboard').classList.remove('stale');
  render(body as Status);
  view('dashboard');
  // Releases appear on disk without the master's knowing: asked for again now and then.
  if (releasesAsked++ % RELEASES_EVERY === 0) loadReleases();
  timer = setTimeout(poll, POLL_MS);
}

function render(s: Status): void {
  page.serving = s.generation;
  follow(s.masterPid);
  workerChoices(s.workers.map((w) => w.pid).sort((a, b) => a - b));
  followLogs(s.masterPid);
  live(liveOf(s));
  if (page.stoppedPid !== null && !s.stopping && s.masterPid !== page.stoppedPid) {
    page.stoppedPid = null;
    clearOutcome();
  }
  busy(actionsDisabled(s, page.reloading, page.stoppedPid));
  document.title = titleOf(s, true);
  $('name').textContent = s.name;
  $('generation').textContent = String(s.generation);
  const counts = workerCounts(s.workers);
  $('worker-count').textContent = counts.ready;
  $('worker-more').textContent = counts.more;
  $('master').textContent = `pid ${s.masterPid}`;
  $('master').dataset.pid = String(s.masterPid);
  $('master-more').textContent = `up ${formatMs(s.uptimeMs)}${s.master ? ` · ${mib(s.master.rssBytes, '–')}` : ''}`;
  const since = servingSince(s);
  $('generation-more').textContent =
    (s.release ? `release ${releaseText(s.release, s.releaseIdentity)} · ` : '') +
    (since ? `since ${when(since)}` : 'since start');
  const listeners = s.listeners.map((l) => h('li', { className: 'mono' }, l));
  $('listeners').replaceChildren(...(listeners.length ? listeners : [h('li', { className: 'muted' }, 'none yet')]));
  const none = (colSpan: number, text: string) => h('tr', {}, h('td', { colSpan, className: 'muted' }, text));
  const now = Date.now();
  sample(s.workers, now);
  const workers = s.workers.map((w) => workerRow(w, now));
  $('workers').replaceChildren(...(workers.length ? workers : [none(12, 'No workers.')]));
  const traffic = (s.requests ?? []).map(trafficRow);
  $('traffic').replaceChildren(...(traffic.length ? traffic : [none(6, 'No requests counted.')]));
  const reloads = newestFirst(s.reloads).map(reloadRow);
  $('reloads').replaceChildren(...(reloads.length ? reloads : [none(6, 'No reloads yet.')]));
}

function workerRow(w: WorkerStatus, now: number): HTMLTableRowElement {
  const state = stateOf(w);
  const trend = trendOf(w.pid);
  const [cpu, rate] = [trend?.cpuPercent, trend?.perSecond];
  return h(
    'tr',
    { 'data-pid': String(w.pid), 'data-state': state },
    cell(String(w.pid), 'num'),
    cell(String(w.generation), 'num'),
    h('td', {}, h('span', { className: `pill ${state}` }, state)),
    cell(formatMs(w.uptimeMs), 'num'),
    h('td', { className: 'num', 'data-cell': 'cpu' }, cpu === undefined ? '–' : `${cpu.toFixed(1)} %`),
    h('td', { className: 'num' }, mib(w.rssBytes, '–'), spark(w.history?.rssBytes)),
    h('td', { className: 'num' }, w.delayMs === null ? '–' : `${w.delayMs} ms`, spark(w.history?.loopDelayMs)),
    h('td', { className: 'num' }, w.connections === null ? '–' : String(w.connections), spark(w.history?.connections)),
    h(
      'td',
      { className: 'num', 'data-cell': 'rate' },
      rate === undefined ? '–' : rate.toFixed(1),
      spark(w.history?.requests),
    ),
    cell(w.heartbeatAgeMs === null ? '–' : `${formatMs(w.heartbeatAgeMs)} ago`, 'num'),
    h('td', { className: 'num', 'data-cell': 'restarts' }, w.restarts === undefined ? '–' : String(w.restarts)),
    h('td', { className: 'num', 'data-cell': 'exit' }, exitText(w.lastExit, now)),
  );
}

/** A generation's requests over the last seconds: how many a second, how they ended, how long the answers took. */
function trafficRow({ generation, recent: r }: GenerationRequests): HTMLTableRowElement {
  const ms = (v: number | null) => (v === null ? '–' : formatMs(v));
  return h(
    'tr',
    { 'data-generation': String(generation) },
    cell(String(generation), 'num'),
    h('td', { className: 'num', 'data-cell': 'rate' }, r.perSecond.toFixed(1)),
    cell(percent(r.share5xx), 'num'),
    cell(percent(r.shareUnanswered), 'num'),
    cell(ms(r.p50Ms), 'num'),
    cell(ms(r.p99Ms), 'num'),
  );
}

/** A reload: when it started, how long until the new generation served (the switch), then until the old one drained. */
function reloadRow(r: ReloadRecord): HTMLTableRowElement {
  const c = reloadCells(r, identities);
  return h(
    'tr',
    { 'data-generation': String(r.generation), 'data-ok': String(r.ok) },
    cell(String(r.generation), 'num'),
    h('td', {}, h('span', { className: `pill ${r.ok ? 'ok' : 'failed'}` }, r.ok ? 'ok' : 'rolled back')),
    h('td', { className: 'num', title: c.started }, when(c.started)),
    h('td', { className: 'num', 'data-cell': 'switch' }, c.switched),
    h('td', { className: 'num', 'data-cell': 'drain' }, c.drained),
    cell(c.details, 'reason'),
  );
}

async function signIn(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const error = $('signin-error');
  error.textContent = '';
  const token = $<HTMLInputElement>('token');
  let r: Response;
  try {
    r = await fetch('/signin', { method: 'POST', headers: { ...PAGE, Authorization: `Bearer ${token.value.trim()}` } });
  } catch (err) {
    error.textContent = `No answer: ${(err as Error).message}`;
    return;
  }
  if (!r.ok) {
    error.textContent = r.status === 401 ? 'That is not the token.' : await errorOf(r);
    token.focus();
    return;
  }
  token.value = '';
  poll();
}

page.refresh = poll;
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', async () => {
  await fetch('/signout', { method: 'POST', headers: PAGE }).catch(() => {});
  view('signin');
});
$('log-worker').addEventListener('change', () => last && followLogs(last.status.masterPid));
listenToActions();
poll();
