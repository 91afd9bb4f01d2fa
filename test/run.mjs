// Runs every test against the built output: unit tests in parallel, then the
// end-to-end files and the examples' own tests (how an app tests itself with
// batonjs/testing) one at a time, as they put real load on a 2-core machine.
// `--e2e` runs only those and the canary of the Node internals baton relies
// on (the extra passes on other Nodes, where those internals may differ).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = (dir) =>
  (fs.existsSync(path.join(here, dir)) ? fs.readdirSync(path.join(here, dir)) : [])
    .filter((f) => f.endsWith('.test.mjs'))
    .sort()
    .map((f) => path.join(here, dir, f));

const canary = path.join(here, 'unit', 'internals.test.mjs');
const e2eOnly = process.argv.includes('--e2e');
const unit = files('unit').filter((f) => !e2eOnly || f === canary);
const runs = [
  // `node --test` given no file searches the whole tree, so no file, no run.
  ...(unit.length ? [['--test', ...unit]] : []),
  [
    '--test',
    '--test-concurrency=1',
    ...files('e2e'),
    ...files('../examples'),
    ...(e2eOnly ? [] : files('integration')),
  ],
];

console.log(`node ${process.version}`);
for (const args of runs) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
