import fc from 'fast-check';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { RunResultSchema, parseRunResult, type RunResult } from '../src/index.js';
import { toRunEvent } from '../src/runs/events.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

describe('RunResult from a realistic run', () => {
  it('has every field', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('revenue by region', { metadata: { user: 'u1' } });
    const raw = h.sim.responses.get(result.responseId)!.response;
    expect(RunResultSchema.parse(result)).toBeTruthy();
    expect(result.responseId).toBe(raw.id);
    expect(result.containerId).toBe(session.containerId);
    expect(result.model).toBe('gpt-5');
    expect(result.status).toBe('completed');
    expect(result.text).toBe(result.raw.output_text);
    expect(result.text).toMatch(/^Total revenue by region in sales\.csv: East 550, North 390, South 240\./);
    expect(result.codeCalls).toEqual([
      {
        id: raw.output[0]!.id,
        code: expect.stringContaining('df.groupby("region")["revenue"].sum()'),
        status: 'completed',
        logs: 'region  revenue\nEast    550\nNorth   390\nSouth   240\nTOTAL   1180\n',
        images: [expect.stringMatching(/^data:image\/png;base64,/)],
        containerId: session.containerId,
      },
    ]);
    expect(result.citations.map((c) => c.filename)).toEqual(['revenue_by_region.svg', 'revenue_by_region.csv']);
    for (const c of result.citations) {
      expect(result.text.slice(c.startIndex, c.endIndex)).toBe(c.filename);
      expect(c.containerId).toBe(session.containerId);
      expect(c.fileId).toMatch(/^cfile_/);
    }
    expect(result.files).toEqual(result.citations.map(({ containerId, fileId, filename }) => ({ containerId, fileId, filename })));
    expect(result.usage).toEqual({ inputTokens: raw.usage!.input_tokens, outputTokens: raw.usage!.output_tokens, totalTokens: raw.usage!.total_tokens });
    expect(result.recovered).toBe(false);
    expect(result.raw.id).toBe(raw.id);
    await session.close();
  });

  it('lists a file cited twice once in `files`', () => {
    const citation = { type: 'container_file_citation', container_id: 'cntr_1', file_id: 'cfile_1', filename: 'a.png', start_index: 0, end_index: 5 };
    const result = parseRunResult(
      {
        id: 'resp_1',
        model: 'm',
        status: 'completed',
        output: [
          { type: 'message', content: [{ type: 'output_text', text: 'a.png a.png', annotations: [citation, { ...citation, start_index: 6, end_index: 11 }] }] },
          { type: 'brand_new_item', whatever: true },
          { type: 'message', content: [{ type: 'refusal', refusal: 'no' }, { type: 'output_text', text: '!', annotations: [{ type: 'mystery' }] }] },
        ],
      },
      { containerId: 'cntr_1', recovered: true },
    );
    expect(result.citations).toHaveLength(2);
    expect(result.files).toEqual([{ containerId: 'cntr_1', fileId: 'cfile_1', filename: 'a.png' }]);
    expect(result.text).toBe('a.png a.png!');
    expect(result.codeCalls).toEqual([]);
    expect(result.usage).toBeUndefined();
    expect(result.recovered).toBe(true);
  });
});

describe('a code_interpreter_call without container_id (only type, id and status are required)', () => {
  it('parses, falling back to the run\'s container, in results and in stream events', () => {
    const item = { type: 'code_interpreter_call', id: 'ci_1', status: 'completed', code: 'print(1)', outputs: [{ type: 'logs', logs: '1\n' }] };
    const result = parseRunResult({ id: 'resp_1', model: 'm', output: [item, { ...item, id: 'ci_2', container_id: 'cntr_other' }] }, { containerId: 'cntr_run', recovered: false });
    expect(result.codeCalls).toEqual([
      { id: 'ci_1', code: 'print(1)', status: 'completed', logs: '1\n', images: [], containerId: 'cntr_run' },
      { id: 'ci_2', code: 'print(1)', status: 'completed', logs: '1\n', images: [], containerId: 'cntr_other' },
    ]);
    expect(toRunEvent({ type: 'response.output_item.done', item: { type: 'code_interpreter_call', id: 'ci_3', status: 'completed' } }, 'cntr_run')).toEqual({
      type: 'call.completed',
      call: { id: 'ci_3', code: null, status: 'completed', logs: '', images: [], containerId: 'cntr_run' },
    });
  });

  it('parses in a real run whose response omits container_id', async () => {
    h = withMsw({ respond: () => ({ code: 'print(2 + 2)', logs: '4\n', text: 'Four.' }) });
    // A transport that drops container_id from every output item, as the spec allows.
    const stripping: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      if (!String(input instanceof Request ? input.url : input).endsWith('/v1/responses')) return answer;
      const body = (await answer.json()) as { output: Array<Record<string, unknown>> };
      for (const item of body.output) delete item.container_id;
      return Response.json(body, { status: answer.status, headers: answer.headers });
    };
    const session = makeSession(new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0, fetch: stripping }));
    const result = await session.run('2+2');
    expect((result.raw.output[0] as { container_id?: string }).container_id).toBeUndefined();
    expect(result.codeCalls).toMatchObject([{ code: 'print(2 + 2)', logs: '4\n', containerId: session.containerId }]);
    await session.close();
  });
});

// ---- property-based: anything the OpenAPI document allows parses, and no citation is dropped ----

const str = fc.string({ maxLength: 12 });
const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !['type', 'text', 'content', 'annotations'].includes(k)), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });
const index = fc.nat({ max: 200 });

const containerCitation = fc.record({
  type: fc.constant('container_file_citation'),
  container_id: str,
  file_id: str,
  filename: str,
  start_index: index,
  end_index: index,
});
const annotation = fc.oneof(
  containerCitation,
  fc.record({ type: fc.constant('file_citation'), file_id: str, filename: str, index }),
  fc.record({ type: fc.constant('url_citation'), url: str, title: str, start_index: index, end_index: index }),
  fc.record({ type: fc.constant('file_path'), file_id: str, index }),
  fc.record({ type: str.map((s) => `future_${s}`), anything: fc.jsonValue({ maxDepth: 1 }) }),
);
const contentPart = fc.oneof(
  fc.tuple(fc.record({ type: fc.constant('output_text'), text: str, annotations: fc.array(annotation, { maxLength: 4 }), logprobs: fc.constant([]) }), extra).map(([p, e]) => ({ ...e, ...p })),
  fc.record({ type: fc.constant('refusal'), refusal: str }),
  fc.record({ type: str.map((s) => `part_${s}`), data: fc.jsonValue({ maxDepth: 1 }) }),
);
const codeOutput = fc.oneof(
  fc.record({ type: fc.constant('logs'), logs: str }),
  fc.record({ type: fc.constant('image'), url: str }),
  fc.record({ type: str.map((s) => `out_${s}`) }),
);
const outputItem = fc.oneof(
  fc.record({ type: fc.constant('message'), id: str, role: fc.constant('assistant'), status: fc.constantFrom('in_progress', 'completed', 'incomplete'), content: fc.array(contentPart, { maxLength: 3 }) }),
  // Only type, id and status are required by the OpenAPI document (container_id, code, outputs may be absent).
  fc.record(
    {
      type: fc.constant('code_interpreter_call'),
      id: str,
      status: fc.constantFrom('in_progress', 'completed', 'incomplete', 'interpreting', 'failed'),
      container_id: str,
      code: fc.option(str, { nil: null }),
      outputs: fc.option(fc.array(codeOutput, { maxLength: 3 }), { nil: null }),
    },
    { requiredKeys: ['type', 'id', 'status'] },
  ),
  fc.record({ type: fc.constant('function_call'), id: str, call_id: str, name: str, arguments: str, status: fc.constant('completed') }),
  fc.record({ type: fc.constant('web_search_call'), id: str, status: fc.constant('completed'), action: fc.constant({ type: 'search', query: 'q' }) }),
  fc.record({ type: fc.constant('file_search_call'), id: str, status: fc.constant('completed'), queries: fc.array(str, { maxLength: 2 }), results: fc.constant(null) }),
  fc.record({ type: fc.constant('reasoning'), id: str, summary: fc.constant([]) }),
  fc.record({ type: fc.constant('image_generation_call'), id: str, status: fc.constant('completed'), result: fc.option(str, { nil: null }) }),
  fc.record({ type: str.map((s) => `item_${s}`), payload: fc.jsonValue({ maxDepth: 2 }) }),
);
const response = fc.record(
  {
    id: str,
    object: fc.constant('response'),
    created_at: fc.nat(),
    model: str,
    status: fc.constantFrom('completed', 'failed', 'in_progress', 'cancelled', 'queued', 'incomplete'),
    output: fc.array(outputItem, { maxLength: 6 }),
    usage: fc.option(fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat(), total_tokens: fc.nat(), input_tokens_details: fc.constant({ cached_tokens: 0 }) }), { nil: null }),
    error: fc.constant(null),
    incomplete_details: fc.constant(null),
  },
  { requiredKeys: ['id', 'object', 'created_at', 'model', 'output'] },
);

/** The SDK's `output_text`: every output_text part of every message, joined with "". */
function sdkOutputText(raw: { output: Array<{ type: string; content?: Array<{ type: string; text?: string }> }> }): string {
  return raw.output.flatMap((item) => (item.type === 'message' ? (item.content ?? []).filter((p) => p.type === 'output_text').map((p) => p.text) : [])).join('');
}

describe('parsing any response the API may send', () => {
  it('never throws, never drops a container_file_citation, and matches output_text', () => {
    fc.assert(
      fc.property(response, (raw) => {
        let result: RunResult | undefined;
        expect(() => (result = parseRunResult(raw, { containerId: 'c', recovered: false }))).not.toThrow();
        const cited = raw.output.flatMap((item) =>
          item.type === 'message' && 'content' in item
            ? (item.content as Array<{ type: string; annotations?: Array<{ type: string }> }>).flatMap((p) =>
                p.type === 'output_text' ? (p.annotations ?? []).filter((a) => a.type === 'container_file_citation') : [],
              )
            : [],
        );
        expect(result!.citations).toHaveLength(cited.length);
        expect(new Set(result!.files.map((f) => f.fileId)).size).toBe(result!.files.length);
        expect(result!.text).toBe(sdkOutputText(raw as never));
        const calls = raw.output.filter((i) => i.type === 'code_interpreter_call') as Array<{ container_id?: string }>;
        expect(result!.codeCalls).toHaveLength(calls.length);
        expect(result!.codeCalls.map((c) => c.containerId)).toEqual(calls.map((c) => c.container_id ?? 'c'));
        expect(result!.raw).toBe(raw);
      }),
      { numRuns: 500 },
    );
  });
});
