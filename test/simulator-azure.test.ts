// The simulator's Azure mode (issue #14), driven with `AzureOpenAI` from `openai` over msw and over
// real HTTP: Azure's URL shapes, api-version, api-key, the refused retrieve, the 64-character
// limits and the opt-in persistent content 500.
import { setupServer } from 'msw/node';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { AZURE_RETRIEVE_REFUSAL, createSimulator, DEFAULT_AZURE_ENDPOINT, type SimulatorKit, type SimulatorOptions } from '../src/testing/index.js';
import { failure, SALES_CSV, unhashedPath } from './helpers/sim.js';

const API_VERSION = '2025-04-01-preview';
const KEY = 'azure-key-0123456789abcdef';

type AzureHarness = { sim: SimulatorKit; client: AzureOpenAI; endpoint: string; close: () => unknown };

const modes: Array<[string, (options: SimulatorOptions) => Promise<AzureHarness>]> = [
  [
    'msw',
    async (options) => {
      const sim = createSimulator(options);
      const server = setupServer(...sim.handlers);
      server.listen({ onUnhandledFrame: 'error' });
      const client = new AzureOpenAI({ endpoint: DEFAULT_AZURE_ENDPOINT, apiVersion: API_VERSION, apiKey: KEY, maxRetries: 0 });
      return { sim, client, endpoint: DEFAULT_AZURE_ENDPOINT, close: () => server.close() };
    },
  ],
  [
    'http',
    async (options) => {
      const sim = createSimulator(options);
      const server = await sim.listen();
      const client = new AzureOpenAI({ endpoint: server.endpoint, apiVersion: API_VERSION, apiKey: KEY, maxRetries: 0 });
      return { sim, client, endpoint: server.endpoint, close: () => server.close() };
    },
  ],
];

describe.each(modes)('simulator in Azure mode over %s', (_name, make) => {
  let h: AzureHarness;
  afterEach(async () => h?.close());

  it('serves AzureOpenAI: /openai/ paths, api-version and api-key on every request; retrieve refused as users report', async () => {
    h = await make({ azure: true });
    const file = await h.client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
    const c = await h.client.containers.create({ name: 'azure', file_ids: [file.id] });
    expect(c.id.length).toBeLessThanOrEqual(64);
    const refused = await failure(h.client.containers.retrieve(c.id));
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({ message: AZURE_RETRIEVE_REFUSAL, code: 'OperationNotSupported' });
    expect((await h.client.containers.files.list(c.id)).data.map(unhashedPath)).toEqual(['/mnt/data/sales.csv']);
    const r = await h.client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: c.id }] });
    const cited = r.output.flatMap((o) => (o.type === 'message' ? o.content.flatMap((p) => (p.type === 'output_text' ? p.annotations : [])) : []));
    const chart = cited.find((a) => a.type === 'container_file_citation')!;
    expect(chart).toBeDefined();
    const bytes = await (await h.client.containers.files.content.retrieve((chart as { file_id: string }).file_id, { container_id: c.id })).text();
    expect(bytes).toContain('<svg');
    await h.client.containers.delete(c.id);

    expect(h.sim.requests.length).toBe(7);
    for (const record of h.sim.requests) {
      expect(record.path.startsWith('/openai')).toBe(false); // the API path, as for api.openai.com
      expect(record.query['api-version']).toBe(API_VERSION);
      expect(record.headers['api-key']).toBe('[redacted]');
      expect(record.headers.authorization).toBeUndefined();
    }
    expect(JSON.stringify(h.sim.requests)).not.toContain(KEY);
  });

  it('refuses a request without api-version or key the way Azure does, and serves the v1 surface without api-version', async () => {
    h = await make({ azure: { apiVersions: [API_VERSION] } });
    const at = (path: string, headers: Record<string, string>) => fetch(`${h.endpoint}${path}`, { headers });
    expect((await at('/openai/files', { 'api-key': KEY })).status).toBe(404);
    expect((await at('/openai/files?api-version=1999-01-01', { 'api-key': KEY })).status).toBe(404);
    const noKey = await at(`/openai/files?api-version=${API_VERSION}`, {});
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { message: string } }).error.message).toMatch(/^Access denied due to invalid subscription key/);
    expect((await at(`/openai/files?api-version=${API_VERSION}`, { 'api-key': KEY })).status).toBe(200);
    const v1 = new OpenAI({ baseURL: `${h.endpoint}/openai/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await v1.containers.create({ name: 'v1' })).object).toBe('container');
  });

  it('container ids and names over 64 characters are refused; retrieve can be allowed; content can fail for good', async () => {
    h = await make({ azure: { refuseContainerRetrieve: false, failFileContent: true } });
    const name = await failure(h.client.containers.create({ name: 'n'.repeat(65) }));
    expect([name.status, name.code, name.param]).toEqual([400, 'string_above_max_length', 'name']);
    const id = await failure(h.client.responses.create({ model: 'gpt-5', input: 'x', tools: [{ type: 'code_interpreter', container: `cntr_${'a'.repeat(60)}` }] }));
    expect([id.status, id.param]).toEqual([400, 'tools[0].container']);
    const c = await h.client.containers.create({ name: 'ok' });
    expect((await h.client.containers.retrieve(c.id)).id).toBe(c.id);
    const f = await h.client.containers.files.create(c.id, { file: await toFile(Buffer.from('x'), 'x.txt') });
    for (let i = 0; i < 3; i++) expect((await failure(h.client.containers.files.content.retrieve(f.id, { container_id: c.id }))).status).toBe(500);
  });

  it('containers are region-local: an id this resource never made is "Container not found", on container calls and in a run', async () => {
    h = await make({ azure: true });
    const elsewhere = 'cntr_0123456789abcdef0123456789abcdef0123456789abcdef';
    for (const call of [
      h.client.containers.files.list(elsewhere),
      h.client.containers.delete(elsewhere),
      h.client.responses.create({ model: 'gpt-5', input: 'x', tools: [{ type: 'code_interpreter', container: elsewhere }] }),
    ]) {
      const error = await failure(call);
      expect([error.status, error.error]).toEqual([404, { message: 'Container not found', type: 'invalid_request_error', param: null, code: null }]);
    }
    // Retrieve is refused before the id is looked at; a deleted container of this resource is the API's usual 404.
    expect((await failure(h.client.containers.retrieve(elsewhere))).error).toMatchObject({ message: AZURE_RETRIEVE_REFUSAL });
    const c = await h.client.containers.create({ name: 'here' });
    await h.client.containers.delete(c.id);
    expect((await failure(h.client.containers.files.list(c.id))).message).toMatch(/No container found with id/);
  });
});
