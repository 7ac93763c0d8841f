// persistGeneratedFiles: a generated file that cannot be copied to the Files API does not fail the
// run that made it. The run succeeded (the response exists, is billed and is the conversation's
// last turn), so run() resolves with its result, the file is listed on `result.persistErrors` and
// the `error` event, and the next run continues from that response (adversarial review, item 1).
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { RetriesExhaustedError } from '../src/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const CONTENT = /^\/containers\/[^/]+\/files\/[^/]+\/content$/;
const LISTING = /^\/containers\/[^/]+\/files$/;

function setUp() {
  h = withMsw();
  const session = makeSession(h.client, { persistGeneratedFiles: true, retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5 } });
  const events = recordEvents(session);
  const responses = () => h.sim.requestsTo('/responses', 'POST');
  const fileCreates = () => h.sim.requestsTo('/files', 'POST').filter((r) => r.path === '/files');
  return { session, events, responses, fileCreates };
}

describe('persistGeneratedFiles when a copy fails', () => {
  it('run() resolves with the result, the file is on persistErrors and the error event, the chain continues from that response', async () => {
    const { session, events, responses, fileCreates } = setUp();
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    expect(fileCreates()).toHaveLength(1);
    // The run itself succeeds; both tries of the generated file's download answer 503.
    h.sim.fail({ path: CONTENT, method: 'GET', status: 503, times: 2 });

    const first = await session.run('Total revenue by region');

    // One response made (and answered 200): that is the turn the caller now holds.
    expect(responses().map((r) => r.status)).toEqual([200]);
    expect(first.responseId).toBe((responses()[0]!.responseBody as { id: string }).id);
    expect(first.files.length).toBeGreaterThan(0);
    // The uncopied file is reported on the result, with the typed error, and on the error event.
    expect(first.persistErrors).toHaveLength(1);
    const [failed] = first.persistErrors!;
    expect(failed).toMatchObject({ containerId: first.containerId, fileId: first.files[0]!.fileId, filename: first.files[0]!.filename });
    expect(failed!.error).toBeInstanceOf(RetriesExhaustedError);
    expect(events.of('error')).toEqual([{ operation: 'persistGeneratedFiles', error: failed!.error }]);
    // Two download tries of that file went out and failed; no copy of it was made or tracked.
    expect(h.sim.requestsTo(CONTENT, 'GET').filter((r) => r.path.includes(failed!.fileId!)).map((r) => r.status)).toEqual([503, 503]);
    const copiedIds = () => session.trackedFiles.filter((f) => f.origin === 'generated').map((f) => f.containerFileId);
    expect(copiedIds()).not.toContain(failed!.fileId);
    // The run's other generated files were copied (one Files API create each, after the upload's).
    expect(fileCreates()).toHaveLength(1 + copiedIds().length);
    // The file is still in its container: downloadable now.
    expect(new TextDecoder().decode((await session.download(first.files[0]!)).bytes).length).toBeGreaterThan(0);

    // The next turn continues from the response the caller was given, and copies the file then.
    const second = await session.run('What did you just compute?');
    const sent = responses();
    expect(sent).toHaveLength(2);
    expect((sent[1]!.body as { previous_response_id?: string }).previous_response_id).toBe(first.responseId);
    expect(second.persistErrors).toEqual([]);
    expect(copiedIds()).toContain(failed!.fileId);

    await session.close();
    // Nothing left behind: the copy made by the second run is deleted by close().
    expect([...h.sim.files.values()].filter((f) => !f.deleted)).toEqual([]);
    expect([...h.sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true);
  });

  it('a failed listing: run() resolves, persistErrors names the container without a file id, cited files are still copied', async () => {
    const { session, events, responses, fileCreates } = setUp();
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    h.sim.fail({ path: LISTING, method: 'GET', status: 503, times: 2 });

    const result = await session.run('Total revenue by region');

    expect(responses().map((r) => r.status)).toEqual([200]);
    expect(result.persistErrors).toHaveLength(1);
    expect(result.persistErrors![0]).toMatchObject({ containerId: result.containerId });
    expect(result.persistErrors![0]!.fileId).toBeUndefined();
    expect(result.persistErrors![0]!.error).toBeInstanceOf(RetriesExhaustedError);
    expect(events.of('error').map((e) => e.operation)).toEqual(['persistGeneratedFiles']);
    // The cited files were copied all the same (the upload, then one copy each).
    expect(result.files.length).toBeGreaterThan(0);
    expect(fileCreates()).toHaveLength(1 + result.files.length);
    expect(session.trackedFiles.filter((f) => f.origin === 'generated').map((f) => f.containerFileId)).toEqual(result.files.map((f) => f.fileId));
    await session.close();
  });

  it('every copy made: persistErrors is empty; persistGeneratedFiles off: it is absent', async () => {
    const { session } = setUp();
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    expect((await session.run('Total revenue by region')).persistErrors).toEqual([]);
    await session.close();
    const plain = makeSession(h.client);
    await plain.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    expect((await plain.run('Total revenue by region')).persistErrors).toBeUndefined();
    await plain.close();
  });
});

// An abort (the caller's signal, timeoutMs) while the generated files are copied is not a failed
// copy: as docs/lifecycle.md promises ("Only an abort … rejects the run at that point", and an abort
// at any moment of a call rejects with its reason), run() rejects with the caller's own reason. What
// must hold besides: the copying stops at once (nothing is sent after the abort, not even the
// rest of the file being copied) and nothing is left behind in the Files API after close().
describe('persistGeneratedFiles when the caller aborts during the copies', () => {
  it.each([
    // [what, the size of each file (in repeats of its 5-character name), uploads begun when the abort comes]
    ['a small file (buffered, then uploaded)', 20_000, 1],
    ['a file over 16 MiB (streamed from its download into its upload, which is under way)', 3_600_000, 2],
  ])('mid-way through %s: the run rejects with the abort reason, nothing more is sent, close() leaves no file', async (_what, repeat, uploadsBegun) => {
    const names = ['a.csv', 'b.csv', 'c.csv'];
    h = withMsw({ respond: () => ({ code: 'write_files()', text: `Wrote ${names.join(', ')}.`, files: names.map((name) => ({ name, data: name.repeat(repeat) })) }) });
    const contentGets: string[] = [];
    let uploads = 0; // Files API creates the client began (as it sees them: a streamed one is recorded by the server only once its body is read)
    let stalled!: () => void;
    const reached = new Promise<void>((resolve) => (stalled = resolve));
    // The second file's content arrives half-way, then stalls until the request is aborted.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (init?.method === 'POST' && url.pathname === '/v1/files') uploads++;
      const response = await globalThis.fetch(input, init);
      if (!CONTENT.test(url.pathname.replace(/^\/v1/, '')) || contentGets.push(url.pathname) !== 2) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      const signal = init?.signal ?? undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, bytes.length / 2));
          stalled();
          signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const session = makeSession(new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0, fetch }), { persistGeneratedFiles: true });
    const events = recordEvents(session);
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const run = session.run('Write a.csv, b.csv and c.csv', { signal: controller.signal }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await reached;
    // A streamed copy's upload begins as its download's body starts: wait for it (no clock involved).
    while (uploads < uploadsBegun) await new Promise((resolve) => setTimeout(resolve, 5));
    const sentBefore = h.sim.requests.length;
    // The response exists, and the first file was copied already (one Files API create).
    expect(h.sim.requestsTo('/responses', 'POST').map((r) => r.status)).toEqual([200]);
    expect(h.sim.requestsTo('/files', 'POST').filter((r) => r.path === '/files' && r.status === 200)).toHaveLength(1);
    expect(uploads).toBe(uploadsBegun);
    controller.abort(reason);
    expect(await run).toBe(reason);
    expect(uploads).toBe(uploadsBegun);
    // Nothing made after the abort: no copy of the second file, no download of the third.
    const after = h.sim.requests.slice(sentBefore);
    expect(after.filter((r) => r.status !== undefined && r.status < 300).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(contentGets).toHaveLength(2);
    expect(events.of('error')).toEqual([]); // an abort is not a failed copy
    await session.close();
    expect([...h.sim.files.values()].filter((f) => !f.deleted)).toEqual([]);
    expect([...h.sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true);
  });
});
