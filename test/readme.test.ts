// The README, CONTRIBUTING.md and every page of docs/ as a newcomer runs them: every TypeScript
// and JavaScript block compiles against this checkout's sources, and every relative link resolves
// (to a file of the repository, and to a heading of the page it names). A block that continues an
// earlier one is preceded by `<!-- fragment: CODE -->`, CODE being the imports and declarations it
// assumes (invisible once rendered); `<!-- file: NAME -->` names the file a block is (another
// block imports it). Blocks compile as modules in examples/, beside the Lambda example they import.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import * as ts from 'typescript';

import { headingAnchors, linkTargets } from './markdown';

const ROOT = join(__dirname, '..');

/** The documents checked, as paths from the repository's root. */
const DOCUMENTS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

const read = (document: string): string => readFileSync(join(ROOT, document), 'utf8');

interface Block {
  /** The document it is in, from the repository's root. */
  readonly document: string;
  /** The document's line of its opening fence. */
  readonly line: number;
  readonly file: string;
  readonly code: string;
}

/** The ts and js blocks of `document`, each with the fragment code and file name its comment gives. */
function codeBlocks(document: string, markdown = read(document)): Block[] {
  const prefix = document.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (fence === null) continue;
    const end = lines.indexOf('```', i + 1);
    if (['ts', 'typescript', 'js', 'javascript'].includes(fence[1]!)) {
      const comment = /^<!-- (fragment|file): (.*) -->$/.exec(lines[i - 1] ?? '');
      const ext = fence[1]!.startsWith('j') ? 'js' : 'ts';
      blocks.push({
        document,
        line: i + 1,
        file: comment?.[1] === 'file' ? comment[2]! : `${prefix}-block-${i + 1}.${ext}`,
        code: `${comment?.[1] === 'fragment' ? comment[2]! : ''}\n${lines.slice(i + 1, end).join('\n')}\nexport {};\n`,
      });
    }
    i = end;
  }
  return blocks;
}


/** tsc's errors for `blocks`, compiled together as files in examples/, each named by its document and line. */
function compileErrors(blocks: Block[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  // ES2022 modules: the blocks use top-level await, as an ESM handler does.
  const options: ts.CompilerOptions = { ...config!.options, module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, noEmit: true, allowJs: true, checkJs: true };
  const virtual = new Map(blocks.map((block) => [join(ROOT, 'examples', block.file), block]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name)?.code ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const block = virtual.get(name);
    return block === undefined ? getSourceFile.call(host, name, language, ...rest) : ts.createSourceFile(name, block.code, language, true);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const block = diagnostic.file === undefined ? undefined : virtual.get(diagnostic.file.fileName);
    const where = block === undefined || diagnostic.start === undefined
      ? (diagnostic.file?.fileName ?? 'options')
      // Line 1 of a block's code is its fragment line, so code line n is the document's line block.line + n - 1.
      : `${block.document}:${block.line + diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start).line}`;
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

const isRelative = (target: string): boolean => !/^[a-z][a-z0-9+.-]*:/i.test(target);

/** The relative links of `document` that name no file of the repository, or no heading of the page they name. */
function brokenLinks(document: string, markdown = read(document)): string[] {
  return linkTargets(markdown)
    .filter(isRelative)
    .filter((target) => {
      const [path = '', anchor] = target.split('#');
      if (path === '') return !headingAnchors(markdown).has(decodeURIComponent(anchor ?? ''));
      const file = normalize(join(ROOT, dirname(document), decodeURIComponent(path)));
      if (!existsSync(file)) return true;
      if (anchor === undefined) return false;
      // An anchor is checked on markdown pages, where the headings make them.
      return file.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor));
    })
    .map((target) => `${document}: ${target}`);
}

describe('the README, CONTRIBUTING.md and docs/', () => {
  const blocks = DOCUMENTS.flatMap((document) => codeBlocks(document));

  it('finds the documents, with docs/ pages among them', () => {
    expect(DOCUMENTS).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/security-model.md', 'docs/key-custody.md', 'docs/internals.md']));
  });

  it('has TypeScript blocks to check, in the README and in docs/', () => {
    expect(blocks.filter((block) => block.document === 'README.md').length).toBeGreaterThan(5);
    expect(blocks.filter((block) => block.document.startsWith('docs/')).length).toBeGreaterThan(8);
  });

  it('compiles every TypeScript and JavaScript block, with the imports each fragment names', () => {
    expect(compileErrors(blocks)).toEqual([]);
  }, 120_000);

  it('fails a block that does not compile as written, naming its document and line', () => {
    const broken: Block = { document: 'docs/x.md', line: 7, file: 'docs-x-block-broken.ts', code: '\nconst x: number = missingName;\nexport {};\n' };
    expect(compileErrors([broken])).toEqual(["docs/x.md:8: Cannot find name 'missingName'."]);
  });

  it.each(DOCUMENTS)('%s links only to files that exist in the repository, and to headings of the pages it names', (document) => {
    expect(brokenLinks(document)).toEqual([]);
  });

  it('finds a link to a missing file, a missing heading of its own page and a missing heading of another page', () => {
    const markdown = '# Title\n\n[a](missing.md) [b](#title) [c](#nowhere) [d](../README.md#limits) [e](../README.md#nowhere) [f](receiver-pool.md)\n';
    expect(brokenLinks('docs/x.md', markdown)).toEqual(['docs/x.md: missing.md', 'docs/x.md: #nowhere', 'docs/x.md: ../README.md#nowhere']);
  });

  it('has relative links to check, from the README and from docs/', () => {
    expect(linkTargets(read('README.md')).filter(isRelative).length).toBeGreaterThan(5);
    expect(DOCUMENTS.filter((document) => document.startsWith('docs/')).flatMap((document) => linkTargets(read(document)).filter(isRelative)).length).toBeGreaterThan(5);
  });
});
