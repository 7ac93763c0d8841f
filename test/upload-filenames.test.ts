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

  it("'.', '..', a name with '/' and a lone surrogate are refused naming `filename`, nothing sent", async () => {
    h = await withHttp();
    const session = makeSession(h.client);
    for (const [filename, what] of [
      ['.', /'\.' names a folder, not a file/],
      ['..', /'\.\.' names a folder, not a file/],
      ['a/b.csv', /contains a '\/'; a file name is one path segment: pass its base name \("b\.csv"\)/],
      ['/etc/passwd', /contains a '\/'.*\("passwd"\)/],
      ['a\uD800b.csv', /contains a lone UTF-16 surrogate \(U\+D800\) at index 1.*would become U\+FFFD/],
      ['b\uDC00.csv', /lone UTF-16 surrogate \(U\+DC00\)/],
    ] as const) {
      const error = await session.upload(new Uint8Array([1]), { filename }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).issues[0]!.path).toBe('filename');
      expect((error as Error).message).toMatch(what);
    }
    // A surrogate pair (an emoji) is a well-formed name, kept as given.
    const emoji = await session.upload(new Uint8Array([1]), { filename: 'chart 📈.csv' });
    expect(h.sim.files.get(emoji.fileId)!.filename).toBe('chart 📈.csv');
    expect(h.sim.requestsTo('/files', 'POST')).toHaveLength(1);
    await session.close();
  });
});

describe('files given to run() and stream() are checked before anything is sent, and the error names the call', () => {
  const csv = (name: string) => new File(['a,b\n1,2\n'], name);
  const refused = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  };
  const drain = async (events: AsyncIterable<unknown>) => {
    for await (const event of events) void event;
  };

  it('a bad name in `files` (taken from the source) is refused as run()/stream() `files.N`, before the good files before it are uploaded', async () => {
    h = await withHttp();
    const session = makeSession(h.client);
    for (const [bad, what] of [
      [csv('a\nb.csv'), /contains a control character \(U\+000A\) at index 1/],
      [csv('C:\\data\\a.csv'), /contains a backslash/],
      [csv(`${'x'.repeat(252)}.csv`), /is 256 bytes long in UTF-8/],
    ] as const) {
      const run = await refused(session.run('Total revenue', { files: [csv('good.csv'), bad] }));
      expect(run.message).toMatch(/^run\(\): `files\.1`: the name taken from the source, ".*", /);
      expect(run.message).toMatch(what);
      expect(run.message).toMatch(/upload it under another name with upload\(source, \{ filename \}\) before calling run\(\)/);
      expect(run.message).not.toMatch(/upload\(\): /);
      expect(run.issues).toEqual([{ path: 'files.1', message: expect.stringMatching(what) }]);
      const stream = await refused(drain(session.stream('Total revenue', { files: [csv('good.csv'), bad] })));
      expect(stream.message).toMatch(/^stream\(\): `files\.1`: the name taken from the source/);
    }
    // A path that is not there: named the same way, and nothing sent for the good file before it.
    const missing = await refused(session.run('Total revenue', { files: [csv('good.csv'), '/nonexistent/sales.csv'] }));
    expect(missing.message).toMatch(/^run\(\): `files\.1`: no readable file at '\/nonexistent\/sales\.csv'/);
    expect(h.sim.requests).toEqual([]);
    await session.close();
  });

  it('an input_file part: a bad filename or file_data is refused naming the part and the call, before the parts before it are uploaded', async () => {
    h = await withHttp();
    const session = makeSession(h.client);
    const data = `data:text/csv;base64,${Buffer.from('a,b\n1,2\n').toString('base64')}`;
    const input = (second: Record<string, unknown>) => [
      { role: 'user' as const, content: [{ type: 'input_file' as const, filename: 'good.csv', file_data: data }, { type: 'input_file' as const, ...second }, { type: 'input_text' as const, text: 'Total' }] },
    ];
    const badName = await refused(session.run(input({ filename: 'line\r\nbreak.csv', file_data: data }) as never));
    expect(badName.message).toMatch(/^run\(\): `input\[0\]\.content\[1\]\.filename`: contains a control character \(U\+000D\)/);
    const badData = await refused(drain(session.stream(input({ filename: 'b.csv', file_data: 'data:text/csv,plain' }) as never)));
    expect(badData.message).toMatch(/^stream\(\): `input\[0\]\.content\[1\]\.file_data`: expected base64 data/);
    expect(h.sim.requests).toEqual([]);
    await session.close();
  });
});
