// The tests that import the built package run in separate worker processes; each asks for the
// build (test/helpers/built-package.ts). buildOnce() must build once and let nobody read the
// folder before it is complete: checked here with real processes started together.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const CHILD = fileURLToPath(new URL('./helpers/build-once-child.ts', import.meta.url));

function ask(dir: string, log: string, mode: 'ok' | 'fail'): Promise<{ files?: number; complete?: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, dir, log, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited with ${code}: ${out}`))));
  });
}

describe('buildOnce: one build for many processes asking at once', () => {
  it('builds once; every process sees the whole folder, none a part of it', async () => {
    const base = await mkdtemp(join(tmpdir(), 'build-once-'));
    const dir = join(base, 'built');
    const log = join(base, 'builds.log');
    const seen = await Promise.all(Array.from({ length: 4 }, () => ask(dir, log, 'ok')));
    expect(seen).toEqual(Array.from({ length: 4 }, () => ({ files: 10, complete: true })));
    expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(1);
    // Asked again later (another test file of the same run): no second build.
    expect(await ask(dir, log, 'ok')).toEqual({ files: 10, complete: true });
    expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('a failed build: the builder and every waiting process get its error, none waits out its time', async () => {
    const base = await mkdtemp(join(tmpdir(), 'build-once-'));
    const seen = await Promise.all(Array.from({ length: 3 }, () => ask(join(base, 'built'), join(base, 'builds.log'), 'fail')));
    for (const s of seen) expect(s.error).toMatch(/tsup: something went wrong/);
    expect((await readFile(join(base, 'builds.log'), 'utf8')).trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
