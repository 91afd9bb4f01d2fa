/**
 * The admin page at `/`: one self-contained document (its style and script
 * inline, no other asset), a client of the same API that fleet tooling uses.
 * Everything it shows is written as text nodes, never as HTML, and its
 * Content-Security-Policy allows only its own style and script, by hash: an
 * injected tag or attribute would not run.
 *
 * Its sources are src/admin/page/ (page.html, page.css and the script's
 * modules), made into dist/admin/page.json at build (scripts/page.mjs), the
 * policy's hashes with them. The document is the same for everyone; the script asks /api/status whether
 * it is signed in, so a session cookie that SameSite=Strict held back from a
 * link on another site is sent again by the page's own request.
 */
import fs from 'node:fs';
import type http from 'node:http';

/** On every response of the admin listener: nothing it answers may be framed, sniffed, or leak the page's address. */
export const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** What scripts/page.mjs built: the document, whose {{signIn}} is filled in here, and its policy. */
interface Built {
  document: string;
  contentSecurityPolicy: string;
}

let built: Built | undefined;

/** The built page, read once; a dist made without `npm run build`'s page step says so in one line. */
function load(): Built {
  if (built) return built;
  const file = new URL('./page.json', import.meta.url);
  try {
    built = JSON.parse(fs.readFileSync(file, 'utf8')) as Built;
  } catch (err) {
    throw new Error(`the admin page was not built (${(err as Error).message}): run npm run build`);
  }
  return built;
}

/** Answers GET / with the page; `signIn`: a token is set, so the page signs in (and out) with it. */
export function servePage(res: http.ServerResponse, signIn: boolean): void {
  const { document, contentSecurityPolicy } = load();
  const body = document.replace('{{signIn}}', signIn ? 'yes' : 'no');
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': contentSecurityPolicy,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
