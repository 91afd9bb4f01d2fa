/**
 * The admin page's script (bundled by scripts/page.mjs, inlined in page.html): signs in, polls /api/status every
 * second and shows it, follows the timeline, and acts (actions.ts).
 */
import type { ReloadRecord, Status, WorkerStatus } from '../../protocol/control.js';
import { busy, clearOutcome, listenToActions } from './actions.js';
import { $, errorOf, h, PAGE } from './dom.js';
import { loadReleases } from './releases.js';
import { page } from './state.js';
import { follow, unfollow } from './timeline.js';
import {
  actionsDisabled,
  formatMs,
  type Live,
  liveOf,
  mib,
  newestFirst,
  reloadCells,
  servingSince,
  stateOf,
  when,
  workerCounts,
} from './view.js';

const POLL_MS = 1000;
const RETRY_MS = 2000;
const signInNeeded = document.body.dataset.signIn === 'yes';
let timer: ReturnType<typeof setTimeout> | undefined;
/** Only the latest poll renders and schedules the next: one started meanwhile (after a reload) takes over. */
let polls = 0;
let releasesAsked = false;

const cell = (text: string, className?: string) => h('td', className ? { className } : {}, text);

function view(name: 'signin' | 'dashboard'): void {
  $('signin').hidden = name !== 'signin';
  $('dashboard').hidden = name !== 'dashboard';
  $('signout').hidden = !(signInNeeded && name === 'dashboard');
  if (name === 'signin') {
    unfollow();
    clearTimeout(timer);
    polls += 1; // a poll still on its way would show the dashboard again
    live({ state: 'idle', text: 'signed out' });
    $('token').focus();
  }
}

function live({ state, text }: Live): void {
  $('live').dataset.state = state;
  $('live').textContent = text;
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
    [status, body] = [0, 'no answer; retrying'];
  }
  if (mine !== polls) return;
  if (status === 401) return view('signin');
  if (status !== 200) {
    live({ state: 'down', text: body as string });
    timer = setTimeout(poll, RETRY_MS);
    return;
  }
  render(body as Status);
  view('dashboard');
  if (!releasesAsked) {
    releasesAsked = true;
    loadReleases();
  }
  timer = setTimeout(poll, POLL_MS);
}

function render(s: Status): void {
  page.serving = s.generation;
  follow(s.masterPid);
  live(liveOf(s));
  if (page.stoppedPid !== null && !s.stopping && s.masterPid !== page.stoppedPid) {
    page.stoppedPid = null;
    clearOutcome();
  }
  if (!page.reloading) busy(actionsDisabled(s, page.reloading, page.stoppedPid));
  document.title = `baton · ${s.name} · generation ${s.generation}`;
  $('name').textContent = s.name;
  $('generation').textContent = String(s.generation);
  const workers = workerCounts(s.workers);
  $('worker-count').textContent = workers.ready;
  $('worker-more').textContent = workers.more;
  $('master').textContent = `pid ${s.masterPid}`;
  $('master').dataset.pid = String(s.masterPid);
  $('master-more').textContent = `up ${formatMs(s.uptimeMs)}${s.master ? ` · ${mib(s.master.rssBytes, '–')}` : ''}`;
  const since = servingSince(s);
  $('generation-more').textContent =
    (s.release ? `release ${s.release} · ` : '') + (since ? `since ${when(since)}` : 'since start');
  const listeners = s.listeners.map((l) => h('li', { className: 'mono' }, l));
  $('listeners').replaceChildren(...(listeners.length ? listeners : [h('li', { className: 'muted' }, 'none yet')]));
  const none = (colSpan: number, text: string) => h('tr', {}, h('td', { colSpan, className: 'muted' }, text));
  $('workers').replaceChildren(...(s.workers.length ? s.workers.map(workerRow) : [none(8, 'No workers.')]));
  const reloads = newestFirst(s.reloads).map(reloadRow);
  $('reloads').replaceChildren(...(reloads.length ? reloads : [none(6, 'No reloads yet.')]));
}

function workerRow(w: WorkerStatus): HTMLTableRowElement {
  const state = stateOf(w);
  return h(
    'tr',
    { 'data-pid': String(w.pid), 'data-state': state },
    cell(String(w.pid), 'num'),
    cell(String(w.generation), 'num'),
    h('td', {}, h('span', { className: `pill ${state}` }, state)),
    cell(formatMs(w.uptimeMs), 'num'),
    cell(mib(w.rssBytes, '–'), 'num'),
    cell(w.delayMs === null ? '–' : `${w.delayMs} ms`, 'num'),
    cell(w.connections === null ? '–' : String(w.connections), 'num'),
    cell(w.heartbeatAgeMs === null ? '–' : `${formatMs(w.heartbeatAgeMs)} ago`, 'num'),
  );
}

/** A reload: when it started, how long until the new generation served (the switch), then until the old one drained. */
function reloadRow(r: ReloadRecord): HTMLTableRowElement {
  const c = reloadCells(r);
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
    return;
  }
  token.value = '';
  poll();
}

page.refresh = poll;
page.signIn = () => view('signin');
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', async () => {
  await fetch('/signout', { method: 'POST', headers: PAGE }).catch(() => {});
  view('signin');
});
listenToActions();
poll();
