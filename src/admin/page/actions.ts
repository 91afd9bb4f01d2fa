/** The page's actions, Reload and Stop, each confirmed first, and what they came to. */
import type { Phase, ReloadResult } from '../../protocol/control.js';
import { $, errorOf, h, PAGE } from './dom.js';
import { loadReleases } from './releases.js';
import { page } from './state.js';
import { count, formatMs, phaseText, readEvents, signedOut } from './view.js';

/** Asks in the dialog; true once `action` is pressed. */
function confirmed(title: string, text: string, action: string, className: string): Promise<boolean> {
  const d = $<HTMLDialogElement>('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = action;
  $('confirm-ok').className = className;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

export function busy(on: boolean): void {
  $<HTMLButtonElement>('reload').disabled = on;
  $<HTMLButtonElement>('stop').disabled = on;
  $<HTMLSelectElement>('release').disabled = on;
}

function outcome(ok: boolean, title: string, text?: string, details?: string): void {
  const o = $('outcome');
  o.dataset.ok = String(ok);
  const parts: Node[] = [h('strong', {}, title)];
  if (text) parts.push(h('p', {}, text));
  if (details) parts.push(h('details', {}, h('summary', {}, 'What the worker wrote to stderr'), h('pre', {}, details)));
  o.replaceChildren(...parts);
  o.hidden = false;
  // The button pressed was disabled meanwhile, which sent the focus to the body: it goes to what came of it.
  if (document.activeElement === document.body || document.activeElement === null) o.focus();
}

/** Hides the outcome of an earlier action. */
export function clearOutcome(): void {
  $('outcome').hidden = true;
}

function showResult(r: ReloadResult, rolledBack: boolean): void {
  if (r.ok) {
    const cut = r.cut
      ? ` ${count(r.cut, 'connection was', 'connections were')} still open at the drain timeout and cut.`
      : '';
    outcome(true, `Reloaded: generation ${r.generation} serves.`, `The reload took ${formatMs(r.ms)}.${cut}`);
  } else if (!rolledBack) {
    outcome(false, `Not reloaded: ${r.reason}.`);
  } else {
    const why = `Generation ${r.generation} did not take over. Why: ${r.reason}`;
    outcome(false, 'The reload failed and was rolled back.', why, r.stderrTail);
  }
}

/** Reload, confirmed: its phases as they come, then its outcome; the buttons free again once the switch is done. */
async function reload(): Promise<void> {
  const release = $('release-picker').hidden ? '' : $<HTMLSelectElement>('release').value;
  const onto = release ? `release ${release}` : 'the code on disk';
  const text = `New workers start on ${onto}; the old ones drain once the new ones are ready. If the new ones fail, they are stopped and generation ${page.serving} serves on.`;
  if (!(await confirmed(`Reload onto ${onto}?`, text, 'Reload', 'primary'))) return;
  page.reloading += 1;
  busy(true);
  let served = false;
  // In service: another reload may start at once (a hotfix never waits for a slow drain).
  const inService = () => {
    if (served) return;
    served = true;
    page.reloading -= 1;
    if (!page.reloading) busy(false);
  };
  $('phases').replaceChildren();
  clearOutcome();
  try {
    await follow(release, inService);
  } catch (err) {
    outcome(
      false,
      'The reload’s progress was lost.',
      `${(err as Error).message}. The history below shows how it went.`,
    );
  } finally {
    inService();
    page.refresh();
    loadReleases();
  }
}

/** Asks for the reload and shows its phases as the answer streams them. */
async function follow(release: string, inService: () => void): Promise<void> {
  const headers: Record<string, string> = { ...PAGE, Accept: 'text/event-stream' };
  if (release) headers['Content-Type'] = 'application/json';
  const started = Date.now();
  const body = release ? JSON.stringify({ release }) : undefined;
  const r = await fetch('/api/reload', { method: 'POST', headers, body });
  if (signedOut(r.status)) return page.refresh(); // which shows the sign-in, and why
  if (!r.ok || !r.body) return outcome(false, 'The reload was refused.', await errorOf(r));
  let result: ReloadResult | undefined;
  let rolledBack = false;
  await readEvents(r.body, (name, data) => {
    if (name === 'result') result = data as ReloadResult;
    if (name !== 'phase') return;
    const p = data as Phase;
    rolledBack ||= p.phase === 'rollback';
    if (p.phase === 'draining') inService();
    const at = h('span', { className: 'at' }, `+${formatMs(Date.now() - started)}`);
    const props = { 'data-phase': p.phase, className: p.phase === 'rollback' ? 'bad' : '' };
    $('phases').append(h('li', props, h('span', {}, phaseText(p)), at));
  });
  if (result) showResult(result, rolledBack);
  else outcome(false, 'The answer ended before the reload did.', 'The history below shows how it went.');
}

/** Stop, confirmed: the master drains and exits; the page says so until another master answers. */
async function stop(): Promise<void> {
  const text =
    'Every worker finishes its requests in flight and exits, then the master exits. Nothing serves until baton is started again.';
  if (!(await confirmed('Stop baton?', text, 'Stop', 'danger'))) return;
  busy(true);
  const pid = Number($('master').dataset.pid);
  const r = await fetch('/api/stop', { method: 'POST', headers: PAGE }).catch((err: Error) => err);
  if (!(r instanceof Error) && r.ok) {
    page.stoppedPid = pid;
    return outcome(true, 'Stopping: the workers drain, then the master exits.');
  }
  busy(false);
  if (r instanceof Error) return outcome(false, 'Not stopped.', r.message);
  if (signedOut(r.status)) return page.refresh(); // which shows the sign-in, and why
  outcome(false, 'Not stopped.', await errorOf(r));
}

export function listenToActions(): void {
  $('reload').addEventListener('click', reload);
  $('stop').addEventListener('click', stop);
}
