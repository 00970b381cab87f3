// Links and headings of a markdown page, as GitHub and npm render it: what test/readme.test.ts
// and test/package.test.ts check the shipped pages' links against.

/** The markdown without fenced code blocks and code spans, where brackets are not links. */
const proseOf = (markdown: string): string => markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** Every link target of `markdown`, inline (`[text](target)`) or by reference (`[name]: target`). */
export function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown.replace(/<!--[\s\S]*?-->/g, ''));
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const byReference = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...byReference];
}

/** The anchors GitHub gives the headings of `markdown`. */
export function headingAnchors(markdown: string): Set<string> {
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
