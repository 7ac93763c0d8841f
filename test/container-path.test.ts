// The real service puts a file a user gives a container at `/mnt/data/<32 hex>-<name>`
// (the official OpenAPI document's container file examples, vendored in test/fixtures/openapi:
// `/mnt/data/88e12fa445d32636f190a0b33daed6cb-tsconfig.json`). The
// library shows users the name they gave: `listFiles()` and downloads by id derive the filename from
// `path` without that prefix, and only that exact shape is removed.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { containerFilename } from '../src/files/container-path.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, withMsw } from './helpers/sim.js';

const HASH = '88e12fa445d32636f190a0b33daed6cb';

describe('containerFilename()', () => {
  it("removes the service's <hash>- prefix from a user file's path", () => {
    expect(containerFilename(`/mnt/data/${HASH}-tsconfig.json`, 'user')).toBe('tsconfig.json');
    expect(containerFilename(`/mnt/data/${HASH}-q1-sales.csv`, 'user')).toBe('q1-sales.csv'); // dashes after the prefix stay
    expect(containerFilename(`/mnt/data/${HASH}-${HASH}-x.csv`, 'user')).toBe(`${HASH}-x.csv`); // once
    expect(containerFilename('/mnt/data/sales.csv', 'user')).toBe('sales.csv');
  });

  it('leaves everything else as it is: other shapes, other folders, files the code wrote', () => {
    expect(containerFilename('/mnt/data/q1-sales.csv', 'user')).toBe('q1-sales.csv');
    expect(containerFilename(`/mnt/data/${HASH.slice(1)}-short.csv`, 'user')).toBe(`${HASH.slice(1)}-short.csv`); // 31 hex
    expect(containerFilename(`/mnt/data/${HASH}0-long.csv`, 'user')).toBe(`${HASH}0-long.csv`); // 33 hex
    expect(containerFilename(`/mnt/data/${HASH.toUpperCase()}-upper.csv`, 'user')).toBe(`${HASH.toUpperCase()}-upper.csv`);
    expect(containerFilename(`/mnt/data/${HASH}_under.csv`, 'user')).toBe(`${HASH}_under.csv`);
    expect(containerFilename(`/mnt/data/${HASH}-`, 'user')).toBe(`${HASH}-`); // no name after it
    expect(containerFilename(`/mnt/data/out/${HASH}-nested.csv`, 'user')).toBe(`${HASH}-nested.csv`);
    expect(containerFilename(`/tmp/${HASH}-elsewhere.csv`, 'user')).toBe(`${HASH}-elsewhere.csv`);
    expect(containerFilename(`/mnt/data/${HASH}-written.csv`, 'assistant')).toBe(`${HASH}-written.csv`);
    expect(containerFilename(`/mnt/data/${HASH}-unknown.csv`, undefined)).toBe(`${HASH}-unknown.csv`);
  });
});

describe('user-visible names of container files (simulator with the real path shape, its default)', () => {
  let h: ReturnType<typeof withMsw>;
  afterEach(() => h?.close());

  for (const hashedFilePaths of [true, false]) {
    it(`listFiles() and downloads by id show the given names (hashedFilePaths: ${hashedFilePaths})`, async () => {
      h = withMsw({ hashedFilePaths });
      const session = makeSession(h.client);
      await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'q1-sales.csv' });
      const result = await session.run('revenue by region');
      const listed = await session.listFiles();
      const user = listed.find((f) => f.source === 'user')!;
      expect(user.filename).toBe('q1-sales.csv');
      expect(user.path).toMatch(hashedFilePaths ? /^\/mnt\/data\/[0-9a-f]{32}-q1-sales\.csv$/ : /^\/mnt\/data\/q1-sales\.csv$/);
      expect(listed.filter((f) => f.source === 'assistant').map((f) => `${f.filename} at ${f.path}`).sort()).toEqual(
        result.files.map((f) => `${f.filename} at /mnt/data/${f.filename}`).sort(),
      );
      expect(result.files).toHaveLength(2);

      // By container file id: the name comes from the file's path (one retrieve), without the hash.
      const downloaded = await session.download(user.id);
      expect(downloaded.filename).toBe('q1-sales.csv');
      expect(new TextDecoder().decode(downloaded.bytes)).toBe(SALES_CSV);
      const dir = await mkdtemp(join(tmpdir(), 'cis-paths-'));
      const saved = await session.saveFile(user.id, dir);
      expect(basename(saved)).toBe('q1-sales.csv');
      expect(await readFile(saved, 'utf8')).toBe(SALES_CSV);
      await session.close();
    });
  }

  it('a file written under a hash-like name by the code keeps it', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    const written = h.sim.addContainerFile(session.containerId!, { name: `${HASH}-report.csv`, data: 'a,b\n' });
    expect(written.path).toBe(`/mnt/data/${HASH}-report.csv`);
    expect((await session.listFiles()).map((f) => f.filename)).toEqual([`${HASH}-report.csv`]);
    expect((await session.download(written.id)).filename).toBe(`${HASH}-report.csv`);
    await session.close();
  });

  it("a file another client put in the container is listed by its name", async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    await h.client.containers.files.create(session.containerId!, { file: await toFile(Buffer.from('x'), 'notes-2026.txt') });
    expect((await session.listFiles()).map((f) => f.filename)).toEqual(['notes-2026.txt']);
    await session.close();
  });
});
