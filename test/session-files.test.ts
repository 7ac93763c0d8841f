import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { FileNotFoundError, InvalidOptionsError, RequestFailedError } from '../src/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { RetainedMemory } from './helpers/memory.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { SALES_CSV, TEST_API_KEY, withMsw, unhashedPath } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const bytes = (text: string) => new TextEncoder().encode(text);

async function containerText(containerId: string, path: string): Promise<string> {
  const file = [...h.sim.containers.get(containerId)!.files.values()].find((f) => unhashedPath(f) === path);
  if (!file) throw new Error(`no ${path} in ${containerId}`);
  return new TextDecoder().decode(file.content.bytes());
}

describe('upload()', () => {
  it('accepts a path, bytes, a Blob, a File, a web stream and a Node stream', async () => {
    h = withMsw();
    const dir = await mkdtemp(join(tmpdir(), 'cis-upload-'));
    await writeFile(join(dir, 'from-path.csv'), SALES_CSV);
    const session = makeSession(h.client);
    const events = recordEvents(session);
    const uploaded = [
      await session.upload(join(dir, 'from-path.csv')),
      await session.upload(bytes('bytes'), { filename: 'bytes.txt' }),
      await session.upload(new Blob(['blob']), { filename: 'blob.txt' }),
      await session.upload(new File(['file'], 'file.txt')),
      await session.upload(new Blob(['web stream']).stream(), { filename: 'web.txt' }),
      await session.upload(Readable.from([Buffer.from('node '), Buffer.from('stream')]), { filename: 'node.txt' }),
    ];
    expect(uploaded.map((f) => [f.filename, f.bytes, f.origin, f.owned])).toEqual([
      ['from-path.csv', SALES_CSV.length, 'upload', true],
      ['bytes.txt', 5, 'upload', true],
      ['blob.txt', 4, 'upload', true],
      ['file.txt', 4, 'upload', true],
      ['web.txt', 10, 'upload', true],
      ['node.txt', 11, 'upload', true],
    ]);
    expect(events.of('file.uploaded')).toHaveLength(6);
    expect(session.stats.uploads).toBe(6);
    // None was attached one by one: the first container gets them all in its create request.
    await session.start();
    expect(h.sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual([...Array(6).fill('POST /files'), 'POST /containers']);
    expect(h.sim.requestsTo('/containers', 'POST')[0]!.body).toMatchObject({ file_ids: uploaded.map((f) => f.fileId) });
    const id = session.containerId!;
    expect(await containerText(id, '/mnt/data/from-path.csv')).toBe(SALES_CSV);
    expect(await containerText(id, '/mnt/data/node.txt')).toBe('node stream');
    expect(await containerText(id, '/mnt/data/web.txt')).toBe('web stream');
    const listed = await session.listFiles();
    expect(listed.map((f) => f.filename).sort()).toEqual(['blob.txt', 'bytes.txt', 'file.txt', 'from-path.csv', 'node.txt', 'web.txt']);
    expect(listed[0]).toMatchObject({ containerId: id, source: 'user', path: expect.stringMatching(/^\/mnt\/data\//) });
    await session.close();
  });

  it('attaches a file uploaded after the container exists by file_id', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    const file = await session.upload(bytes('late'), { filename: 'late.txt' });
    expect(h.sim.requests.map((r) => `${r.method} ${r.path}`).slice(1)).toEqual(['POST /files', `POST /containers/${session.containerId}/files`]);
    expect(h.sim.requests.at(-1)!.body).toEqual({ file_id: file.fileId });
    expect(file.containerFileId).toMatch(/^cfile_/);
    expect(await containerText(session.containerId!, '/mnt/data/late.txt')).toBe('late');
    await session.close();
  });

  it('says what to change for a bad source', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await expect(session.upload('/no/such/file.csv')).rejects.toThrow(InvalidOptionsError);
    await expect(session.upload('/no/such/file.csv')).rejects.toThrow(/`source`: no readable file at '\/no\/such\/file\.csv' \(ENOENT\)/);
    await expect(session.upload(42 as never)).rejects.toThrow(/expected a file path, a Uint8Array, a Blob/);
    await expect(session.upload(bytes('x'), { filename: '' })).rejects.toThrow(/`filename`/);
    expect(h.sim.requests).toHaveLength(0);
  });

  it('retries a replayable upload with a fresh body, and sends a one-shot stream once', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const dir = await mkdtemp(join(tmpdir(), 'cis-upload-'));
    await writeFile(join(dir, 'again.csv'), SALES_CSV);
    h.sim.fail({ path: '/files', status: 500 });
    const file = await session.upload(join(dir, 'again.csv'));
    expect(new TextDecoder().decode(h.sim.files.get(file.fileId)!.content.bytes())).toBe(SALES_CSV);
    // Before the retry, a look for a file the 500 may have made anyway (none: it is sent again).
    expect(h.sim.requestsTo('/files').map((r) => `${r.method} ${r.status}`)).toEqual(['POST 500', 'GET 200', 'POST 200']);
    h.sim.fail({ path: '/files', status: 500 });
    const once = await session.upload(Readable.from([Buffer.from('once')]), { filename: 'once.txt' }).catch((e: unknown) => e);
    expect(once).toBeInstanceOf(RequestFailedError);
    // The hint says what makes it retryable (not "allow more retries", which would change nothing).
    expect((once as Error).message).toMatch(/^upload\(\) failed: 500 .*It was sent once and not retried: its body was a stream, which cannot be sent twice\. Upload a file path, bytes or a Blob instead/);
    expect((once as Error).message).not.toMatch(/retry\.retries|allow retries/);
    expect(h.sim.requestsTo('/files', 'POST').map((r) => r.status)).toEqual([500, 200, 500]);
    // A one-shot stream cannot be compared by content, so it is not claimed by name (it could be
    // another session's file): no look-up now; close() looks again and reports what it finds.
    expect(h.sim.requestsTo('/files').at(-1)).toMatchObject({ method: 'POST', status: 500 });
    // A dropped connection likewise (a web stream this time).
    h.sim.fail({ path: '/files', method: 'POST', status: 'reset' });
    const reset = await session.upload(new Blob(['once']).stream(), { filename: 'once.txt' }).catch((e: unknown) => e);
    expect((reset as Error).message).toMatch(/It was sent once and not retried/);
    expect((reset as Error).message).not.toMatch(/could not be reached|allow retries/);
    expect(h.sim.requestsTo('/files', 'POST')).toHaveLength(4);
    // With retries off (`retry: false`) nothing would be retried anyway: the usual hint.
    const noRetry = makeSession(h.client, { retry: false });
    h.sim.fail({ path: '/files', method: 'POST', status: 500 });
    const plain = await noRetry.upload(Readable.from([Buffer.from('x')]), { filename: 'x.txt' }).catch((e: unknown) => e);
    expect((plain as Error).message).not.toMatch(/sent once/);
    await noRetry.close().catch(() => {});
  });

  it('streams a 200 MB upload without holding it in memory', async () => {
    const server = await startSimulatorProcess();
    try {
      const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: server.url, maxRetries: 0 });
      const session = makeSession(client);
      const size = 200 * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 7);
      // What is still held after a full GC, sampled as the source is read (every 25 MiB): RSS would
      // also count garbage V8 has yet to free, which grows with the machine's load.
      const held = new RetainedMemory(25 * 1024 * 1024);
      async function* source() {
        for (let sent = 0; sent < size; sent += chunk.length) {
          held.progress(sent);
          yield chunk;
        }
      }
      const file = await session.upload(Readable.from(source()), { filename: 'big.bin' });
      const files = await server.control.files();
      expect(files.find((f) => f.id === file.fileId)!.size).toBe(size);
      expect(file.bytes).toBe(size);
      console.log(`200 MiB upload, held at ${held.samples} points: +${held.peakMiB.toFixed(1)} MiB`);
      expect(held.samples).toBe(7);
      expect(held.peakMiB).toBeLessThan(16);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('attachFile()', () => {
  it('tracks an existing file without owning it', async () => {
    h = withMsw();
    const existing = await h.client.files.create({ file: new File([SALES_CSV], 'shared.csv'), purpose: 'user_data' });
    const session = makeSession(h.client);
    const file = await session.attachFile(existing.id);
    expect(file).toMatchObject({ fileId: existing.id, filename: 'shared.csv', origin: 'attached', owned: false });
    // Attaching it again answers the tracked entry without asking the API again.
    expect(await session.attachFile(existing.id)).toEqual(file);
    expect(h.sim.requestsTo(`/files/${existing.id}`, 'GET')).toHaveLength(1);
    expect(session.trackedFiles).toHaveLength(1);
    await session.start();
    expect(await containerText(session.containerId!, '/mnt/data/shared.csv')).toBe(SALES_CSV);
    await session.close();
    expect(h.sim.files.get(existing.id)!.deleted).toBe(false);
  });

  it('rejects an unknown id with FileNotFoundError', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const error = await session.attachFile('file-missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileNotFoundError);
    expect((error as Error).message).toContain('File file-missing was not found');
  });
});

describe('persistGeneratedFiles', () => {
  it('copies files the model wrote to the Files API, brings them back after expiry, and close() deletes the copies', async () => {
    h = withMsw();
    const session = makeSession(h.client, { persistGeneratedFiles: true });
    await session.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('revenue by region');
    const generated = session.trackedFiles.filter((f) => f.origin === 'generated');
    expect(generated.map((f) => f.filename).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    expect(generated.every((f) => f.owned && f.containerFileId)).toBe(true);
    const old = session.containerId!;
    h.sim.expire(old);
    // The generated files are still downloadable: from their Files API copies.
    const svg = result.files.find((f) => f.filename.endsWith('.svg'))!;
    const downloaded = await session.download(svg);
    expect(new TextDecoder().decode(downloaded.bytes)).toContain('<svg');
    const after = await session.run('units by product');
    expect(after.recovered).toBe(true);
    const restored = (await session.listFiles()).map((f) => f.filename);
    expect(restored).toEqual(expect.arrayContaining(['sales.csv', 'revenue_by_region.csv', 'revenue_by_region.svg']));
    const copies = session.trackedFiles.filter((f) => f.owned).map((f) => f.fileId);
    await session.close();
    for (const id of copies) expect(h.sim.files.get(id)!.deleted).toBe(true);
  });
});
