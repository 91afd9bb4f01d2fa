// `npm run build`, after tsc: the admin page as one document, dist/admin/page.json. Its script (src/admin/page/*.ts,
// compiled by tsc, bundled here from dist), its style (page.css) and icon are inlined into page.html; the
// Content-Security-Policy allows that script and that style by their hashes, computed here once, so the server
// (src/admin/page.ts) only reads the file and fills in whether the page signs in.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = (name) => fs.readFileSync(path.join(root, 'src/admin/page', name), 'utf8');

const bundled = await esbuild.build({
  entryPoints: [path.join(root, 'dist/admin/page/main.js')],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
});
const script = bundled.outputFiles[0].text;
const style = source('page.css');
if (script.includes('</script') || style.includes('</style')) throw new Error('the page would close its own tag early');
const icon = source('icon.svg').trim();
const favicon = `data:image/svg+xml,${encodeURIComponent(icon.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" '))}`;
// Placeholders that keep page.html valid for Biome, each replaced by a function: a `$&` in the script stays as it is.
const parts = { '/* page.css */': style, '/* main.ts, bundled */': script, '{{icon}}': icon, '{{favicon}}': favicon };
let document = source('page.html');
for (const [placeholder, text] of Object.entries(parts)) {
  if (!document.includes(placeholder)) throw new Error(`src/admin/page/page.html has no ${placeholder}`);
  document = document.replace(placeholder, () => text);
}

const hash = (text) => `'sha256-${crypto.createHash('sha256').update(text).digest('base64')}'`;
const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${hash(script)}`,
  `style-src ${hash(style)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
fs.writeFileSync(path.join(root, 'dist/admin/page.json'), `${JSON.stringify({ document, contentSecurityPolicy })}\n`);
