// Structure rules for the TypeScript sources, read from src/ (not dist/) so
// type-only imports, which compile away, still count as dependencies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_LINES = 60;
/** A class past this has grown more than one job (the master was 479 lines before its reloads moved out). */
const MAX_CLASS_LINES = 350;
/**
 * docs/architecture.md's layers, top first: a module imports only from its
 * own layer or those below it, by its first path segment under src/.
 */
const LAYERS = [
  ['cli', 'index.ts', 'register.ts', 'testing'],
  ['worker', 'supervisor'],
  [
    'generation',
    'drain',
    'listeners',
    'control',
    'admin',
    'internals',
    'systemd',
    'signals.ts',
    'log.ts',
    'cwd.ts',
    'format.ts',
    'private-dir.ts',
    'ring.ts',
  ],
  ['protocol', 'time.ts'],
];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const srcDir = path.join(root, 'src');

const sources = fs
  .readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(srcDir, f))
  .sort()
  .map((file) => ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));

const rel = (file) => path.relative(root, file);
const lineOf = (sf, pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;

// Constructors and accessors are methods too; a body-less overload signature
// or abstract method is not code to keep short.
const isFunction = (node) =>
  (ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isAccessor(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node)) &&
  node.body !== undefined;

// A function expression is named after what it is bound to, so the report
// reads like the code: `Master.start`, `onExit`, `callback to server.on`.
function nameOf(node) {
  const { parent } = node;
  const member = (owner, name) => (ts.isClassLike(owner) ? `${owner.name?.text ?? '(class)'}.${name}` : name);
  if (ts.isConstructorDeclaration(node)) return member(parent, 'constructor');
  if (node.name) return member(parent, node.name.getText());
  if (ts.isPropertyDeclaration(parent)) return member(parent.parent, parent.name.getText());
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (ts.isBinaryExpression(parent) && parent.right === node) return parent.left.getText();
  if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression !== node) {
    return `callback to ${ts.isNewExpression(parent) ? 'new ' : ''}${parent.expression.getText()}`;
  }
  return '(anonymous)';
}

// Every module specifier a file names: static imports and re-exports (type-only
// ones included), `import('./x.js')` types and dynamic import() calls.
function specifiersOf(node, out = []) {
  const spec =
    ts.isImportDeclaration(node) || ts.isExportDeclaration(node)
      ? node.moduleSpecifier
      : ts.isImportTypeNode(node)
        ? /** @type {import('typescript').LiteralTypeNode} */ (node.argument).literal
        : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
          ? node.arguments[0]
          : undefined;
  if (spec && ts.isStringLiteral(spec)) out.push(spec.text);
  // forEachChild stops at the first callback that returns something truthy.
  ts.forEachChild(node, (child) => {
    specifiersOf(child, out);
  });
  return out;
}

const longFunctions = [];
const longClasses = [];
const imports = new Map();
for (const sf of sources) {
  const visit = (node) => {
    if (isFunction(node)) {
      const first = lineOf(sf, node.getStart(sf));
      const lines = lineOf(sf, node.getEnd()) - first + 1;
      if (lines > MAX_LINES) longFunctions.push(`${rel(sf.fileName)}:${first} ${nameOf(node)} (${lines} lines)`);
    }
    if (ts.isClassDeclaration(node)) {
      const lines = lineOf(sf, node.getEnd()) - lineOf(sf, node.getStart(sf)) + 1;
      if (lines > MAX_CLASS_LINES)
        longClasses.push(`${rel(sf.fileName)} ${node.name?.text ?? '(class)'} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  // NodeNext specifiers name the emitted .js file; the source beside it is .ts.
  const deps = specifiersOf(sf)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(sf.fileName), s).replace(/\.js$/, '.ts'));
  imports.set(sf.fileName, [...new Set(deps)]);
}

// Every elementary cycle once: each is found only from its smallest file,
// walking through larger files only, so no rotation of it is found again.
function cycles(graph) {
  const found = [];
  const files = [...graph.keys()].sort();
  for (const start of files) {
    const walk = (file, chain) => {
      for (const next of graph.get(file) ?? []) {
        if (next === start) found.push([...chain, start]);
        else if (next > start && graph.has(next) && !chain.includes(next)) walk(next, [...chain, next]);
      }
    };
    walk(start, [start]);
  }
  return found;
}

test(`no function in src/ spans more than ${MAX_LINES} lines`, () => {
  assert.ok(sources.length > 0, `no .ts file found under ${srcDir}`);
  assert.equal(
    longFunctions.length,
    0,
    `functions over ${MAX_LINES} lines (${longFunctions.length}): ${longFunctions.join(', ')}`,
  );
});

test(`no class in src/ spans more than ${MAX_CLASS_LINES} lines`, () => {
  assert.equal(longClasses.length, 0, `classes over ${MAX_CLASS_LINES} lines: ${longClasses.join(', ')}`);
});

const layerOf = (file) => LAYERS.findIndex((names) => names.includes(path.relative(srcDir, file).split(path.sep)[0]));

test('every module is in a layer, and imports only from its own layer or those below it (docs/architecture.md)', () => {
  const unplaced = [...imports.keys()].filter((f) => layerOf(f) < 0).map(rel);
  assert.deepEqual(unplaced, [], 'modules in no layer: add them to LAYERS here and to docs/architecture.md');
  const upward = [...imports].flatMap(([file, deps]) =>
    deps.filter((d) => layerOf(d) < layerOf(file)).map((d) => `${rel(file)} -> ${rel(d)}`),
  );
  assert.deepEqual(upward, [], `imports from a higher layer: ${upward.join(', ')}`);
});

test('src/ has no import cycle (type-only imports included)', () => {
  const found = cycles(imports).map((chain) => chain.map(rel).join(' -> '));
  assert.equal(found.length, 0, `import cycles (${found.length}): ${found.join('; ')}`);
});

/** Biome keeps code within this width; comments it leaves alone, and strings stay whole so a message can be grepped. */
const MAX_COMMENT_COLUMNS = 120;

/** `file:line` of every comment line wider than MAX_COMMENT_COLUMNS. */
function wideComments(sf) {
  const text = sf.getFullText();
  const lines = text.split('\n');
  const ranges = new Map();
  const visit = (node) => {
    for (const r of [
      ...(ts.getLeadingCommentRanges(text, node.pos) ?? []),
      ...(ts.getTrailingCommentRanges(text, node.end) ?? []),
    ])
      ranges.set(r.pos, r.end);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const wide = new Set();
  for (const [pos, end] of ranges)
    for (let n = lineOf(sf, pos); n <= lineOf(sf, end); n++)
      if (lines[n - 1].length > MAX_COMMENT_COLUMNS) wide.add(`${rel(sf.fileName)}:${n}`);
  return [...wide];
}

test(`no comment line in src/ is wider than ${MAX_COMMENT_COLUMNS} columns`, () => {
  const wide = sources.flatMap(wideComments);
  assert.deepEqual(wide, [], `comment lines over ${MAX_COMMENT_COLUMNS} columns: ${wide.join(', ')}`);
});
