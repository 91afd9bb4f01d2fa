// `npm run build`, after tsc: dist/register.js, the preload every process of
// every generation runs, becomes one file. Node's ESM loader reads (through the
// thread pool), resolves and links each module of a graph in turn: the
// preload's few dozen files took each start several times what the same code
// takes as one. What the bundle shares with the API's own modules is kept on
// globalThis (src/worker/shared.ts). Plain `tsc` leaves dist/register.js
// unbundled, which works the same, only slower to start. The bundle is
// written without comments and indentation (reading and parsing them took
// each start about 1 ms); names are kept, so a stack trace still names baton's
// functions; and lines are broken near LINE_LIMIT characters, as Node prints
// the source line an uncaught error was thrown at (on one line, the whole
// bundle: about 58,000 characters in every log).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const LINE_LIMIT = 160;

const register = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/register.js');

/**
 * A built-in imported by a module is its ESM namespace, which Node builds by
 * reading every export: node:fs's getters load its streams and its promises
 * API, node:net's its BlockList, which a plain http app never loads (about 6
 * of the preload's 17 ms on Node 20). process.getBuiltinModule (Node 20.16)
 * hands over the object itself, as require does; older Nodes import it as
 * before. The bundle's modules therefore import built-ins by their default
 * export only: a named import fails the build here.
 */
const builtinsAsObjects = {
  name: 'builtins-as-objects',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (a) =>
      a.kind === 'import-statement' ? { path: a.path, namespace: 'builtin' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => {
      const id = JSON.stringify(a.path);
      return {
        contents: `export default process.getBuiltinModule?.(${id}) ?? (await import(${id})).default;`,
        loader: 'js',
      };
    });
  },
};

await esbuild.build({
  entryPoints: [register],
  outfile: register,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  minifyWhitespace: true,
  lineLimit: LINE_LIMIT,
  plugins: [builtinsAsObjects],
});
