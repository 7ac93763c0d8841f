import { APIConnectionError, toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { generatedContent } from '../src/testing/index.js';
import { SALES_CSV, transports, type Harness, failure, unhashedPath } from './helpers/sim.js';


const csvFile = () => toFile(Buffer.from(SALES_CSV), 'sales.csv');

describe.each(transports)('simulator over %s', (_name, make) => {
  let h: Harness;
  afterEach(async () => h?.close());

  describe('containers', () => {
    it('creates, retrieves, lists with cursor pagination and deletes', async () => {
      h = await make();
      const created = [];
      for (let i = 0; i < 5; i++) created.push(await h.client.containers.create({ name: i % 2 ? 'odd' : 'even', memory_limit: '4g' }));
      expect(created[0]).toMatchObject({ object: 'container', name: 'even', status: 'running', memory_limit: '4g' });
      expect(created[0]!.id).toMatch(/^cntr_[0-9a-f]{48}$/);
      expect(await h.client.containers.retrieve(created[1]!.id)).toMatchObject({ id: created[1]!.id, status: 'running' });

      const first = await h.client.containers.list({ limit: 2, order: 'asc' });
      expect(first.data.map((c) => c.id)).toEqual([created[0]!.id, created[1]!.id]);
      expect(first.has_more).toBe(true);
      const second = await h.client.containers.list({ limit: 2, order: 'asc', after: created[1]!.id });
      expect(second.data.map((c) => c.id)).toEqual([created[2]!.id, created[3]!.id]);
      const desc = await h.client.containers.list({ limit: 1 });
      expect(desc.data[0]!.id).toBe(created[4]!.id);
      const named = await h.client.containers.list({ name: 'odd' });
      expect(named.data.map((c) => c.name)).toEqual(['odd', 'odd']);
      // The SDK's auto-pagination walks every page.
      const all = [];
      for await (const c of h.client.containers.list({ limit: 2 })) all.push(c.id);
      expect(all).toHaveLength(5);

      await h.client.containers.delete(created[0]!.id);
      expect(h.sim.requests.at(-1)).toMatchObject({ status: 200, responseBody: { id: created[0]!.id, object: 'container.deleted', deleted: true } });
      expect((await failure(h.client.containers.retrieve(created[0]!.id))).status).toBe(404);
      expect(h.sim.containers.get(created[0]!.id)!.status).toBe('deleted');
    });

    it("says how long it spent on each request, as OpenAI does (`openai-processing-ms`, whole ms rounded down)", async () => {
      h = await make({ latencyMs: 40 });
      const { response } = await h.client.containers.create({ name: 'timed' }).withResponse();
      const spent = response.headers.get('openai-processing-ms');
      expect(spent).toMatch(/^\d+$/);
      expect(Number(spent)).toBeGreaterThanOrEqual(39); // the simulated latency, measured on a clock that may round it down
      const failed = await failure(h.client.containers.retrieve('cntr_missing'));
      expect(failed.headers?.get('openai-processing-ms')).toMatch(/^\d+$/);
    });

    it('validates like the real service', async () => {
      h = await make();
      const noName = await failure(h.client.containers.create({} as never));
      expect(noName.status).toBe(400);
      expect(noName.message).toBe("400 Missing required parameter: 'name'.");
      expect(noName.param).toBe('name');
      const memory = await failure(h.client.containers.create({ name: 'x', memory_limit: '2g' as never }));
      expect(memory.status).toBe(400);
      expect(memory.message).toContain("Invalid value: '2g'");
      expect(memory.param).toBe('memory_limit');
      const policy = await failure(h.client.containers.create({ name: 'x', network_policy: { type: 'allowlist' } as never }));
      expect(policy.param).toBe('network_policy.allowed_domains');
      const expires = await failure(h.client.containers.create({ name: 'x', expires_after: { anchor: 'last_active_at', minutes: 0 } }));
      expect(expires.param).toBe('expires_after.minutes');
      const unknownFile = await failure(h.client.containers.create({ name: 'x', file_ids: ['file-nope'] }));
      expect(unknownFile.status).toBe(404);
      expect((await failure(h.client.containers.retrieve('cntr_unknown'))).status).toBe(404);
      expect((await failure(h.client.containers.list({ limit: 101 }))).status).toBe(400);
      const error = h.sim.requests.at(-1)!.responseBody as { error: Record<string, unknown> };
      expect(Object.keys(error.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    });

    it('keeps network policy and expiry settings', async () => {
      h = await make();
      const c = await h.client.containers.create({
        name: 'n',
        expires_after: { anchor: 'last_active_at', minutes: 5 },
        network_policy: { type: 'allowlist', allowed_domains: ['pypi.org'] },
      });
      expect(c.expires_after).toEqual({ anchor: 'last_active_at', minutes: 5 });
      expect(c.network_policy).toEqual({ type: 'allowlist', allowed_domains: ['pypi.org'] });
    });
  });

  describe('files and container files', () => {
    it('uploads to the Files API, reads metadata and content, deletes', async () => {
      h = await make();
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      expect(file).toMatchObject({ object: 'file', filename: 'sales.csv', purpose: 'user_data', bytes: SALES_CSV.length });
      expect(file.id).toMatch(/^file-/);
      expect(await h.client.files.retrieve(file.id)).toMatchObject({ id: file.id });
      expect(await (await h.client.files.content(file.id)).text()).toBe(SALES_CSV);
      expect(await h.client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
      expect((await failure(h.client.files.retrieve(file.id))).status).toBe(404);
      const badPurpose = await failure(h.client.files.create({ file: await csvFile(), purpose: 'nonsense' as never }));
      expect(badPurpose.param).toBe('purpose');
    });

    it('creates container files by multipart and by file_id, lists, retrieves, serves and deletes them', async () => {
      h = await make();
      const c = await h.client.containers.create({ name: 'f' });
      const uploaded = await h.client.containers.files.create(c.id, { file: await toFile(Buffer.from('hello'), 'hello.txt') });
      expect(uploaded).toMatchObject({ object: 'container.file', container_id: c.id, bytes: 5, path: expect.stringMatching(/^\/mnt\/data\/[0-9a-f]{32}-hello\.txt$/), source: 'user' });
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      const byId = await h.client.containers.files.create(c.id, { file_id: file.id });
      expect(byId).toMatchObject({ path: expect.stringMatching(/^\/mnt\/data\/[0-9a-f]{32}-sales\.csv$/), bytes: SALES_CSV.length });
      const page = await h.client.containers.files.list(c.id, { limit: 1, order: 'asc' });
      expect(page.data.map((f) => f.id)).toEqual([uploaded.id]);
      expect(page.has_more).toBe(true);
      expect(await h.client.containers.files.retrieve(byId.id, { container_id: c.id })).toMatchObject({ id: byId.id });
      const content = await h.client.containers.files.content.retrieve(byId.id, { container_id: c.id });
      expect(content.headers.get('content-type')).toBe('text/csv');
      expect(await content.text()).toBe(SALES_CSV);
      await h.client.containers.files.delete(uploaded.id, { container_id: c.id });
      expect((await failure(h.client.containers.files.retrieve(uploaded.id, { container_id: c.id }))).status).toBe(404);
      expect((await failure(h.client.containers.files.create(c.id, {} as never))).status).toBe(400);
    });

    it('serves generated content of any size without holding it', async () => {
      h = await make();
      const c = await h.client.containers.create({ name: 'big' });
      const f = h.sim.addContainerFile(c.id, { name: 'big.bin', content: generatedContent(3 * 1024 * 1024 + 5) });
      const response = await h.client.containers.files.content.retrieve(f.id, { container_id: c.id });
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(bytes.length).toBe(3 * 1024 * 1024 + 5);
      expect(bytes[1_000_000]).toBe((1_000_000 * 31 + 7) & 0xff);
    });
  });

  describe('responses', () => {
    async function containerWithCsv() {
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      return h.client.containers.create({ name: 'r', file_ids: [file.id] });
    }

    it('runs the default model on a CSV: real totals, logs, image, files written and cited', async () => {
      h = await make();
      const c = await containerWithCsv();
      const r = await h.client.responses.create({
        model: 'gpt-5',
        input: 'Total revenue by region please',
        tools: [{ type: 'code_interpreter', container: c.id }],
        include: ['code_interpreter_call.outputs'],
      });
      const call = r.output.find((o) => o.type === 'code_interpreter_call')!;
      expect(call).toMatchObject({ status: 'completed', container_id: c.id });
      expect(call.type === 'code_interpreter_call' && call.outputs?.[0]).toEqual({
        type: 'logs',
        logs: 'region  revenue\nEast    550\nNorth   390\nSouth   240\nTOTAL   1180\n',
      });
      expect(call.type === 'code_interpreter_call' && call.outputs?.[1]).toMatchObject({ type: 'image', url: expect.stringMatching(/^data:image\/png;base64,iVBOR/) });
      expect(r.output_text).toContain('East 550, North 390, South 240');
      const message = r.output.find((o) => o.type === 'message')!;
      const part = message.type === 'message' ? message.content[0]! : undefined;
      const annotations = part && part.type === 'output_text' ? part.annotations : [];
      expect(annotations).toHaveLength(2);
      for (const a of annotations) {
        expect(a.type).toBe('container_file_citation');
        if (a.type !== 'container_file_citation') continue;
        expect(r.output_text.slice(a.start_index, a.end_index)).toBe(a.filename);
        expect(a.container_id).toBe(c.id);
      }
      const files = await h.client.containers.files.list(c.id);
      const assistant = files.data.filter((f) => f.source === 'assistant').map((f) => f.path).sort();
      expect(assistant).toEqual(['/mnt/data/revenue_by_region.csv', '/mnt/data/revenue_by_region.svg']);
      const svgId = annotations.find((a) => a.type === 'container_file_citation' && a.filename.endsWith('.svg'));
      const svg = await (await h.client.containers.files.content.retrieve((svgId as { file_id: string }).file_id, { container_id: c.id })).text();
      expect(svg).toContain('<svg');
      expect(svg).toContain('East');
    });

    it('omits outputs unless included, and answers without code for tool_choice none', async () => {
      h = await make();
      const c = await containerWithCsv();
      const r = await h.client.responses.create({ model: 'm', input: 'units by product', tools: [{ type: 'code_interpreter', container: c.id }] });
      expect(r.output[0]).toMatchObject({ type: 'code_interpreter_call', outputs: null });
      const none = await h.client.responses.create({ model: 'm', input: 'hi', tool_choice: 'none', tools: [{ type: 'code_interpreter', container: c.id }] });
      expect(none.output.map((o) => o.type)).toEqual(['message']);
    });

    it('takes a custom respond, sees history through previous_response_id, and forces code with tool_choice required', async () => {
      const seen: Array<{ input: string; history: number; files: string[] }> = [];
      h = await make({
        respond: (turn) => {
          seen.push({ input: turn.input, history: turn.history.length, files: turn.files.map((f) => f.name) });
          return { text: `echo ${turn.input}` };
        },
      });
      const c = await containerWithCsv();
      const tools = [{ type: 'code_interpreter' as const, container: c.id }];
      const first = await h.client.responses.create({ model: 'm', input: 'one', tools });
      const second = await h.client.responses.create({ model: 'm', input: 'two', tools, previous_response_id: first.id, tool_choice: 'required' });
      expect(second.output_text).toBe('echo two');
      expect(second.output[0]).toMatchObject({ type: 'code_interpreter_call', code: "print('done')" });
      expect(seen).toEqual([
        { input: 'one', history: 0, files: ['sales.csv'] },
        { input: 'two', history: 2, files: ['sales.csv'] },
      ]);
    });

    it('creates an auto container per response', async () => {
      h = await make();
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      const r = await h.client.responses.create({ model: 'm', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: [file.id] } }] });
      const call = r.output[0]!;
      expect(call.type).toBe('code_interpreter_call');
      const auto = h.sim.containers.get((call as { container_id: string }).container_id)!;
      expect([...auto.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');
    });

    it('validates like the real service', async () => {
      h = await make();
      const missing = await failure(h.client.responses.create({ model: 'm', input: 'x', tools: [{ type: 'code_interpreter' } as never] }));
      expect(missing.status).toBe(400);
      expect(missing.message).toBe("400 Missing required parameter: 'tools[0].container'.");
      expect((await failure(h.client.responses.create({ input: 'x' } as never))).param).toBe('model');
      const prev = await failure(h.client.responses.create({ model: 'm', input: 'x', previous_response_id: 'resp_nope' }));
      expect(prev).toMatchObject({ status: 400, code: 'previous_response_not_found' });
      expect((await failure(h.client.responses.create({ model: 'm', input: 'x', tools: [{ type: 'code_interpreter', container: 'cntr_nope' }] }))).status).toBe(404);
    });

    it('streams the documented event sequence, ending in the same response', async () => {
      h = await make();
      const c = await containerWithCsv();
      const stream = await h.client.responses.create({
        model: 'm',
        input: 'revenue by region',
        stream: true,
        tools: [{ type: 'code_interpreter', container: c.id }],
        include: ['code_interpreter_call.outputs'],
      });
      const types: string[] = [];
      let completed: unknown;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.completed') completed = event.response;
      }
      const unique = types.filter((t, i) => t !== types[i - 1]);
      expect(unique).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.code_interpreter_call.in_progress',
        'response.code_interpreter_call_code.delta',
        'response.code_interpreter_call_code.done',
        'response.code_interpreter_call.interpreting',
        'response.code_interpreter_call.completed',
        'response.output_item.done',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.annotation.added',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      const record = h.sim.requestsTo('/responses').at(-1)!;
      expect(record.events!.map((e) => (e.data as { sequence_number: number }).sequence_number)).toEqual(types.map((_, i) => i));
      expect((completed as { id: string }).id).toBe([...h.sim.responses.keys()].at(-1));
    });
  });

  describe('expiry', () => {
    it('expires idle containers on its clock, keeps them retrievable and refuses their use', async () => {
      let now = 1_800_000_000_000;
      h = await make({ now: () => now, expireAfterIdleMs: 60_000 });
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      const c = await h.client.containers.create({ name: 'e', file_ids: [file.id] });
      now += 59_000;
      await h.client.containers.retrieve(c.id); // any container operation refreshes last_active_at
      now += 59_000;
      await h.client.containers.files.list(c.id);
      now += 59_000;
      expect((await h.client.containers.retrieve(c.id)).status).toBe('running');
      now += 60_000;
      const expired = await h.client.containers.retrieve(c.id);
      expect(expired.status).toBe('expired');
      expect(expired.last_active_at).toBe(Math.floor((now - 60_000) / 1000));
      const run = await failure(h.client.responses.create({ model: 'm', input: 'x', tools: [{ type: 'code_interpreter', container: c.id }] }));
      expect(run.status).toBe(400);
      expect(run.message).toBe('400 Container is expired.');
      expect(run.error).toEqual({ message: 'Container is expired.', type: 'invalid_request_error', param: null, code: null });
      expect((await failure(h.client.containers.files.list(c.id))).status).toBe(404);
      expect(h.sim.containers.get(c.id)!.files.size).toBe(0);
    });

    it('sim.expire() expires now, and a chain replaying its code calls fails with Expected container_id', async () => {
      h = await make();
      const file = await h.client.files.create({ file: await csvFile(), purpose: 'user_data' });
      const c = await h.client.containers.create({ name: 'e', file_ids: [file.id] });
      const first = await h.client.responses.create({ model: 'm', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: c.id }] });
      h.sim.expire(c.id);
      const fresh = await h.client.containers.create({ name: 'e2', file_ids: [file.id] });
      const chained = await failure(
        h.client.responses.create({ model: 'm', input: 'again', previous_response_id: first.id, tools: [{ type: 'code_interpreter', container: fresh.id }] }),
      );
      expect(chained.status).toBe(400);
      expect(chained.message).toMatch(new RegExp(`^400 Expected container_id: ${c.id}`));
      const replayed = await failure(
        h.client.responses.create({
          model: 'm',
          input: [first.output[0] as never, { role: 'user', content: 'again' }],
          tools: [{ type: 'code_interpreter', container: fresh.id }],
        }),
      );
      expect(replayed.message).toMatch(/^400 Expected container_id/);
    });
  });

  describe('faults and the org rate limit', () => {
    it('injects statuses with Retry-After, connection resets, and stops after `times`', async () => {
      h = await make();
      h.sim.fail({ path: '/containers', method: 'POST', status: 429, retryAfterSeconds: 2, times: 2 });
      const first = await failure(h.client.containers.create({ name: 'x' }));
      expect(first.status).toBe(429);
      expect(first.headers?.get('retry-after')).toBe('2');
      expect(first.headers?.get('retry-after-ms')).toBe('2000');
      await failure(h.client.containers.create({ name: 'x' }));
      expect((await h.client.containers.create({ name: 'x' })).status).toBe('running');
      h.sim.fail({ status: 503 });
      expect((await failure(h.client.containers.list())).status).toBe(503);
      h.sim.fail({ path: /^\/files/, status: 'reset' });
      await expect(h.client.files.list()).rejects.toBeInstanceOf(APIConnectionError);
      h.sim.fail({ status: 500, body: { error: { message: 'custom', type: 'server_error', param: null, code: 'x' } } });
      expect((await failure(h.client.containers.list())).message).toBe('500 custom');
      expect(h.sim.requests.map((r) => r.status)).toEqual([429, 429, 200, 503, 0, 500]);
    });

    it('can lose the answer of a request it carried out', async () => {
      h = await make();
      h.sim.fail({ path: '/containers', method: 'POST', status: 500, lostResponse: true });
      expect((await failure(h.client.containers.create({ name: 'made' }))).status).toBe(500);
      expect([...h.sim.containers.values()].map((c) => [c.name, c.status])).toEqual([['made', 'running']]);
      expect(h.sim.requests[0]).toMatchObject({ status: 500, rejectedBy: 'fault' });
    });

    it('answers 429 with Retry-After past a sliding-window org limit', async () => {
      let now = 1_000_000;
      h = await make({ now: () => now, rateLimit: { limit: 3, intervalMs: 10_000 } });
      for (let i = 0; i < 3; i++) {
        await h.client.containers.list();
        now += 1000;
      }
      const limited = await failure(h.client.containers.list());
      expect(limited.status).toBe(429);
      expect(limited.code).toBe('rate_limit_exceeded');
      expect(limited.headers?.get('retry-after-ms')).toBe('7000');
      expect(limited.headers?.get('retry-after')).toBe('7');
      now += 7000;
      await h.client.containers.list();
    });

    it('refuses requests without an API key', async () => {
      h = await make();
      const response = await h.sim.handle(new Request('https://api.openai.com/v1/containers'));
      expect(response.status).toBe(401);
      const unknown = await h.sim.handle(new Request('https://api.openai.com/v1/nothing', { headers: { authorization: 'Bearer x' } }));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe('Invalid URL (GET /v1/nothing)');
    });
  });

  it('logs every request with its body and never the API key', async () => {
    h = await make();
    await h.client.containers.create({ name: 'logged' });
    const [record] = h.sim.requests;
    expect(record).toMatchObject({ method: 'POST', path: '/containers', body: { name: 'logged' }, status: 200 });
    expect(JSON.stringify(h.sim.requests)).not.toContain('SECRET');
  });
});
