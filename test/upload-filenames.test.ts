// Upload file names: refused before anything is sent when they cannot travel in a multipart header
// (control characters, a backslash, over 255 UTF-8 bytes: see call-validation.test.ts); quotes and
// other printable characters are kept, sent escaped, and read back as given by the server.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { TEST_API_KEY, withHttp } from './helpers/sim.js';

let h: Awaited<ReturnType<typeof withHttp>> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('upload file names', () => {
  it('quotes, semicolons, non-ASCII and a 255-byte name reach a real HTTP server intact; the quote is escaped (%22) on the wire', async () => {
    h = await withHttp();
    const headers: string[] = [];
    // The Content-Disposition lines the client really sends (FormData serialised as fetch does it).
    const spy: typeof fetch = async (input, init) => {
      if (init?.body instanceof FormData) {
        const raw = await new Request(String(input), { method: 'POST', body: init.body }).text();
        headers.push(...raw.split('\r\n').filter((line) => line.startsWith('Content-Disposition') && line.includes('filename=')));
      }
      return fetch(input, init);
    };
    const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: h.client.baseURL, maxRetries: 0, fetch: spy });
    const session = makeSession(client);
    const names = ['report "final" 2026.csv', 'a;b=c d.csv', 'données é ü.csv', `${'x'.repeat(251)}.csv`];
    for (const name of names) {
      const file = await session.upload(new TextEncoder().encode('a,b\n1,2\n'), { filename: name });
      expect(file.filename).toBe(name);
      expect(h.sim.files.get(file.fileId)!.filename).toBe(name); // what the server's multipart parser read
    }
    expect(headers[0]).toBe('Content-Disposition: form-data; name="file"; filename="report %22final%22 2026.csv"');
    expect(headers.every((line) => !/[\r\n\0]/.test(line))).toBe(true);
    // The container has each under its name too.
    const inContainer = (await session.listFiles()).map((f) => f.filename);
    for (const name of names) expect(inContainer).toContain(name);
    await session.close();
  });

  it('a refused name sends nothing, whether given or taken from a path', async () => {
    h = await withHttp();
    const session = makeSession(h.client);
    for (const filename of ['a\0b', 'line\r\nbreak.csv', 'tab\there.csv', 'x'.repeat(256), 'é'.repeat(128), 'C:\\data\\a.csv']) {
      await expect(session.upload(new Uint8Array([1]), { filename })).rejects.toMatchObject({ name: 'InvalidOptionsError', message: expect.stringMatching(/^upload\(\): `filename`: /) });
    }
    await expect(session.upload(new File(['x'], 'a\nb.csv'))).rejects.toBeInstanceOf(InvalidOptionsError);
    expect(h.sim.requests).toEqual([]);
    await session.close();
  });
});
