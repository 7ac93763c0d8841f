// Request bodies as the API treats them (issue #11): malformed JSON or multipart answers 400, not a
// 500 the client would retry; a body over the cap answers 413 without being collected.
import { Readable } from 'node:stream';
import { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { RetainedMemory } from './helpers/memory.js';
import { failure, SALES_CSV, TEST_API_KEY, transports, withHttp, type Harness } from './helpers/sim.js';

const MiB = 1024 * 1024;

describe.each(transports)('request bodies over %s', (_name, make) => {
  let h: Harness;
  afterEach(async () => h?.close());

  const raw = (path: string, init: RequestInit) =>
    fetch(`${h.client.baseURL}${path}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${TEST_API_KEY}`, ...init.headers } });

  it('malformed JSON and multipart answer 400 with the error body, and change nothing', async () => {
    h = await make();
    const json = await raw('/containers', { headers: { 'content-type': 'application/json' }, body: '{"name": "x"' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('could not parse the JSON body') });
    const multipart = await raw('/files', { headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data' });
    expect(multipart.status).toBe(400);
    expect(((await multipart.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_multipart' });
    const noBoundary = await raw('/files', { headers: { 'content-type': 'multipart/form-data' }, body: 'garbage' });
    expect(noBoundary.status).toBe(400);
    expect(h.sim.files.size).toBe(0);
    expect(h.sim.containers.size).toBe(0);
    expect(h.sim.requests.map((r) => r.status)).toEqual([400, 400, 400]);
  });

  it('a body over maxBodyBytes answers 413 (known length and streamed), smaller ones still work', async () => {
    h = await make({ maxBodyBytes: MiB });
    const big = await failure(h.client.files.create({ file: await toFile(Buffer.alloc(2 * MiB, 1), 'big.bin'), purpose: 'user_data' }));
    expect(big.status).toBe(413);
    expect(big.message).toContain('maxBodyBytes');
    async function* chunks() {
      for (let i = 0; i < 8; i++) yield Buffer.alloc(MiB / 2, 2);
    }
    const streamed = await raw('/containers', {
      headers: { 'content-type': 'application/json' },
      body: Readable.toWeb(Readable.from(chunks())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(h.sim.files.size).toBe(0);
    const ok = await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
    expect(ok.bytes).toBe(SALES_CSV.length);
  });
});

describe('a huge body over real HTTP', () => {
  it('is refused with 413 while it streams in, and never collected (memory stays flat)', async () => {
    const h = await withHttp({ maxBodyBytes: 8 * MiB });
    try {
      const size = 256 * MiB;
      const chunk = Buffer.alloc(MiB, 0x20);
      // What is still held after a full GC (client and simulator share this process), sampled as
      // the body is sent (every MiB, until the answer): RSS would also count garbage V8 has yet to
      // free, which grows with the machine's load.
      const held = new RetainedMemory(MiB);
      let answered = false;
      async function* chunks() {
        for (let sent = 0; sent < size; sent += chunk.length) {
          if (!answered) held.progress(sent);
          yield chunk;
        }
      }
      const answer = await fetch(`${h.server.url}/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'multipart/form-data; boundary=zzz' },
        body: Readable.toWeb(Readable.from(chunks())) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      answered = true;
      expect(answer.status).toBe(413);
      console.log(`256 MiB body refused, held at ${held.samples} points: +${held.peakMiB.toFixed(1)} MiB`);
      // Sampled up to the refusal: at most about the 8 MiB the simulator reads before refusing,
      // never the body.
      expect(held.samples).toBeGreaterThanOrEqual(8);
      expect(held.peakMiB).toBeLessThan(16);
      expect(h.sim.files.size).toBe(0);
      // The connection was drained, not dropped: the simulator still answers.
      expect((await h.client.files.list()).data).toEqual([]);
    } finally {
      await h.close();
    }
  }, 120_000);
});
