// The tree is the design: each folder of src/ is a layer, and a module imports only from its own
// layer or the ones below it (type-only imports included), so there is no import cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(__dirname, '..', 'src');

/** Lowest first. A folder not named here fails the test, so a new folder must be placed. */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['encoding'],
  ['accelerator'], // the optional PBKDF2 accelerator: its loader and its build driver
  ['keys'],
  ['jose'],
  ['formats'],
  ['receiver', 'sender'],
  ['compat', 'custody', 'testing'],
  ['cli'],
  ['.'], // the entry files: src/*.ts
];

function layerOf(file: string): number {
  const top = relative(SRC, file).split('/')[0]!;
  const folder = top.endsWith('.ts') ? '.' : top;
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  if (index < 0) throw new Error(`src/${top} is in no layer: add it to LAYERS`);
  return index;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']*)'/g)].map((m) => m[1]!);
  return specifiers.map((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not this one
      }
    }
    throw new Error(`${relative(SRC, file)} imports ${spec}, which does not exist`);
  });
}

const FILES = sourceFiles(SRC);
const GRAPH = new Map(FILES.map((file) => [file, importsOf(file)]));

it('every module imports only from its own layer or below', () => {
  const upward = FILES.flatMap((file) =>
    GRAPH.get(file)!.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
  );
  expect(upward).toEqual([]);
});

it('no module reaches itself through its imports, type-only imports included', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const target of GRAPH.get(file)!) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of FILES) visit(file, []);
  expect(cycles).toEqual([]);
});
