// result.generatedFiles: the files a run's code wrote, from one listing of the container, when no
// citation came back (structured output drops them) or when asked (issue #13 item 7).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRespond } from '../src/testing/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

let clock = Date.parse('2026-11-29T10:00:00Z');
/** A client whose transport drops every annotation from responses while `drop.on`, as the real service does under structured output. */
function droppingClient(drop: { on: boolean }): OpenAI {
  type Output = Array<{ type: string; content?: Array<{ annotations?: unknown[] }> }>;
  const clear = (output: Output) => {
    for (const item of output) for (const part of item.content ?? []) if (part.annotations) part.annotations = [];
  };
  const transport: typeof fetch = async (input, init) => {
    const answer = await fetch(input, init);
    if (!drop.on || !answer.ok || !String(input instanceof Request ? input.url : input).endsWith('/v1/responses')) return answer;
    if (answer.headers.get('content-type')?.startsWith('text/event-stream')) {
      // Streaming: no annotation events, and none in the final response.
      const blocks = (await answer.text()).split('\n\n').filter((block) => {
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        return !data || (JSON.parse(data.slice(6)) as { type?: string }).type !== 'response.output_text.annotation.added';
      });
      const text = blocks
        .map((block) =>
          block.replace(/^data: (.*)$/m, (_l, json: string) => {
            const event = JSON.parse(json) as { response?: { output?: Output }; part?: { annotations?: unknown[] }; item?: { content?: Array<{ annotations?: unknown[] }> } };
            if (event.response?.output) clear(event.response.output);
            if (event.item) clear([event.item as Output[number]]);
            if (event.part?.annotations) event.part.annotations = [];
            return `data: ${JSON.stringify(event)}`;
          }),
        )
        .join('\n\n');
      return new Response(text, { status: answer.status, headers: answer.headers });
    }
    const body = (await answer.json()) as { output: Output };
    clear(body.output);
    return Response.json(body, { status: answer.status, headers: answer.headers });
  };
  return new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0, fetch: transport });
}

function setUp(drop = { on: true }, overrides = {}) {
  // The default stand-in model, except that "hello" gets a plain answer without code.
  h = withMsw({ now: () => clock, respond: (turn) => (turn.input === 'hello' ? { text: 'Hello.' } : defaultRespond(turn)) });
  const session = makeSession(droppingClient(drop), overrides);
  const listings = () => h.sim.requests.filter((r) => r.method === 'GET' && /^\/containers\/[^/]+\/files$/.test(r.path)).length;
  return { session, listings };
}
const assistantFiles = (containerId: string) =>
  [...h.sim.containers.get(containerId)!.files.values()].filter((f) => f.source === 'assistant').map((f) => ({ containerId, fileId: f.id, filename: f.path.split('/').pop()! }));

describe('result.generatedFiles', () => {
  it('a structured-output run whose citations were dropped still returns the files its code wrote, and saveAll saves them', async () => {
    const drop = { on: false };
    const { session, listings } = setUp(drop);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const cited = await session.run('revenue by region');
    expect(cited.files).toHaveLength(2);
    expect(cited.generatedFiles).toBeUndefined(); // citations came back: no listing
    expect(listings()).toBe(0);

    clock += 60_000;
    drop.on = true;
    const before = new Set(assistantFiles(cited.containerId).map((f) => f.fileId));
    const result = await session.run('units by product', { request: { text: { format: { type: 'json_schema', name: 'totals', schema: { type: 'object' } } } } });
    expect(result.citations).toEqual([]);
    expect(result.files).toEqual([]);
    const written = assistantFiles(result.containerId).filter((f) => !before.has(f.fileId));
    expect(written.map((f) => f.filename).sort()).toEqual(['units_by_product.csv', 'units_by_product.svg']);
    expect(result.generatedFiles!.sort((a, b) => a.filename.localeCompare(b.filename))).toEqual(written.sort((a, b) => a.filename.localeCompare(b.filename)));
    expect(listings()).toBe(1); // the cost: one containers.files.list request (per 100 files)

    const dir = await mkdtemp(join(tmpdir(), 'cis-generated-'));
    const saved = await session.saveAll(result, dir);
    expect(saved.map((p) => p.split('/').pop()).sort()).toEqual(['units_by_product.csv', 'units_by_product.svg']);
    expect(await readFile(saved.find((p) => p.endsWith('.csv'))!, 'utf8')).toMatch(/^product,units/);
    await session.close();
  });

  it('costs no request when no code ran, when citations came back, or with listGeneratedFiles: "never"; one when "always"', async () => {
    const drop = { on: false };
    const { session, listings } = setUp(drop);
    const textOnly = await session.run('hello');
    expect(textOnly.codeCalls).toEqual([]);
    expect(textOnly.generatedFiles).toBeUndefined();
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    await session.run('revenue by region');
    expect(listings()).toBe(0);
    drop.on = true;
    const never = await session.run('units by region', { listGeneratedFiles: 'never' });
    expect(never.generatedFiles).toBeUndefined();
    expect(listings()).toBe(0);
    drop.on = false;
    clock += 60_000;
    const always = await session.run('revenue by product', { listGeneratedFiles: 'always' });
    expect(listings()).toBe(1);
    expect(always.generatedFiles!.map((f) => f.fileId).sort()).toEqual(always.files.map((f) => f.fileId).sort());
    await session.close();
  });

  it('shares the one listing with persistGeneratedFiles', async () => {
    const { session, listings } = setUp({ on: true }, { persistGeneratedFiles: true });
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('revenue by region');
    expect(result.generatedFiles).toHaveLength(2);
    expect(listings()).toBe(1);
    expect(session.trackedFiles.filter((f) => f.origin === 'generated')).toHaveLength(2);
    await session.close();
  });

  it('comes with the result event of stream()', async () => {
    const { session } = setUp();
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    let result;
    for await (const event of session.stream('revenue by region')) if (event.type === 'result') result = event.result;
    expect(result!.citations).toEqual([]);
    expect(result!.generatedFiles!.map((f) => f.filename).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    await session.close();
  });

  it('a failed listing does not lose the run: the result comes back without generatedFiles and the error is reported', async () => {
    const { session } = setUp({ on: true }, { retry: false });
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    h.sim.fail({ path: /^\/containers\/[^/]+\/files$/, method: 'GET', status: 500, times: 1 });
    const result = await session.run('revenue by region');
    expect(result.text).toMatch(/Total revenue by region/);
    expect(result.generatedFiles).toBeUndefined();
    expect(events.of('error')).toMatchObject([{ operation: 'listGeneratedFiles' }]);
    await session.close();
  });
});
