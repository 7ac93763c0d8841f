import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, FileNotFoundError, FileSaveError, SaveAllError, safeFilename, type RunResult } from '../src/index.js';
import { saveStream } from '../src/downloads/save-stream.js';
import { makeSession } from './helpers/session.js';
import { withHttp, withMsw } from './helpers/sim.js';

let close: (() => unknown) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

const tempDir = () => mkdtemp(join(tmpdir(), 'cis-save-'));
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run whose code wrote `count` files `f0.txt` … of `size` bytes each. */
function writesFiles(count: number, size = 16) {
  return {
    respond: () => ({
      code: 'write files',
      files: Array.from({ length: count }, (_, i) => ({ name: `f${i}.txt`, data: new Uint8Array(size).fill(97 + (i % 26)) })),
      text: 'done',
    }),
  };
}

describe('saveAll: settles every file, then reports what was saved and what failed', () => {
  it('1 of 6 files missing: a SaveAllError lists the 5 saved paths and the failure; no temp file; nothing written afterwards', async () => {
    const h = withMsw(writesFiles(5));
    close = h.close;
    const session = makeSession(h.client);
    const run = await session.run('write 5 files');
    expect(run.files).toHaveLength(5);
    const missing = { fileId: 'cfile_missing', containerId: run.containerId, filename: 'gone.csv' };
    const result = { ...run, files: [run.files[0]!, missing, ...run.files.slice(1)] } as RunResult;
    const dir = await tempDir();
    const error = await session.saveAll(result, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SaveAllError);
    const { saved, failed } = error as SaveAllError;
    expect(saved.map((s) => s.filename)).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ fileId: 'cfile_missing', filename: 'gone.csv' });
    expect(failed[0]!.error).toBeInstanceOf(FileNotFoundError);
    expect((error as Error).message).toMatch(/^saveAll\(\): 1 of 6 files could not be saved \(gone\.csv: File cfile_missing .*\); 5 saved \(see `saved`\)/);
    for (const { path, filename } of saved) expect(path).toBe(join(dir, filename));
    const listed = (await readdir(dir)).sort();
    expect(listed).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
    expect(await readFile(join(dir, 'f3.txt'), 'utf8')).toBe('d'.repeat(16));
    await settle(300);
    expect((await readdir(dir)).sort()).toEqual(listed); // nothing written after it answered
    await session.close();
  });

  it('an unusable dir fails at once with FileSaveError, before any download is opened', async () => {
    const h = withMsw(writesFiles(3));
    close = h.close;
    const session = makeSession(h.client);
    const run = await session.run('write');
    const parent = await tempDir();
    const file = join(parent, 'a-file');
    await writeFile(file, 'x');
    h.sim.requests.length = 0;
    const error = await session.saveAll(run, join(file, 'sub')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileSaveError);
    expect((error as FileSaveError).code).toBe('ENOTDIR');
    expect((error as Error).message).toMatch(/pass a `dir` that is a folder or can be created/);
    expect((error as Error).cause).toMatchObject({ code: 'ENOTDIR' });
    expect(h.sim.requests).toEqual([]);
    await session.close();
  });
});

describe('saveFile: the folder is checked before the download is opened, and the body is cancelled on every failure', () => {
  it('40 saves into a path that is a regular file: FileSaveError each, no download requested, no connection left open', async () => {
    const h = await withHttp(writesFiles(1));
    close = h.close;
    const session = makeSession(h.client);
    const run = await session.run('write');
    const parent = await tempDir();
    const file = join(parent, 'report.txt');
    await writeFile(file, 'x');
    await settle(50);
    const before = sockets();
    h.sim.requests.length = 0;
    const errors = await Promise.all(Array.from({ length: 40 }, () => session.saveFile(run.files[0]!, file).catch((e: unknown) => e)));
    for (const error of errors) {
      expect(error).toBeInstanceOf(FileSaveError);
      expect((error as FileSaveError).path).toBe(file);
      expect((error as Error).message).toMatch(/^saveFile\(\): cannot (create the folder|save into) '.*report\.txt' .*pass a `dir` that is a folder or can be created\.$/);
    }
    expect(h.sim.requests).toEqual([]); // checked before anything was sent
    await settle(50);
    expect(sockets()).toBeLessThanOrEqual(before);
    await session.close();
  });

  it('a failure while writing (here a throwing onProgress, and maxBytes) cancels the body: no socket stays open, no temp file', async () => {
    const h = await withHttp(writesFiles(1, 32 * 1024 * 1024));
    close = h.close;
    const session = makeSession(h.client);
    const run = await session.run('write a big file');
    const dir = await tempDir();
    await settle(50);
    const before = sockets();
    // One after another: each failure must give its connection back before the next starts.
    const failures: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const throwing = () => {
        throw new Error('listener broke');
      };
      failures.push(await session.saveFile(run.files[0]!, dir, { onProgress: throwing }).catch((e: unknown) => e));
      failures.push(await session.saveFile(run.files[0]!, dir, { maxBytes: 1024 * 1024 }).catch((e: unknown) => e));
    }
    expect(failures.every((e) => e instanceof CodeInterpreterError)).toBe(true);
    await settle(200);
    expect(sockets()).toBeLessThanOrEqual(before);
    expect(await readdir(dir)).toEqual([]);
    await session.close();
  });
});

describe('saved file names: no invisible or reordering characters, no device names', () => {
  it.each([
    ['invoice\u202Egpj.exe', 'invoicegpj.exe'],
    ['a\u200Bb\u200Cc\u200Dd\u2060e\uFEFF.txt', 'abcde.txt'],
    ['\u2066x\u2069\u200E\u200F\u061C.csv', 'x.csv'],
    ['soft\u00ADhyphen.txt', 'softhyphen.txt'],
    ['line\u2028para\u2029.txt', 'linepara.txt'],
    ['CONIN$', '_CONIN$'],
    ['conout$.txt', '_conout$.txt'],
    ['CON .txt', '_CON .txt'],
    ['\u202E', 'file-cfile_1'],
  ])('%j -> %j', (input, expected) => {
    expect(safeFilename(input, 'cfile_1')).toBe(expected);
  });

  it('the folder removed after it was checked (the download already open): FileSaveError ENOENT, the body cancelled, nothing written', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'gone');
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      cancel: (reason) => void (cancelled = reason ?? 'cancelled'),
    });
    const error = await saveStream(body, dir, 'a.bin', 'cfile_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileSaveError);
    expect((error as FileSaveError).code).toBe('ENOENT');
    expect((error as Error).message).toContain(dir);
    expect(cancelled).toBeDefined();
    expect(await readdir(parent)).toEqual([]);
  });

  it('hostile names: never a format, control or bidi character, never a separator, never empty', async () => {
    const { default: fc } = await import('fast-check');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (name) => {
        const safe = safeFilename(name, 'cfile_1');
        expect(safe).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}/\\]/u);
        expect(safe.length).toBeGreaterThan(0);
        expect(safe).not.toMatch(/^\.|^(con|prn|aux|nul|com\d|lpt\d|conin\$|conout\$)(\s*\..*)?$/i);
        expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(200);
      }),
      { numRuns: 2000 },
    );
  });
});
