// Every code block in README.md and docs/*.md (not the generated docs/api) runs here against the
// simulator, on the Node that runs the suite (CI: 22 and 24), through the built package as a user
// imports it — unless its info string says `fragment` (```ts fragment): a piece that needs context
// the page gives around it. See CONTRIBUTING.md.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOnLoopback } from '../src/testing/http-server.js';
import { createSimulator, withControlRoutes } from '../src/testing/index.js';
import { type CodeBlock, extractCodeBlocks } from './helpers/code-blocks.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SALES = join(ROOT, 'examples/data/sales.csv');
// Inside the package, so `import 'code-interpreter-session'` resolves to dist/ by self-reference.
const SNIPPETS = join(ROOT, '.cache/doc-snippets');

const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = pages.flatMap((page) => extractCodeBlocks(page, readFileSync(join(ROOT, page), 'utf8')));
const runnable = blocks.filter((b) => !b.fragment);

const sim = createSimulator();
let server: { url: string; close(): Promise<void> };
let binDir: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js')) || !existsSync(join(ROOT, 'dist/cli.js'))) {
    throw new Error('dist/ is missing: the documentation runs against the built package. Run `npm run build` (npm ci does it through `prepare`).');
  }
  // With the control routes, as `code-interpreter simulate` serves it.
  server = await serveOnLoopback(withControlRoutes(sim));
  await rm(SNIPPETS, { recursive: true, force: true });
  await mkdir(SNIPPETS, { recursive: true });
  // `code-interpreter` on PATH, as `npm install` puts it in node_modules/.bin.
  binDir = await mkdtemp(join(tmpdir(), 'doc-bin-'));
  await symlink(join(ROOT, 'dist/cli.js'), join(binDir, 'code-interpreter'));
  await chmod(join(ROOT, 'dist/cli.js'), 0o755);
});
afterAll(async () => {
  await server?.close();
});

/** A fresh working folder with the files the pages refer to. */
async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'doc-run-'));
  await copyFile(SALES, join(dir, 'sales.csv'));
  await mkdir(join(dir, 'examples/data'), { recursive: true });
  await copyFile(SALES, join(dir, 'examples/data/sales.csv'));
  return dir;
}

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OPENAI_API_KEY: 'sk-docs-snippet-test',
    OPENAI_BASE_URL: server.url,
    // The Node running the suite first: `#!/usr/bin/env node` in the CLI, and the snippets.
    PATH: `${dirname(process.execPath)}:${binDir}:${process.env.PATH}`,
    NODE_NO_WARNINGS: '1',
  };
}

describe('documentation code blocks run as written', () => {
  it('the TypeScript blocks type-check against the built package, as a user compiles them', { timeout: 120_000 }, async () => {
    const dir = join(SNIPPETS, 'typecheck');
    await mkdir(dir, { recursive: true });
    const files = runnable.filter((b) => b.lang === 'ts').map((b) => join(dir, `${b.where.replace(/[^A-Za-z0-9]+/g, '-')}.ts`));
    await Promise.all(runnable.filter((b) => b.lang === 'ts').map((b, i) => writeFile(files[i]!, b.code)));
    // A user's strict NodeNext project: `code-interpreter-session` resolves to dist/ through "exports".
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const args = ['--ignoreConfig', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--lib', 'es2023,esnext.disposable,dom', '--types', 'node', '--skipLibCheck', ...files];
    await run(process.execPath, [tsc, ...args], { cwd: ROOT, timeout: 110_000 }).catch((error) => {
      throw new Error(`documentation blocks do not type-check:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
    });
  });

  it('finds the blocks, and every one is runnable or marked as a fragment', () => {
    expect(runnable.length).toBeGreaterThan(3);
    // Only ts, js and sh blocks can run here: a block in another language must be a fragment.
    for (const block of runnable) expect(['ts', 'js', 'sh'], `${block.where}: a ${block.lang} block must be marked \`fragment\``).toContain(block.lang);
  });

  for (const block of runnable) {
    it(`${block.where} (${block.lang})`, { timeout: 60_000 }, async () => {
      const cwd = await workdir();
      const seen = sim.requests.length;
      const containersBefore = new Set(sim.containers.keys());
      const filesBefore = new Set(sim.files.keys());
      await runBlock(block, cwd);
      const sent = sim.requests.slice(seen);
      // A block that runs a prompt really reached the API (the `--offline` CLI has its own
      // simulator), and left nothing behind.
      if (/\.run\(|code-interpreter run/.test(block.code) && !block.code.includes('--offline')) {
        expect(sent.some((r) => r.method === 'POST' && r.path === '/responses' && r.status === 200), `${block.where} sent no successful run`).toBe(true);
      }
      const leftContainers = [...sim.containers.values()].filter((c) => !containersBefore.has(c.id) && c.status !== 'deleted');
      const leftFiles = [...sim.files.values()].filter((f) => !filesBefore.has(f.id) && !f.deleted);
      expect(leftContainers.map((c) => c.id), `${block.where} left containers running`).toEqual([]);
      expect(leftFiles.map((f) => f.id), `${block.where} left Files API files`).toEqual([]);
    });
  }
});

async function runBlock(block: CodeBlock, cwd: string): Promise<void> {
  {
    {
      if (block.lang === 'sh') {
        // `npx code-interpreter …` runs the installed bin, as in a project that depends on the package.
        const script = `set -euo pipefail\nnpx() { "$@"; }\n${block.code}`;
        const { stdout } = await run('bash', ['-c', script], { cwd, env: env(), timeout: 50_000 }).catch((error) => {
          throw new Error(`${block.where} failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
        });
        expect(stdout.length, `${block.where} printed nothing`).toBeGreaterThan(0);
        return;
      }
      const file = join(SNIPPETS, `${block.where.replace(/[^A-Za-z0-9]+/g, '-')}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);
      await writeFile(file, block.code);
      await run(process.execPath, [file], { cwd, env: env(), timeout: 50_000 }).catch((error) => {
        throw new Error(`${block.where} failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
      });
    }
  }
}
