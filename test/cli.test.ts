import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../src/cli/main.js';
import { createSimulator } from '../src/testing/index.js';

const SALES = fileURLToPath(new URL('../examples/data/sales.csv', import.meta.url));

/** Runs the CLI in-process and captures what it prints. */
async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    Object.assign(
      new Writable({
        write(chunk, _encoding, callback) {
          write(String(chunk));
          callback();
        },
      }),
      { isTTY: false },
    ) as unknown as NodeJS.WriteStream;
  const code = await main(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

describe('code-interpreter CLI', () => {
  it('documents every flag in --help', async () => {
    const { code, stdout } = await cli('run', '--help');
    expect(code).toBe(EXIT.ok);
    for (const flag of ['--file <path>', '--out <dir>', '--model <model>', '--memory <limit>', '--offline', '--json', '--instructions <text>']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('Exit codes: 0 success, 1 the run failed, 2 bad usage.');
  });

  it('runs offline: prints the answer, code, logs and files, and saves them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-'));
    const { code, stdout } = await cli('run', 'Total revenue by region', '--file', SALES, '--out', out, '--offline');
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('Answer:\nTotal revenue by region in sales.csv: West 1140');
    expect(stdout).toContain('Code (call 1 of 1, completed):\nimport pandas as pd');
    expect(stdout).toContain('Logs:\nregion  revenue\nWest    1140');
    expect(stdout).toContain(`saved ${join(out, 'revenue_by_region.svg')}`);
    expect((await readdir(out)).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    expect(await readFile(join(out, 'revenue_by_region.csv'), 'utf8')).toContain('West,1140');
  });

  it('goes offline by itself without OPENAI_API_KEY, and says so', async () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const out = await mkdtemp(join(tmpdir(), 'cli-'));
      const { code, stderr } = await cli('run', 'units by product', '-f', SALES, '-o', out);
      expect(code).toBe(EXIT.ok);
      expect(stderr).toContain('OPENAI_API_KEY is not set: running offline');
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });

  it('prints one JSON result with --json', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-'));
    const { code, stdout } = await cli('run', 'units by region', '-f', SALES, '-o', out, '--offline', '--json', '--memory', '4g');
    expect(code).toBe(EXIT.ok);
    const result = JSON.parse(stdout) as { text: string; saved: string[]; codeCalls: unknown[]; raw?: unknown; offline: boolean };
    expect(result.text).toContain('Total units by region');
    expect(result.saved).toHaveLength(2);
    expect(result.codeCalls).toHaveLength(1);
    expect(result.raw).toBeUndefined();
    expect(result.offline).toBe(true);
  });

  it('exits 2 on bad usage and 1 when the run fails', async () => {
    expect((await cli()).code).toBe(EXIT.usage);
    expect((await cli('run')).code).toBe(EXIT.usage);
    expect((await cli('run', 'x', '--memory', '3g')).code).toBe(EXIT.usage);
    expect((await cli('nonsense')).code).toBe(EXIT.usage);
    const missing = await cli('run', 'x', '--file', '/no/such.csv', '--offline');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain("no readable file at '/no/such.csv'");
    const blankModel = await cli('run', 'x', '--offline', '--model', ' ');
    expect(blankModel.code).toBe(EXIT.usage);
    expect(blankModel.stderr).toContain('`model`');
  });

  it('exits 1 when the API refuses the run, saying why', async () => {
    const sim = createSimulator();
    const server = await sim.listen();
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = 'sk-test-cli';
    process.env.OPENAI_BASE_URL = server.url;
    try {
      sim.fail({ path: '/responses', status: 400, body: { error: { message: 'The model `nope` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } } });
      const { code, stderr } = await cli('run', 'hello', '--model', 'nope');
      expect(code).toBe(EXIT.failed);
      expect(stderr).toBe('error: 400 The model `nope` does not exist.\n');
      expect([...sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true); // cleaned up
    } finally {
      for (const [name, value] of [['OPENAI_API_KEY', saved.key], ['OPENAI_BASE_URL', saved.url]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await server.close();
    }
  });
});
