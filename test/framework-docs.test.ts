// The framework pages show their examples whole: the runnable block of each page is the code of
// examples/frameworks/<name>.ts (less its header comment), so what CI type-checks is what users read.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractCodeBlocks } from './helpers/code-blocks.js';

const pages = [
  ['docs/openai-client.md', 'examples/frameworks/openai-client.ts'],
  ['docs/ai-sdk.md', 'examples/frameworks/ai-sdk.ts'],
  ['docs/agents.md', 'examples/frameworks/agents.ts'],
] as const;

describe('framework pages', () => {
  it.each(pages)('%s shows %s as it is', (page, example) => {
    const runnable = extractCodeBlocks(page, readFileSync(page, 'utf8')).filter((b) => !b.fragment && b.lang === 'ts');
    expect(runnable).toHaveLength(1);
    const code = readFileSync(example, 'utf8').replace(/^(\/\/.*\n)+/, '');
    expect(runnable[0]!.code.trim()).toBe(code.trim());
  });
});
