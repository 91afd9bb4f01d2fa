/** The page's few DOM helpers: every text it shows is a text node, never HTML. */
import { PAGE_HEADER } from './header.js';

/** The element with id `id`, which the document (page.html) has. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

type Props = Record<string, string | number | boolean>;

/** An element: `data-*` props as attributes, the others as properties (className, title, colSpan…). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, String(v));
    else Object.assign(e, { [k]: v });
  }
  e.append(...children);
  return e;
}

/** The headers of every request the page makes. */
export const PAGE: Record<string, string> = { [PAGE_HEADER]: '1' };

/** An answer's error, as the API words it. */
export async function errorOf(r: Response): Promise<string> {
  try {
    return ((await r.json()) as { error?: string }).error || `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status}`;
  }
}
