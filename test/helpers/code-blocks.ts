/** A fenced code block of a Markdown page. */
export interface CodeBlock {
  /** `page:line` of the opening fence. */
  where: string;
  /** The language, normalised: `ts`, `js`, `sh`, or what the fence says. */
  lang: string;
  /** The info string says `fragment`: shown for reading, not run. */
  fragment: boolean;
  code: string;
}

const ALIASES: Record<string, string> = { typescript: 'ts', javascript: 'js', bash: 'sh', shell: 'sh', console: 'sh' };
/** Blocks that are diagrams or data, not code to run. */
const NOT_CODE = new Set(['mermaid', 'text', 'json', 'csv', 'diff', '']);

/** The code blocks of a page (diagrams and data blocks left out). */
export function extractCodeBlocks(page: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    const lang = ALIASES[open[1]!] ?? open[1]!;
    if (NOT_CODE.has(lang)) continue;
    blocks.push({ where: `${page}:${start + 1}`, lang, fragment: /\bfragment\b/.test(open[2]!), code: `${body.join('\n')}\n` });
  }
  return blocks;
}
