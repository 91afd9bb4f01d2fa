/** The release picker (--releases): the releases on disk, asked for again every few seconds and after a reload. */
import type { ReleaseIdentity, ReleaseList } from '../../protocol/control.js';
import { $, h, PAGE } from './dom.js';
import { releaseText } from './view.js';

/** Each release's identity, by name, as the list last said: the history's rows name the code each reload started. */
export const identities: Record<string, ReleaseIdentity> = {};

/** Fills the picker, keeping the release chosen while it is still there; hides it on a master without --releases. */
export async function loadReleases(): Promise<void> {
  let r: Response;
  try {
    r = await fetch('/api/releases', { headers: PAGE, cache: 'no-store' });
  } catch {
    return;
  }
  if (r.status !== 200) {
    $('release-picker').hidden = true;
    return;
  }
  const list = (await r.json()) as ReleaseList;
  for (const { name, version, revision } of list.releases) identities[name] = { version, revision };
  const select = $<HTMLSelectElement>('release');
  // Not while the operator picks one (new options would close the list), nor when nothing changed.
  const seen = JSON.stringify([list.current, list.releases]);
  if (document.activeElement === select || select.dataset.seen === seen) return;
  select.dataset.seen = seen;
  const chosen = select.value;
  const onDisk = list.current ? `as on disk (current: ${list.current})` : 'as on disk';
  const options = list.releases.map((x) =>
    h('option', { value: x.name }, releaseText(x.name, x) + (x.serving ? ' (serving)' : '')),
  );
  select.replaceChildren(h('option', { value: '' }, onDisk), ...options);
  if (list.releases.some((x) => x.name === chosen)) select.value = chosen;
  $('release-picker').hidden = false;
}
