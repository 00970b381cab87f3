// The README as a newcomer runs it: every TypeScript and JavaScript block compiles against this
// checkout's sources, and every relative link resolves. A block that continues an earlier one is
// preceded by `<!-- fragment: CODE -->`, CODE being the imports and declarations it assumes
// (invisible once rendered); `<!-- file: NAME -->` names the file a block is (another block
// imports it). Blocks compile as modules in examples/, beside the Lambda example they import.
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  /** The README line of its opening fence. */
  readonly line: number;
  readonly file: string;
  readonly code: string;
}

/** The ts and js blocks of `markdown`, each with the fragment code and file name its comment gives. */
function codeBlocks(markdown: string): Block[] {
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
        line: i + 1,
        file: comment?.[1] === 'file' ? comment[2]! : `readme-block-${i + 1}.${ext}`,
        code: `${comment?.[1] === 'fragment' ? comment[2]! : ''}\n${lines.slice(i + 1, end).join('\n')}\nexport {};\n`,
      });
    }
    i = end;
  }
  return blocks;
}

/** The markdown without fenced code blocks and code spans, where brackets are not links. */
const proseOf = (markdown: string): string => markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** Every link target of `markdown`, inline (`[text](target)`) or by reference (`[name]: target`). */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown.replace(/<!--[\s\S]*?-->/g, ''));
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const byReference = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...byReference];
}

/** The anchors GitHub gives the headings of `markdown`. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text] of markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.*?)\s*#*\s*$/gm)) {
    const base = text!.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** tsc's errors for `blocks`, compiled together as files in examples/, each named by its README line. */
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
      // Line 1 of a block's code is its fragment line, so code line n is README line block.line + n - 1.
      : `README.md:${block.line + diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start).line}`;
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

describe('README.md', () => {
  const blocks = codeBlocks(README);

  it('has TypeScript blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(15);
  });

  it('compiles every TypeScript and JavaScript block, with the imports each fragment names', () => {
    expect(compileErrors(blocks)).toEqual([]);
  }, 120_000);

  it('fails a block that does not compile as written, naming its README line', () => {
    const broken: Block = { line: 7, file: 'readme-block-broken.ts', code: '\nconst x: number = missingName;\nexport {};\n' };
    expect(compileErrors([broken])).toEqual(["README.md:8: Cannot find name 'missingName'."]);
  });

  it('links only to files that exist in the repository, and to anchors of its own headings', () => {
    const anchors = headingAnchors(README);
    const broken = linkTargets(README)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .filter((target) => {
        const [path = '', anchor] = target.split('#');
        if (path === '') return !anchors.has(decodeURIComponent(anchor ?? ''));
        return !existsSync(normalize(join(ROOT, decodeURIComponent(path))));
      });
    expect(broken).toEqual([]);
  });

  it('has relative links to check', () => {
    expect(linkTargets(README).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target)).length).toBeGreaterThan(5);
  });
});
