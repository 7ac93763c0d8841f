// The simulator agrees with the real service where users meet it (issue #13): input files, limits,
// item references, the /responses endpoints, store:false, structured output, skills and secrets,
// background mode. Driven with the official `openai` client over msw and over real HTTP.
import { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { SALES_CSV, transports, type Harness, failure } from './helpers/sim.js';


const ask = (text: string, file: Record<string, unknown>) => [
  { role: 'user' as const, content: [{ type: 'input_text' as const, text }, { type: 'input_file' as const, ...file }] },
];
const annotationsOf = (r: { output: Array<{ type: string; content?: Array<{ annotations?: unknown[] }> }> }) =>
  r.output.flatMap((o) => (o.type === 'message' ? o.content!.flatMap((c) => c.annotations ?? []) : [])) as Array<{ filename: string; file_id: string; container_id: string }>;

describe.each(transports)('simulator faithful to the API over %s', (_name, make) => {
  let h: Harness;
  afterEach(async () => h?.close());

  describe('input_file parts are copied into the container', () => {
    it('file_id with an auto container: the chart the prompt names is written and cited', async () => {
      h = await make();
      const file = await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
      const r = await h.client.responses.create({
        model: 'gpt-5',
        tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
        input: ask('Plot total revenue by region and save it as chart.png', { file_id: file.id }) as never,
      });
      const citations = annotationsOf(r as never);
      expect(citations.map((a) => a.filename)).toContain('chart.png');
      const container = h.sim.containers.get(citations[0]!.container_id)!;
      const files = [...container.files.values()];
      expect(files.filter((f) => f.source === 'user').map((f) => [f.name, f.fileId])).toEqual([['sales.csv', file.id]]);
      const chart = files.find((f) => f.name === 'chart.png')!;
      expect(chart.source).toBe('assistant');
      const png = new Uint8Array(await (await h.client.containers.files.content.retrieve(chart.id, { container_id: container.id })).arrayBuffer());
      expect([...png.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
      expect(r.output_text).toContain('Total revenue by region');
    });

    it('file_data and file_url with an explicit container; "average" is not "total"', async () => {
      h = await make({ fileUrls: { 'https://example.com/data/sales.csv': SALES_CSV } });
      const c = await h.client.containers.create({ name: 'explicit' });
      const tools = [{ type: 'code_interpreter' as const, container: c.id }];
      const data = `data:text/csv;base64,${Buffer.from(SALES_CSV).toString('base64')}`;
      const avg = await h.client.responses.create({ model: 'gpt-5', tools, input: ask('Average revenue by region', { filename: 'sales.csv', file_data: data }) as never });
      // North: 240 and 150 -> 195 on average (the total would be 390).
      expect(avg.output_text).toContain('Average revenue by region');
      expect(avg.output_text).toContain('North 195');
      await h.client.responses.create({ model: 'gpt-5', tools, input: ask('Again', { filename: 'sales.csv', file_data: data }) as never });
      await h.client.responses.create({ model: 'gpt-5', tools, input: ask('From the web', { file_url: 'https://example.com/data/sales.csv' }) as never });
      const user = [...h.sim.containers.get(c.id)!.files.values()].filter((f) => f.source === 'user').map((f) => f.name);
      expect(user).toEqual(['sales.csv']); // the same file is copied once
    });

    it('a file_url it was not given is not invented: the answer says it is simulated and what to give', async () => {
      h = await make();
      const r = await h.client.responses.create({
        model: 'gpt-5',
        tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
        input: ask('Summarise', { file_url: 'https://example.com/unknown.csv' }) as never,
      });
      expect(r.output_text).toMatch(/Simulated answer/);
      expect(r.output_text).toContain('https://example.com/unknown.csv');
      expect(r.output_text).toContain('fileUrls');
    });

    it('an unknown file_id is refused with 404 before any container is made', async () => {
      h = await make();
      const e = await failure(h.client.responses.create({ model: 'gpt-5', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], input: ask('x', { file_id: 'file-nope' }) as never }));
      expect(e.status).toBe(404);
      expect(e.param).toBe('input[0].content[1].file_id');
      expect(h.sim.containers.size).toBe(0);
    });
  });

  it('expires_after.minutes must be 1 to 20, with the API error body', async () => {
    h = await make();
    const over = await failure(h.client.containers.create({ name: 'x', expires_after: { anchor: 'last_active_at', minutes: 21 } }));
    expect(over.status).toBe(400);
    expect(over.error).toEqual({
      message: "Invalid 'expires_after.minutes': integer above maximum value. Expected a value <= 20, but got 21 instead.",
      type: 'invalid_request_error',
      param: 'expires_after.minutes',
      code: 'integer_above_max_value',
    });
    expect((await failure(h.client.containers.create({ name: 'x', expires_after: { anchor: 'last_active_at', minutes: 0 } }))).code).toBe('integer_below_min_value');
    expect(await h.client.containers.create({ name: 'x', expires_after: { anchor: 'last_active_at', minutes: 20 } })).toMatchObject({ expires_after: { minutes: 20 } });
  });

  it('an item_reference to a code call of a dead container answers 400 Expected container_id, like previous_response_id', async () => {
    h = await make();
    const c = await h.client.containers.create({ name: 'refs', file_ids: [(await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' })).id] });
    const first = await h.client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: c.id }] });
    const call = first.output.find((o) => o.type === 'code_interpreter_call')!;
    const message = first.output.find((o) => o.type === 'message')!;
    const other = await h.client.containers.create({ name: 'other' });
    const tools = [{ type: 'code_interpreter' as const, container: other.id }];
    const refs = [{ type: 'item_reference' as const, id: call.id }, { type: 'item_reference' as const, id: message.id }, { role: 'user' as const, content: 'and by product?' }];
    expect((await h.client.responses.create({ model: 'gpt-5', tools, input: refs })).status).toBe('completed');
    h.sim.expire(c.id);
    const e = await failure(h.client.responses.create({ model: 'gpt-5', tools, input: refs }));
    expect(e.status).toBe(400);
    expect(e.message).toContain(`Expected container_id: ${c.id}`);
    const missing = await failure(h.client.responses.create({ model: 'gpt-5', tools, input: [{ type: 'item_reference', id: 'msg_nope' }] }));
    expect(missing.status).toBe(404);
  });

  it('GET, input_items, DELETE and cancel of /responses', async () => {
    h = await make();
    const r = await h.client.responses.create({ model: 'gpt-5', input: [{ role: 'user', content: 'hello' }] });
    expect((await h.client.responses.retrieve(r.id)).output_text).toBe(r.output_text);
    const items = await h.client.responses.inputItems.list(r.id);
    expect(items.data).toMatchObject([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }]);
    expect(items.data[0]!.id).toMatch(/^msg_/);
    expect((await failure(h.client.responses.cancel(r.id))).status).toBe(400); // not a background response
    await h.client.responses.delete(r.id);
    expect(h.sim.requestsTo(`/responses/${r.id}`, 'DELETE')[0]!.responseBody).toEqual({ id: r.id, object: 'response', deleted: true });
    expect((await failure(h.client.responses.retrieve(r.id))).status).toBe(404);
    expect((await failure(h.client.responses.create({ model: 'gpt-5', input: 'x', previous_response_id: r.id }))).code).toBe('previous_response_not_found');
  });

  it('store:false responses cannot be retrieved or chained to', async () => {
    h = await make();
    const r = await h.client.responses.create({ model: 'gpt-5', input: 'hello', store: false });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    expect((await failure(h.client.responses.retrieve(r.id))).status).toBe(404);
    const e = await failure(h.client.responses.create({ model: 'gpt-5', input: 'next', previous_response_id: r.id }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('previous_response_not_found');
    expect(e.message).toBe(`400 Previous response with id '${r.id}' not found.`);
  });

  it('gives user files /mnt/data/<hash>-name paths by default (uploads, file_ids, input_file), generated files the path the code wrote', async () => {
    h = await make();
    const file = await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'by-id.csv'), purpose: 'user_data' });
    const c = await h.client.containers.create({ name: 'paths', file_ids: [file.id] });
    const f = await h.client.containers.files.create(c.id, { file: await toFile(Buffer.from(SALES_CSV), 'sales.csv') });
    expect(f.path).toMatch(/^\/mnt\/data\/[0-9a-f]{32}-sales\.csv$/);
    const copied = await h.client.containers.files.create(c.id, { file_id: file.id });
    expect(copied.path).toMatch(/^\/mnt\/data\/[0-9a-f]{32}-by-id\.csv$/);
    const hashes = (await h.client.containers.files.list(c.id)).data.map((x) => x.path.slice('/mnt/data/'.length, '/mnt/data/'.length + 32));
    expect(new Set(hashes).size).toBe(hashes.length); // one hash per file
    const r = await h.client.responses.create({ model: 'gpt-5', input: 'revenue by region in sales.csv', tools: [{ type: 'code_interpreter', container: c.id }] });
    expect(r.output_text).toContain('in sales.csv'); // the model sees the file's name
    const call = r.output.find((o) => o.type === 'code_interpreter_call')!;
    expect(call.code).toContain(`pd.read_csv("${f.path}")`); // the code reads the real path
    const generated = [...h.sim.containers.get(c.id)!.files.values()].filter((x) => x.source === 'assistant').map((x) => x.path);
    expect(generated).toEqual(['/mnt/data/revenue_by_region.svg', '/mnt/data/revenue_by_region.csv']);
    const auto = await h.client.responses.create({
      model: 'gpt-5',
      tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'revenue by region' }, { type: 'input_file', file_id: file.id }] }],
    });
    const autoId = (auto.output.find((o) => o.type === 'code_interpreter_call') as { container_id: string }).container_id;
    expect([...h.sim.containers.get(autoId)!.files.values()].filter((x) => x.source === 'user').map((x) => x.path)).toEqual([
      expect.stringMatching(/^\/mnt\/data\/[0-9a-f]{32}-by-id\.csv$/),
    ]);
  });

  it('hashedFilePaths: false gives user files /mnt/data/<name> paths', async () => {
    h = await make({ hashedFilePaths: false });
    const c = await h.client.containers.create({ name: 'paths' });
    const f = await h.client.containers.files.create(c.id, { file: await toFile(Buffer.from(SALES_CSV), 'sales.csv') });
    expect(f.path).toBe('/mnt/data/sales.csv');
    await h.client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: c.id }] });
    expect([...h.sim.containers.get(c.id)!.files.values()].map((x) => x.path)).toEqual(['/mnt/data/sales.csv', '/mnt/data/revenue_by_region.svg', '/mnt/data/revenue_by_region.csv']);
  });

  it('json_schema structured output: JSON that fits the schema, no citations, generated files still in the container', async () => {
    h = await make();
    const c = await h.client.containers.create({ name: 'structured', file_ids: [(await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' })).id] });
    const schema = {
      type: 'object',
      properties: {
        summary: { type: 'string' },
        top_region: { type: 'string', enum: ['North', 'South', 'East'] },
        totals: { type: 'array', items: { type: 'object', properties: { region: { type: 'string' }, revenue: { type: 'number' } }, required: ['region', 'revenue'], additionalProperties: false } },
        count: { type: ['integer', 'null'] },
      },
      required: ['summary', 'top_region', 'totals', 'count'],
      additionalProperties: false,
    };
    const r = await h.client.responses.create({
      model: 'gpt-5',
      input: 'revenue by region',
      tools: [{ type: 'code_interpreter', container: c.id }],
      text: { format: { type: 'json_schema', name: 'totals', schema, strict: true } },
    });
    const value = JSON.parse(r.output_text) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['count', 'summary', 'top_region', 'totals']);
    expect(typeof value.summary).toBe('string');
    expect(value.top_region).toBe('East');
    expect(value.totals).toEqual([{ region: expect.any(String), revenue: expect.any(Number) }]);
    expect(Number.isInteger(value.count)).toBe(true);
    expect(annotationsOf(r as never)).toEqual([]);
    expect(r.text?.format).toMatchObject({ type: 'json_schema', name: 'totals' });
    const generated = [...h.sim.containers.get(c.id)!.files.values()].filter((f) => f.source === 'assistant');
    expect(generated.map((f) => f.name)).toEqual(['revenue_by_region.svg', 'revenue_by_region.csv']);
    const listed = await h.client.containers.files.list(c.id);
    expect(listed.data.filter((f) => f.source === 'assistant')).toHaveLength(2);
  });

  it('container skills and allow-list domain_secrets are kept for assertions and never echoed', async () => {
    h = await make();
    const secret = 'sk-live-very-secret-value';
    const skills = [
      { type: 'skill_reference' as const, skill_id: 'skill_abc', version: 'latest' },
      { type: 'inline' as const, name: 'csv', description: 'reads CSVs', source: { type: 'base64' as const, media_type: 'application/zip' as const, data: 'UEsDBA==' } },
    ];
    const network_policy = { type: 'allowlist' as const, allowed_domains: ['api.example.com'], domain_secrets: [{ domain: 'api.example.com', name: 'API_KEY', value: secret }] };
    const c = await h.client.containers.create({ name: 'skills', skills, network_policy } as never);
    const kept = h.sim.containers.get(c.id)!;
    expect(kept.skills).toEqual(skills);
    expect(kept.networkPolicy).toEqual(network_policy);
    expect(JSON.stringify(c)).not.toContain(secret);
    expect(JSON.stringify(await h.client.containers.retrieve(c.id))).not.toContain(secret);
    expect(JSON.stringify(await h.client.containers.list())).not.toContain(secret);
    expect(c.network_policy).toEqual({ type: 'allowlist', allowed_domains: ['api.example.com'] });
    const bad = await failure(h.client.containers.create({ name: 'x', network_policy: { ...network_policy, domain_secrets: [{ domain: 'other.com', name: 'K', value: secret }] } } as never));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.error)).not.toContain(secret);
    expect((await failure(h.client.containers.create({ name: 'x', skills: [{ type: 'skill_reference' }] } as never))).param).toBe('skills[0].skill_id');
  });

  it('background: queued, in_progress on the first poll, completed on the second; files appear on completion', async () => {
    h = await make();
    const c = await h.client.containers.create({ name: 'bg', file_ids: [(await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' })).id] });
    const tools = [{ type: 'code_interpreter' as const, container: c.id }];
    const r = await h.client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools, background: true });
    expect(r).toMatchObject({ status: 'queued', background: true, output: [] });
    expect([...h.sim.containers.get(c.id)!.files.values()].filter((f) => f.source === 'assistant')).toHaveLength(0);
    expect((await h.client.responses.retrieve(r.id)).status).toBe('in_progress');
    const done = await h.client.responses.retrieve(r.id);
    expect(done.status).toBe('completed');
    expect(done.id).toBe(r.id);
    expect(annotationsOf(done as never).map((a) => a.filename)).toEqual(['revenue_by_region.svg', 'revenue_by_region.csv']);
    expect((await h.client.responses.retrieve(r.id)).status).toBe('completed');

    const cancelled = await h.client.responses.create({ model: 'gpt-5', input: 'units by region', tools, background: true });
    expect((await h.client.responses.cancel(cancelled.id)).status).toBe('cancelled');
    expect((await h.client.responses.retrieve(cancelled.id)).status).toBe('cancelled');
    expect((await failure(h.client.responses.create({ model: 'gpt-5', input: 'x', background: true, store: false }))).status).toBe(400);
  });
});
