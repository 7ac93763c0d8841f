import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadTooLargeError, FileNotFoundError, InvalidOptionsError, safeFilename } from '../src/index.js';
import { saveStream } from '../src/downloads/save-stream.js';
import { MAX_FILENAME_BYTES, numberedName } from '../src/downloads/safe-filename.js';
import { makeSession } from './helpers/session.js';
import { RetainedMemory } from './helpers/memory.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { SALES_CSV, TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const MiB = 1024 * 1024;
const tempDir = (prefix = 'cis-dl-') => mkdtemp(join(tmpdir(), prefix));

describe('safeFilename', () => {
  it.each([
    ['chart.png', 'chart.png'],
    ['../../x', 'x'],
    ['/etc/passwd', 'passwd'],
    ['..\\..\\windows\\system.ini', 'system.ini'],
    ['a\u0000b', 'ab'],
    ['tab\there\nnewline', 'tabherenewline'],
    ['..', 'file-cfile_1'],
    ['.hidden', 'hidden'],
    ['', 'file-cfile_1'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['LPT1', '_LPT1'],
    ['what?<>|*.csv', 'what_____.csv'],
    ['trailing. ', 'trailing'],
  ])('%j -> %j', (input, expected) => {
    expect(safeFilename(input, 'cfile_1')).toBe(expected);
  });

  it('bounds the length in bytes and keeps the extension', () => {
    const long = safeFilename(`${'é'.repeat(300)}.csv`, 'cfile_1');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(long.endsWith('.csv')).toBe(true);
    expect(safeFilename('x'.repeat(300), 'id').length).toBe(MAX_FILENAME_BYTES);
  });

  it('numbers names', () => {
    expect(numberedName('a.csv', 0)).toBe('a.csv');
    expect(numberedName('a.csv', 2)).toBe('a (2).csv');
    expect(numberedName('README', 1)).toBe('README (1)');
  });
});

describe('downloads through the session', () => {
  async function sessionWithChart() {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('revenue by region');
    return { session, result };
  }

  it('download() returns the bytes, name and content type', async () => {
    const { session, result } = await sessionWithChart();
    const csv = result.files.find((f) => f.filename.endsWith('.csv'))!;
    const file = await session.download(csv);
    expect(file).toMatchObject({ filename: 'revenue_by_region.csv', contentType: 'text/csv' });
    expect(new TextDecoder().decode(file.bytes)).toBe('region,revenue\nEast,550\nNorth,390\nSouth,240\n');
    // By container file id alone: the name comes from the file's path.
    const byId = await session.download(csv.fileId);
    expect(byId.filename).toBe('revenue_by_region.csv');
    expect(session.stats.downloads).toBe(2);
    await session.close();
  });

  it('downloadStream() gives a web stream', async () => {
    const { session, result } = await sessionWithChart();
    const stream = await session.downloadStream(result.files[0]!);
    expect(await new Response(stream).text()).toContain('<svg');
    await session.close();
  });

  it('saveFile() creates the folder, never overwrites silently, and overwrites when told', async () => {
    const { session, result } = await sessionWithChart();
    const dir = join(await tempDir(), 'nested', 'out');
    const svg = result.files.find((f) => f.filename.endsWith('.svg'))!;
    const first = await session.saveFile(svg, dir);
    const second = await session.saveFile(svg, dir);
    expect(first).toBe(join(dir, 'revenue_by_region.svg'));
    expect(second).toBe(join(dir, 'revenue_by_region (1).svg'));
    await writeFile(first, 'old');
    expect(await session.saveFile(svg, dir, { overwrite: true })).toBe(first);
    expect(await readFile(first, 'utf8')).toContain('<svg');
    expect((await readdir(dir)).sort()).toEqual(['revenue_by_region (1).svg', 'revenue_by_region.svg']);
    await session.close();
  });

  it('saveAll() saves every cited file', async () => {
    const { session, result } = await sessionWithChart();
    const dir = await tempDir();
    const paths = await session.saveAll(result, dir);
    expect(paths).toEqual([join(dir, 'revenue_by_region.svg'), join(dir, 'revenue_by_region.csv')]);
    expect((await readdir(dir)).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    await session.close();
  });

  it('keeps hostile names from the model inside the folder', async () => {
    h = withMsw({
      respond: () => ({
        code: 'write files',
        files: ['../../x', '/etc/passwd', 'a\u0000b', 'n'.repeat(300), 'CON', '', '..', 'ok.txt'].map((name) => ({ name, data: `data of ${JSON.stringify(name)}` })),
        text: 'Here are the files.',
      }),
    });
    const session = makeSession(h.client);
    const result = await session.run('write hostile files');
    expect(result.files).toHaveLength(8);
    const root = await tempDir();
    const dir = join(root, 'out');
    const paths = await session.saveAll(result, dir);
    for (const path of paths) expect(dirname(path)).toBe(dir);
    expect(await readdir(root)).toEqual(['out']);
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(8);
    expect(names).toEqual(expect.arrayContaining(['x', 'passwd', 'ab', '_CON', 'ok.txt']));
    expect(names.filter((n) => n.startsWith('file-cfile_'))).toHaveLength(2); // '' and '..'
    expect(names.every((n) => Buffer.byteLength(n) <= MAX_FILENAME_BYTES && !n.includes('\u0000') && !n.startsWith('.'))).toBe(true);
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('data of "../../x"');
    await session.close();
  });

  it('maxBytes stops an oversized download and leaves nothing behind', async () => {
    const { session, result } = await sessionWithChart();
    const dir = await tempDir();
    const svg = result.files.find((f) => f.filename.endsWith('.svg'))!;
    await expect(session.saveFile(svg, dir, { maxBytes: 100 })).rejects.toBeInstanceOf(DownloadTooLargeError);
    await expect(session.download(svg, { maxBytes: 100 })).rejects.toThrow(/larger than maxBytes \(100 bytes\); raise `maxBytes`/);
    expect(await readdir(dir)).toEqual([]);
    await session.close();
  });

  it('a stream that grows past maxBytes (no size announced) is cut and its temporary file removed', async () => {
    const dir = await tempDir();
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1024;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    await expect(saveStream(endless, dir, 'big.bin', 'cfile_x', { maxBytes: 10_000 })).rejects.toBeInstanceOf(DownloadTooLargeError);
    expect(sent).toBeLessThan(100 * 1024);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a failed download leaves no partial file', async () => {
    const dir = await tempDir();
    let chunks = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++chunks > 3) controller.error(new Error('connection reset'));
        else controller.enqueue(new Uint8Array(1000));
      },
    });
    await expect(saveStream(broken, dir, 'half.bin', 'cfile_x')).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });

  it('FileNotFoundError names the file and the container', async () => {
    const { session, result } = await sessionWithChart();
    const missing = await session.download('cfile_nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileNotFoundError);
    expect((missing as Error).message).toBe(`File cfile_nope in container ${session.containerId} was not found: the container has no such file.`);
    h.sim.expire(session.containerId!);
    const gone = await session.download(result.files[0]!).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(FileNotFoundError);
    expect((gone as Error).message).toMatch(/its container has expired or was replaced.*persistGeneratedFiles: true/);
    await session.close();
  });

  it('a file id on a session with no container is not found without a request: no container is made to look', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    for (const call of [() => session.download('cfile_doesnotexist'), () => session.downloadStream('cfile_doesnotexist'), async () => session.saveFile('cfile_doesnotexist', await tempDir())]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FileNotFoundError);
      expect((error as FileNotFoundError).containerId).toBeUndefined();
      expect((error as Error).message).toMatch(/^File cfile_doesnotexist was not found: the session has no container.*nothing was sent.*result\.files/);
    }
    expect(h.sim.requests).toEqual([]);
    expect(session.stats.containersCreated).toBe(0);
    await session.close();
  });

  it.each([
    ['not-an-id at all', 'ref', /no '\?', '#', spaces or control characters/],
    ['cfile_1\n', 'ref', /no '\?', '#', spaces or control characters/],
    ['cfile_abc?x=1', 'ref', /no '\?', '#'/],
    ['/mnt/data/chart.png', 'ref', /got a path "\/mnt\/data\/chart\.png": pass an entry of result\.files/],
    ['../files', 'ref', /got a path/],
    [{ fileId: '../../files/file-x', containerId: 'cntr_x', filename: 'x' }, 'ref.fileId', /got a path/],
    [{ fileId: 'cfile_1', containerId: '../files', filename: 'x' }, 'ref.containerId', /expected a container id \(`cntr_…`\), got a path/],
    [{ fileId: 'cfile_1', containerId: 'cntr_1#x', filename: 'x' }, 'ref.containerId', /no '\?', '#'/],
  ] as const)('a ref that cannot be a file id (%j) is refused before anything is sent, naming `%s`', async (ref, path, message) => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    const before = h.sim.requests.length;
    const error = await session.download(ref as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).issues[0]!.path).toBe(path);
    expect((error as Error).message).toMatch(message);
    expect(h.sim.requests.length).toBe(before);
    await session.close();
  });
});

describe('saving a 1 GB file', () => {
  it('keeps memory flat: the session holds no more of the file than a raw fetch piped to disk', async () => {
    const server = await startSimulatorProcess();
    try {
      const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: server.url, maxRetries: 0 });
      const session = makeSession(client);
      await session.start();
      const size = 1024 * 1024 * 1024;
      const fileId = (await server.control.addContainerFile(session.containerId!, { name: 'huge.bin', size })).id;
      const dir = await tempDir();
      // The baseline, in the same process and run: a bare fetch piped to a file (a quarter of the
      // size: what is held in flight does not grow with it). Both are sampled every 64 MiB, after a
      // full GC: what is still held, not RSS, which also counts garbage V8 has yet to free and
      // grows with the machine's load.
      const rawSize = size / 4;
      const rawId = (await server.control.addContainerFile(session.containerId!, { name: 'raw.bin', size: rawSize })).id;
      const raw = new RetainedMemory(64 * MiB);
      const response = await fetch(`${server.url}/containers/${session.containerId}/files/${rawId}/content`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      let rawBytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          raw.progress((rawBytes += chunk.length));
          callback(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream), counted, createWriteStream(join(dir, 'raw.bin')));
      expect(rawBytes).toBe(rawSize);
      await rm(join(dir, 'raw.bin'));

      const held = new RetainedMemory(64 * MiB);
      const path = await session.saveFile({ containerId: session.containerId!, fileId, filename: 'huge.bin' }, dir, { onProgress: ({ bytes }) => held.progress(bytes) });
      console.log(`1 GiB download, held at ${held.samples} points: session +${held.peakMiB.toFixed(1)} MiB, raw fetch +${raw.peakMiB.toFixed(1)} MiB`);
      expect((await stat(path)).size).toBe(size);
      const handle = await open(path);
      const probe = Buffer.alloc(16);
      await handle.read(probe, 0, 16, 700_000_000);
      await handle.close();
      expect([...probe]).toEqual(Array.from({ length: 16 }, (_, i) => ((700_000_000 + i) * 31 + 7) & 0xff));
      expect(held.samples).toBe(16);
      expect(raw.samples).toBe(4);
      // A fixed few chunks in flight, as for the raw fetch; never the file or a growing part of it.
      expect(held.peakMiB).toBeLessThan(raw.peakMiB + 4);
      expect(held.peakMiB).toBeLessThan(16);
      await session.close();
    } finally {
      await server.stop();
    }
  }, 180_000);
});
