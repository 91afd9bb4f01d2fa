// `npm run build`, after tsc: dist/baton.config.schema.json, the config file's
// JSON Schema, made from the option table (src/cli/options.ts). With --readme,
// the README's table of `baton run` options is written anew between its
// markers; test/unit/options-doc.test.mjs fails while the README differs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, optionsTable } from '../dist/cli/options-doc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
fs.writeFileSync(path.join(root, 'dist/baton.config.schema.json'), `${JSON.stringify(configSchema(), null, 2)}\n`);

if (process.argv.includes('--readme')) {
  const readme = path.join(root, 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const [start, end] = [
    '<!-- options: made by `node scripts/docs.mjs --readme` from src/cli/options.ts -->',
    '<!-- /options -->',
  ];
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${start} ... ${end} section`);
  fs.writeFileSync(readme, `${text.slice(0, a + start.length)}\n${optionsTable()}\n${text.slice(b)}`);
}
