// `npm run build`, after tsc: dist/register.js, the preload every process of
// every generation runs, becomes one file. Node's ESM loader reads (through the
// thread pool), resolves and links each module of a graph in turn: the
// preload's few dozen files took each start several times what the same code
// takes as one. What the bundle shares with the API's own modules is kept on
// globalThis (src/worker/shared.ts). Plain `tsc` leaves dist/register.js
// unbundled, which works the same, only slower to start.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const register = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/register.js');
await esbuild.build({
  entryPoints: [register], outfile: register, allowOverwrite: true,
  bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
});
