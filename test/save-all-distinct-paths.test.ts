// saveAll: two files of one call never get the same path, `overwrite` or not; `overwrite` replaces
// files that were in the folder before the call. Each path returned holds that file's own bytes
// (adversarial review, item 4: two generated `dup.txt` were both reported at `dup.txt`).
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

const CONTENTS = ['first dup', 'second dup', 'third dup'];

async function threeDuplicates() {
  h = withMsw({ respond: () => ({ code: 'write', files: CONTENTS.map((data) => ({ name: 'dup.txt', data })), text: 'done' }) });
  const session = makeSession(h.client);
  const result = await session.run('write three files named dup.txt');
  expect(result.files.map((f) => f.filename)).toEqual(['dup.txt', 'dup.txt', 'dup.txt']);
  expect(new Set(result.files.map((f) => f.fileId)).size).toBe(3);
  return { session, result };
}

describe('saveAll never gives two files of one call the same path', () => {
  for (const concurrency of [1, 4]) {
    it(`overwrite: true (concurrency ${concurrency}): the file there before is replaced, the duplicates get numbered names, each with its own bytes`, async () => {
      const { session, result } = await threeDuplicates();
      const dir = await mkdtemp(join(tmpdir(), 'cis-dup-'));
      await writeFile(join(dir, 'dup.txt'), 'there before');
      await writeFile(join(dir, 'dup (2).txt'), 'also there before');
      const paths = await session.saveAll(result, dir, { overwrite: true, concurrency });
      expect(new Set(paths).size).toBe(3);
      expect([...paths].sort()).toEqual([join(dir, 'dup (1).txt'), join(dir, 'dup (2).txt'), join(dir, 'dup.txt')]);
      // Each reported path holds the bytes of the file reported there (results' order).
      for (const [i, path] of paths.entries()) expect(await readFile(path, 'utf8')).toBe(CONTENTS[i]);
      expect((await readdir(dir)).sort()).toEqual(['dup (1).txt', 'dup (2).txt', 'dup.txt']); // nothing else, no temp file
      await session.close();
    });
  }

  it('overwrite: false: the file there before is kept, the three get the next free numbered names', async () => {
    const { session, result } = await threeDuplicates();
    const dir = await mkdtemp(join(tmpdir(), 'cis-dup-'));
    await writeFile(join(dir, 'dup.txt'), 'there before');
    const paths = await session.saveAll(result, dir);
    expect([...paths].sort()).toEqual([join(dir, 'dup (1).txt'), join(dir, 'dup (2).txt'), join(dir, 'dup (3).txt')]);
    for (const [i, path] of paths.entries()) expect(await readFile(path, 'utf8')).toBe(CONTENTS[i]);
    expect(await readFile(join(dir, 'dup.txt'), 'utf8')).toBe('there before');
    await session.close();
  });

  it('separate saveFile calls with overwrite: true still replace, as before', async () => {
    const { session, result } = await threeDuplicates();
    const dir = await mkdtemp(join(tmpdir(), 'cis-dup-'));
    expect(await session.saveFile(result.files[0]!, dir, { overwrite: true })).toBe(join(dir, 'dup.txt'));
    expect(await session.saveFile(result.files[1]!, dir, { overwrite: true })).toBe(join(dir, 'dup.txt'));
    expect(await readFile(join(dir, 'dup.txt'), 'utf8')).toBe(CONTENTS[1]);
    await session.close();
  });
});
