import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, SIMULATED_NOTE } from '../src/cli/main.js';
import { formatBytes } from '../src/cli/progress.js';
import { createSimulator } from '../src/testing/index.js';
import { cli, withEnv } from './helpers/cli.js';

const SALES = fileURLToPath(new URL('../examples/data/sales.csv', import.meta.url));

describe('code-interpreter CLI', () => {
  it('documents every flag in --help', async () => {
    const { code, stdout } = await cli('run', '--help');
    expect(code).toBe(EXIT.ok);
    for (const flag of ['--file <path>', '--out <dir>', '--model <model>', '--memory <limit>', '--offline', '--overwrite', '--retries <n>', '--json', '--instructions <text>']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('Exit codes: 0 success, 1 the run failed, 2 bad usage.');
  });

  it('runs offline: prints the answer, code, logs and files, and saves them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-'));
    const { code, stdout } = await cli('run', 'Total revenue by region', '--file', SALES, '--out', out, '--offline');
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain(`Answer (${SIMULATED_NOTE}):\nTotal revenue by region in sales.csv: West 1140`);
    expect(stdout).toContain('Code (call 1 of 1, completed):\nimport pandas as pd');
    expect(stdout).toContain('Logs:\nregion  revenue\nWest    1140');
    expect(stdout).toContain(`Saved files:\n  ${join(out, 'revenue_by_region.svg')}  (revenue_by_region.svg)`);
    expect(stdout.split(join(out, 'revenue_by_region.svg')).length - 1).toBe(1); // each path printed once
    expect((await readdir(out)).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    expect(await readFile(join(out, 'revenue_by_region.csv'), 'utf8')).toContain('West,1140');
    // A short run is billed the 5-minute minimum of a 1g container: 5 × $0.03 / 20.
    expect(stdout).toContain('Container cost: about $0.0075 (1 container, 1g, 5 billed minutes; an estimate at list prices)');
  });

  it('--out under /proc fails with a clear message instead of spinning', async () => {
    const { code, stderr } = await cli('run', 'Total revenue by region', '--file', SALES, '--out', '/proc/cis-cli-out', '--offline');
    expect(code).toBe(EXIT.failed);
    expect(stderr).toMatch(/cannot create the folder '\/proc\/cis-cli-out'.*such as \/proc\): pass another --out\.\n$/);
  });

  it('never answers offline unless asked: without OPENAI_API_KEY it exits 2 and says how to go on', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-'));
    const { code, stdout, stderr } = await withEnv({ OPENAI_API_KEY: undefined }, () => cli('run', 'units by product', '-f', SALES, '-o', out));
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr).toContain('OPENAI_API_KEY is not set');
    expect(stderr).toContain('--offline');
    expect(await readdir(out)).toEqual([]);
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
    expect((result as { note?: string }).note).toBe(SIMULATED_NOTE);
    expect((result as { cost?: unknown }).cost).toMatchObject({ containersCreated: 1, billedMinutes: 5, estimatedUsd: 0.03, byTier: { '4g': { containers: 1 } } });
  });

  it('--overwrite replaces earlier files; without it a re-run numbers the new ones', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cli-'));
    for (let i = 0; i < 2; i++) expect((await cli('run', 'Total revenue by region', '-f', SALES, '-o', out, '--offline', '--overwrite')).code).toBe(EXIT.ok);
    expect((await readdir(out)).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    expect((await cli('run', 'Total revenue by region', '-f', SALES, '-o', out, '--offline')).code).toBe(EXIT.ok);
    expect((await readdir(out)).sort()).toEqual(['revenue_by_region (1).csv', 'revenue_by_region (1).svg', 'revenue_by_region.csv', 'revenue_by_region.svg']);
  });

  it('an unreachable API: exit 1, names OPENAI_BASE_URL and --offline, no library option names', async () => {
    const { code, stderr } = await withEnv({ OPENAI_API_KEY: 'sk-test-cli', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }, () => cli('run', 'hello', '--retries', '1'));
    expect(code).toBe(EXIT.failed);
    expect(stderr).toMatch(/^error: could not reach the OpenAI API at http:\/\/127\.0\.0\.1:1\/v1 \(OPENAI_BASE_URL\): .*Check the network connection and OPENAI_BASE_URL, or run with --offline/);
    expect(stderr).not.toContain('..');
    expect(stderr).not.toContain('retry.');
  });

  it('shows small files in bytes and KiB, large ones in MiB', () => {
    expect(formatBytes(555)).toBe('555 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
  });

  it('exits 2 on bad usage and 1 when the run fails', async () => {
    expect((await cli()).code).toBe(EXIT.usage);
    expect((await cli('run')).code).toBe(EXIT.usage);
    expect((await cli('run', 'x', '--memory', '3g')).code).toBe(EXIT.usage);
    expect((await cli('nonsense')).code).toBe(EXIT.usage);
    const missing = await cli('run', 'x', '--file', '/no/such.csv', '--offline');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toBe('error: --file /no/such.csv: no such file; give the path of a file to upload.\n');
    // A file whose name an upload cannot carry: refused as a usage error naming --file, not upload().
    const oddName = join(await mkdtemp(join(tmpdir(), 'cli-name-')), 'a\\b.csv');
    await writeFile(oddName, 'a,b\n1,2\n');
    const odd = await cli('run', 'x', '--file', oddName, '--offline');
    expect(odd.code).toBe(EXIT.usage);
    expect(odd.stderr).toMatch(/^error: --file ".*a\\\\b\.csv": the file's name contains a backslash, .* copy or rename the file\.\n$/);
    expect((await cli('run', 'x', '--retries', 'many', '--offline')).code).toBe(EXIT.usage);
    const blankModel = await cli('run', 'x', '--offline', '--model', ' ');
    expect(blankModel.code).toBe(EXIT.usage);
    expect(blankModel.stderr).toContain('--model: ');
  });

  it('exits 1 when the API refuses the run, saying why', async () => {
    const sim = createSimulator();
    const server = await sim.listen();
    try {
      sim.fail({ path: '/responses', status: 400, body: { error: { message: 'The model `nope` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } } });
      const { code, stderr } = await withEnv({ OPENAI_API_KEY: 'sk-test-cli', OPENAI_BASE_URL: server.url }, () => cli('run', 'hello', '--model', 'nope'));
      expect(code).toBe(EXIT.failed);
      expect(stderr).toBe('error: 400 The model `nope` does not exist. Choose another model with --model.\n');
      expect([...sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true); // cleaned up
    } finally {
      await server.close();
    }
  });
});
