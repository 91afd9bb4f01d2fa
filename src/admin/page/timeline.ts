/** The master's timeline, followed (GET /api/events): the Events card, and a refresh as something happens. */
import type { TimelineEvent } from '../../protocol/control.js';
import { $, h, PAGE } from './dom.js';
import { page } from './state.js';
import { readEvents, when } from './view.js';

/** How many events the card keeps. */
const SHOWN = 200;
/** Between tries to follow again, after a break. */
const RETRY_MS = 2000;

/** The master followed, the last event seen, and how to stop. */
let following: { pid: number; last: number; controller: AbortController } | null = null;

export function unfollow(): void {
  following?.controller.abort();
  following = null;
}

/** Follows the timeline of master `masterPid`, resuming after the last event on a break, anew for another master. */
export function follow(masterPid: number): void {
  if (following?.pid === masterPid) return;
  unfollow();
  const f = { pid: masterPid, last: 0, controller: new AbortController() };
  following = f;
  $('events').replaceChildren();
  (async () => {
    while (following === f) {
      try {
        const r = await fetch(`/api/events?after=${f.last}`, { headers: PAGE, signal: f.controller.signal });
        if (r.ok && r.body) await readEvents(r.body, (name, e) => name === 'event' && show(f, e as TimelineEvent));
      } catch {
        // The master gone or restarted, or this page signed out: tried again below, or ended.
      }
      if (following === f) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();
}

/** An event, newest first: what another client, a signal or the master itself did shows here as it happens. */
function show(f: { last: number }, e: TimelineEvent): void {
  f.last = e.id;
  const fields = Object.entries(e.fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const list = $('events');
  const text = `${when(e.at)}  ${e.text}${fields ? `  ${fields}` : ''}`;
  list.prepend(h('li', { 'data-level': e.level, 'data-id': String(e.id) }, text));
  while (list.children.length > SHOWN) list.lastChild?.remove();
  if (/^(reload|stopping|stopped|replaced|started)/.test(e.text)) page.refresh();
}
