// `npm run build`, after tsc: dist/register.js, the preload every process of
// every generation runs, becomes one file. Node's ESM loader reads (through the
// thread pool), resolves and links each module of a graph in turn: the
// preload's few dozen files took each start several times what the same code
// takes as one.
//
// The modules the package's other entry points (the API, baton/testing) load
// stay files of their own, imported by the bundle: each is then one instance,
// shared by the app's calls and the runtime (the runtime the API talks to, the
// shutdown hooks, the log's settings). Plain `tsc` leaves dist/register.js
// unbundled, which works the same, only slower to start.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const REGISTER = './register';
const fileOf = (entry) => path.join(root, typeof entry === 'string' ? entry : entry.default);
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', absWorkingDir: root, logLevel: 'warning' };

const others = Object.entries(pkg.exports)
  .filter(([name, entry]) => name !== REGISTER && fileOf(entry).endsWith('.js'))
  .map(([, entry]) => fileOf(entry));
const { metafile } = await esbuild.build({ ...common, entryPoints: others, write: false, outdir: 'unused', metafile: true, packages: 'external' });
const shared = Object.keys(metafile.inputs).map((f) => path.resolve(root, f));

const register = fileOf(pkg.exports[REGISTER]);
await esbuild.build({ ...common, entryPoints: [register], outfile: register, allowOverwrite: true, external: shared });
