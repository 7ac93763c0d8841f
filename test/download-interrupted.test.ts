import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, DownloadTooLargeError, RequestFailedError, RetriesExhaustedError } from '../src/index.js';
import { createSimulator, type Simulator } from '../src/testing/index.js';
import { makeSession, recordEvents } from './helpers/session.js';

/**
 * Promise (docs/results.md): every error is a typed subclass, and a download whose connection
 * breaks mid-body is an ordinary network failure: retried from the start into a fresh temporary
 * file, nothing partial at the target, and after the retries a typed error that says so.
 */

const SIZE = 5_000_000;
const CUT_AT = 1_000_000;
const CONTENT = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + 7) & 0xff);

type Mode = 'pass' | 'cut' | 'lie-length';

/**
 * A real HTTP proxy in front of the simulator (itself on real HTTP) that breaks the bodies of
 * file-content answers: `cut` resets the connection after 1 MB of the 5 MB body; `lie-length`
 * announces twice the real `content-length`, sends the whole body, then closes the connection.
 * `breaks` is how many content answers to break (then it passes them through).
 */
async function breakingProxy(sim: Simulator) {
  const upstream = await sim.listen();
  const target = new URL(upstream.url);
  let mode: Mode = 'pass';
  let breaks = 0;
  const server: Server = createServer((req, res) => {
    const forward = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const breaking = mode !== 'pass' && breaks > 0 && req.url!.endsWith('/content') && answer.statusCode === 200;
      if (!breaking) {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
        return;
      }
      breaks--;
      const headers = { ...answer.headers };
      if (mode === 'lie-length') headers['content-length'] = String(SIZE * 2);
      res.writeHead(answer.statusCode!, headers);
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (mode === 'cut' && sent + chunk.length > CUT_AT) {
          res.write(chunk.subarray(0, CUT_AT - sent), () => req.socket.destroy());
          answer.destroy();
          sent = CUT_AT;
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      answer.on('end', () => res.socket?.end()); // lie-length: everything sent, then the connection closes
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    /** Breaks the next `times` content answers in `m` mode. */
    breakNext: (m: Mode, times: number) => ((mode = m), (breaks = times)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

async function setup(retries: number | false) {
  const sim = createSimulator({ respond: () => ({ code: 'write big.bin', files: [{ name: 'big.bin', data: CONTENT }], text: 'See big.bin.' }) });
  const proxy = await breakingProxy(sim);
  cleanup.push(proxy.close);
  const client = new OpenAI({ apiKey: 'sk-test-0123456789abcdef', baseURL: proxy.url, maxRetries: 0 });
  const session = makeSession(client, { retry: retries === false ? false : { retries, minTimeoutMs: 1, maxTimeoutMs: 5 } });
  cleanup.push(() => session.close());
  const result = await session.run('make a big file');
  expect(result.files.map((f) => f.filename)).toEqual(['big.bin']);
  const contentGets = () => sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/content')).length;
  return { sim, proxy, session, result, contentGets };
}

/** A folder holding only `big.bin` = 'ORIGINAL'. */
async function folderWithOriginal(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cis-broken-'));
  await writeFile(join(dir, 'big.bin'), 'ORIGINAL');
  return dir;
}

async function expectUntouched(dir: string): Promise<void> {
  expect(await readdir(dir)).toEqual(['big.bin']); // no temporary file left
  expect(await readFile(join(dir, 'big.bin'), 'utf8')).toBe('ORIGINAL');
}

async function failure(promise: Promise<unknown>): Promise<CodeInterpreterError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CodeInterpreterError);
  return error as CodeInterpreterError;
}

function expectBrokenConnectionMessage(error: CodeInterpreterError): void {
  expect(error.message).toMatch(/connection broke during the download of cfile_\w+ after \d+ of (10000000|5000000) bytes/);
  expect(error.message).toMatch(/check the network or any proxy between this process and the API/);
}

describe('a download whose body breaks mid-way is a retryable network failure', () => {
  for (const mode of ['cut', 'lie-length'] as const) {
    it(`${mode}: saveFile() and download() retry from the start, then reject with RetriesExhaustedError; the target is untouched, no temporary file`, async () => {
      const { proxy, session, result, contentGets } = await setup(2);
      const events = recordEvents(session);
      const dir = await folderWithOriginal();
      const progress: number[] = [];

      proxy.breakNext(mode, 3);
      const before = contentGets();
      const saveError = await failure(session.saveFile(result.files[0]!, dir, { overwrite: true, onProgress: (p) => progress.push(p.bytes) }));
      expect(contentGets() - before).toBe(3); // every attempt reached the server
      expect(saveError).toBeInstanceOf(RetriesExhaustedError);
      expect((saveError as RetriesExhaustedError).attempts).toBe(3);
      expectBrokenConnectionMessage(saveError);
      await expectUntouched(dir);
      // Progress never goes back, though each attempt starts over.
      expect(progress.every((bytes, i) => i === 0 || bytes > progress[i - 1]!)).toBe(true);
      expect(events.of('request.retry').map((r) => r.attempt)).toEqual([1, 2]);

      proxy.breakNext(mode, 3);
      const beforeDownload = contentGets();
      const downloadError = await failure(session.download(result.files[0]!));
      expect(contentGets() - beforeDownload).toBe(3);
      expect(downloadError).toBeInstanceOf(RetriesExhaustedError);
      expectBrokenConnectionMessage(downloadError);
    });
  }

  it('a body broken once, then whole: saveFile() writes the complete file (fresh temp file), download() gets every byte; maxBytes counts one attempt', async () => {
    const { proxy, session, result, contentGets } = await setup(2);
    const dir = await folderWithOriginal();
    const progress: Array<{ bytes: number; totalBytes: number | undefined }> = [];

    proxy.breakNext('cut', 1);
    let before = contentGets();
    const path = await session.saveFile(result.files[0]!, dir, { overwrite: true, maxBytes: SIZE, onProgress: (p) => progress.push(p) });
    expect(contentGets() - before).toBe(2);
    expect(path).toBe(join(dir, 'big.bin'));
    expect(await readdir(dir)).toEqual(['big.bin']);
    expect(Buffer.compare(await readFile(path), Buffer.from(CONTENT))).toBe(0);
    expect(progress.at(-1)).toEqual({ bytes: SIZE, totalBytes: SIZE });
    expect(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1]!.bytes)).toBe(true);

    proxy.breakNext('lie-length', 1);
    before = contentGets();
    const file = await session.download(result.files[0]!, { maxBytes: SIZE });
    expect(contentGets() - before).toBe(2);
    expect(Buffer.compare(Buffer.from(file.bytes), Buffer.from(CONTENT))).toBe(0);

    // Not overwriting: the retried file goes next to the original, under a numbered name.
    proxy.breakNext('cut', 1);
    const second = await session.saveFile(result.files[0]!, dir);
    expect(second).toBe(join(dir, 'big (1).bin'));
    expect((await readdir(dir)).sort()).toEqual(['big (1).bin', 'big.bin']);
    expect((await readFile(second)).length).toBe(SIZE);
  });

  it('maxBytes below the break point is not retried: DownloadTooLargeError after one attempt', async () => {
    const { proxy, session, result, contentGets } = await setup(2);
    const dir = await folderWithOriginal();
    proxy.breakNext('lie-length', 3); // announces 10 MB: refused before a byte is written
    let before = contentGets();
    expect(await failure(session.saveFile(result.files[0]!, dir, { overwrite: true, maxBytes: CUT_AT / 2 }))).toBeInstanceOf(DownloadTooLargeError);
    expect(contentGets() - before).toBe(1);
    proxy.breakNext('cut', 3);
    before = contentGets();
    expect(await failure(session.download(result.files[0]!, { maxBytes: CUT_AT / 2 }))).toBeInstanceOf(DownloadTooLargeError);
    expect(contentGets() - before).toBe(1);
    await expectUntouched(dir);
  });

  it('with retries off: RequestFailedError after one attempt, saying the connection broke', async () => {
    const { proxy, session, result, contentGets } = await setup(false);
    const dir = await folderWithOriginal();
    proxy.breakNext('cut', 2);
    const before = contentGets();
    const error = await failure(session.saveFile(result.files[0]!, dir, { overwrite: true }));
    expect(contentGets() - before).toBe(1);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as RequestFailedError).status).toBeUndefined();
    expectBrokenConnectionMessage(error);
    expect(error.message).toMatch(/allow retries \(`retry`\)/);
    await expectUntouched(dir);
    const downloadError = await failure(session.download(result.files[0]!));
    expect(downloadError).toBeInstanceOf(RequestFailedError);
    expectBrokenConnectionMessage(downloadError);
  });

  it('downloadStream(): a break mid-way reaches the reader as a typed RequestFailedError (not retried: part of the file was read); a whole body streams every byte', async () => {
    const { proxy, session, result, contentGets } = await setup(2);
    const readAll = async (stream: ReadableStream<Uint8Array>) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      return Buffer.concat(chunks);
    };
    // Until its body is read, cancelled or broken the stream is a call in flight (a pool never evicts the session).
    const unread = await session.downloadStream(result.files[0]!);
    expect(session.callsInFlight).toBe(1);
    const whole = await readAll(unread);
    expect(session.callsInFlight).toBe(0);
    expect(whole.equals(Buffer.from(CONTENT))).toBe(true);
    for (const mode of ['cut', 'lie-length'] as const) {
      proxy.breakNext(mode, 1);
      const before = contentGets();
      const stream = await session.downloadStream(result.files[0]!);
      expect(session.callsInFlight).toBe(1);
      const error = await failure(readAll(stream));
      expect(session.callsInFlight).toBe(0);
      expect(contentGets() - before).toBe(1);
      expect(error).toBeInstanceOf(RequestFailedError);
      expectBrokenConnectionMessage(error);
      expect(error.message).toMatch(/^downloadStream\(\) failed: .*call downloadStream\(\) again \(a stream is not retried/);
    }
    // A reader that stops early cancels the body: the next download still works.
    const early = (await session.downloadStream(result.files[0]!)).getReader();
    expect((await early.read()).done).toBe(false);
    await early.cancel();
    expect(session.callsInFlight).toBe(0);
    expect((await readAll(await session.downloadStream(result.files[0]!))).length).toBe(SIZE);
    // A stream its caller aborted before it was handed over, or while it was read, is no longer in flight.
    const controller = new AbortController();
    const aborted = await session.downloadStream(result.files[0]!, { signal: controller.signal });
    controller.abort(new Error('caller left'));
    expect(session.callsInFlight).toBe(0);
    await aborted.cancel();
  });
});
