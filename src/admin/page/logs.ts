/**
 * The log panel: the last lines the master keeps with --log-file (GET /api/logs), then each as it comes (its
 * Server-Sent Events, resumed after the last seq on a break), of every process or of the worker picked.
 */
import type { LogLine } from '../../protocol/logs.js';
import { $, h, PAGE } from './dom.js';
import { readEvents } from './view.js';

/** Lines shown at most, the newest. */
const SHOWN = 300;
const RETRY_MS = 2000;

/** What is followed: the master's lines (of one worker, or all), the last seq shown, and how to stop. */
interface Following {
  key: string;
  worker: string;
  last: number;
  controller: AbortController;
}
let following: Following | null = null;

export function unfollowLogs(): void {
  following?.controller.abort();
  following = null;
}

/** Follows master `masterPid`'s lines, of the worker the filter names; again from the start for another master. */
export function followLogs(masterPid: number): void {
  const worker = $<HTMLSelectElement>('log-worker').value;
  const key = `${masterPid}/${worker}`;
  if (following?.key === key) return;
  unfollowLogs();
  const f: Following = { key, worker, last: 0, controller: new AbortController() };
  following = f;
  $('logs').replaceChildren();
  const pause = () => new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  (async () => {
    while (following === f) {
      const enabled = await begin(f);
      if (enabled === false) return;
      while (enabled && following === f) {
        const r = await ask(f, { headers: { ...PAGE, Accept: 'text/event-stream' } });
        if (r?.ok && r.body)
          await readEvents(r.body, (name, l) => name === 'log' && show(f, [l as LogLine])).catch(() => {});
        if (following === f) await pause();
      }
      if (following === f) await pause();
    }
  })();
}

/** The lines kept so far, shown; whether the master keeps any (a hint if not); undefined when it did not answer. */
async function begin(f: Following): Promise<boolean | undefined> {
  const r = await ask(f, { headers: PAGE });
  if (!r?.ok) return undefined;
  const { enabled, lines } = (await r.json()) as { enabled: boolean; lines: LogLine[] };
  $('logs-off').hidden = enabled;
  $('logs').hidden = !enabled;
  if (enabled) show(f, lines);
  return enabled;
}

/** GET /api/logs after the last line shown; undefined when it did not answer (the master gone, or this page left). */
function ask(f: Following, init: RequestInit): Promise<Response | undefined> {
  const query = `after=${f.last}&limit=${SHOWN}${f.worker ? `&worker=${f.worker}` : ''}`;
  return fetch(`/api/logs?${query}`, { ...init, signal: f.controller.signal }).catch(() => undefined);
}

/** Appends `lines`, oldest first, as a terminal does: kept scrolled to the newest unless the reader scrolled up. */
function show(f: { last: number }, lines: LogLine[]): void {
  const list = $('logs');
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  for (const l of lines) {
    f.last = l.seq;
    const from = l.stream === 'master' ? 'baton' : `${l.stream}[${l.pid}]`;
    const text = `${new Date(l.time).toLocaleTimeString()} ${from} ${l.line}`;
    list.append(h('li', { 'data-stream': l.stream, 'data-pid': String(l.pid ?? '') }, text));
  }
  while (list.children.length > SHOWN) list.firstChild?.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

/** The worker filter: every process, or one of the workers the status lists (the one picked kept while it runs). */
export function workerChoices(pids: number[]): void {
  const select = $<HTMLSelectElement>('log-worker');
  const seen = pids.join(',');
  if (select.dataset.seen === seen || document.activeElement === select) return;
  select.dataset.seen = seen;
  const chosen = select.value;
  select.replaceChildren(
    h('option', { value: '' }, 'all'),
    ...pids.map((p) => h('option', { value: String(p) }, `worker ${p}`)),
  );
  select.value = pids.map(String).includes(chosen) ? chosen : '';
}
