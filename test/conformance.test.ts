import { AzureOpenAI, toFile } from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeInterpreterSession, createRateLimiter } from '../src/index.js';
import { createSimulator } from '../src/testing/index.js';
import { checkConformance } from './helpers/openapi.js';
import { SALES_CSV, transports, USER_FILE_PATH, type Harness } from './helpers/sim.js';

/** Every operation the simulator implements, and the statuses the scenario must show for it. */
const EXPECTED = [
  'POST /containers 200',
  'POST /containers 400',
  'POST /containers 429',
  'GET /containers 200',
  'GET /containers/{container_id} 200',
  'GET /containers/{container_id} 404',
  'DELETE /containers/{container_id} 200',
  'POST /containers/{container_id}/files 200',
  'GET /containers/{container_id}/files 200',
  'GET /containers/{container_id}/files 404',
  'GET /containers/{container_id}/files/{file_id} 200',
  'DELETE /containers/{container_id}/files/{file_id} 200',
  'GET /containers/{container_id}/files/{file_id}/content 200',
  'POST /files 200',
  'POST /files 400',
  'POST /files 413',
  'GET /files 200',
  'GET /files 500',
  'GET /files/{file_id} 200',
  'GET /files/{file_id} 404',
  'GET /files/{file_id}/content 200',
  'DELETE /files/{file_id} 200',
  'POST /responses 200',
  'POST /responses 400',
  'POST /responses 404',
  'GET /responses/{response_id} 200',
  'GET /responses/{response_id} 404',
  'DELETE /responses/{response_id} 200',
  'GET /responses/{response_id}/input_items 200',
  'POST /responses/{response_id}/cancel 200',
  'POST /responses/{response_id}/cancel 400',
];

/** Drives every endpoint, success and error, with the real client and with the session. */
async function scenario({ sim, client }: Harness): Promise<void> {
  const ignore = () => undefined;
  const file = await client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
  await client.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'bogus' as never }).catch(ignore);
  await client.files.retrieve(file.id);
  await (await client.files.content(file.id)).text();
  await client.files.list();
  sim.fail({ path: '/files', method: 'GET', status: 500 });
  await client.files.list().catch(ignore);
  const c = await client.containers.create({ name: 'conformance', file_ids: [file.id], memory_limit: '4g', network_policy: { type: 'disabled' } });
  await client.containers.create({} as never).catch(ignore);
  sim.fail({ path: '/containers', method: 'POST', status: 429, retryAfterSeconds: 1 });
  await client.containers.create({ name: 'x' }).catch(ignore);
  await client.containers.retrieve(c.id);
  await client.containers.list({ limit: 1 });
  const cf = await client.containers.files.create(c.id, { file: await toFile(Buffer.from('hello'), 'hello.txt') });
  await client.containers.files.create(c.id, { file_id: file.id });
  // Files the user put in a container have the service's `/mnt/data/<hash>-<name>` paths (the simulator's default).
  expect(cf.path).toMatch(USER_FILE_PATH);
  const listed = await client.containers.files.list(c.id);
  expect(listed.data.map((f) => f.path.replace(USER_FILE_PATH, '$1')).sort()).toEqual(['hello.txt', 'sales.csv', 'sales.csv']);
  await client.containers.files.retrieve(cf.id, { container_id: c.id });
  await (await client.containers.files.content.retrieve(cf.id, { container_id: c.id })).text();
  await client.containers.files.delete(cf.id, { container_id: c.id });
  const tools = [{ type: 'code_interpreter' as const, container: c.id }];
  const r = await client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools, include: ['code_interpreter_call.outputs'], metadata: { k: 'v' }, max_output_tokens: 500 });
  await client.responses.retrieve(r.id);
  const stream = await client.responses.create({ model: 'gpt-5', input: 'units by product', tools, previous_response_id: r.id, stream: true, include: ['code_interpreter_call.outputs'] });
  for await (const _ of stream);
  await client.responses.create({ model: 'gpt-5', input: 'x', tools: [{ type: 'code_interpreter' } as never] }).catch(ignore);
  await client.responses.create({ model: 'gpt-5', input: 'x', tools: [{ type: 'code_interpreter', container: 'cntr_missing' }] }).catch(ignore);
  await client.responses.create({ model: 'gpt-5', input: [{ role: 'user', content: 'plain' }], tool_choice: 'none', tools }).catch(ignore);

  // Issue #13: input files, item references, structured output, store:false, background, skills and secrets.
  await client.containers.create({ name: 'x', expires_after: { anchor: 'last_active_at', minutes: 21 } }).catch(ignore);
  await client.containers.create({
    name: 'skills',
    skills: [{ type: 'skill_reference', skill_id: 'skill_abc' }, { type: 'inline', name: 'csv', description: 'reads CSVs', source: { type: 'base64', media_type: 'application/zip', data: 'UEsDBA==' } }],
    network_policy: { type: 'allowlist', allowed_domains: ['api.example.com'], domain_secrets: [{ domain: 'api.example.com', name: 'API_KEY', value: 'secret-value' }] },
  } as never);
  const data = `data:text/csv;base64,${Buffer.from(SALES_CSV).toString('base64')}`;
  const withFiles = await client.responses.create({
    model: 'gpt-5',
    tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'average revenue by region as chart.png' }, { type: 'input_file', file_id: file.id }, { type: 'input_file', filename: 'copy.csv', file_data: data }] }],
  });
  await client.responses.inputItems.list(withFiles.id);
  const call = withFiles.output.find((o) => o.type === 'code_interpreter_call')!;
  await client.responses.create({ model: 'gpt-5', tools, input: [{ type: 'item_reference', id: call.id }, { role: 'user', content: 'and by product?' }] });
  await client.responses.create({
    model: 'gpt-5',
    input: 'revenue by region',
    tools,
    text: { format: { type: 'json_schema', name: 'totals', strict: true, schema: { type: 'object', properties: { summary: { type: 'string' }, total: { type: 'number' } }, required: ['summary', 'total'], additionalProperties: false } } },
  });
  const unstored = await client.responses.create({ model: 'gpt-5', input: 'x', store: false });
  await client.responses.retrieve(unstored.id).catch(ignore);
  await client.responses.create({ model: 'gpt-5', input: 'x', previous_response_id: unstored.id }).catch(ignore);
  const queued = await client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools, background: true });
  await client.responses.retrieve(queued.id);
  await client.responses.retrieve(queued.id);
  const toCancel = await client.responses.create({ model: 'gpt-5', input: 'x', background: true });
  await client.responses.cancel(toCancel.id);
  await client.responses.cancel(withFiles.id).catch(ignore);
  await client.responses.delete(withFiles.id);

  // Issue #11: a malformed body answers 400, one over the cap 413.
  await fetch(`${client.baseURL}/files`, { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nbroken' });
  await client.files.create({ file: await toFile(Buffer.alloc(5 * 1024 * 1024), 'big.bin'), purpose: 'user_data' }).catch(ignore);

  // The session's own traffic, including recovery from expiry.
  const session = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }), persistGeneratedFiles: true });
  await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
  await session.run('revenue by region', { toolChoice: 'required', metadata: { user: 'u1' } });
  sim.expire(session.containerId!);
  await client.containers.files.list(session.containerId!).catch(ignore);
  const again = await session.run('units by product');
  expect(again.recovered).toBe(true);
  // The session shows the names the user gave (the upload and, with persistGeneratedFiles, the
  // generated files brought back into the new container as user files), the code the real paths.
  const restored = (await session.listFiles()).filter((f) => f.source === 'user');
  expect(restored.map((f) => f.filename).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg', 'sales.csv']);
  for (const f of restored) expect(f.path.replace(USER_FILE_PATH, '$1'), f.path).toBe(f.filename);
  expect(restored.map((f) => f.path)).toContain(/read_csv\("([^"]+)"\)/.exec(again.codeCalls[0]!.code!)?.[1]);
  for await (const _ of session.stream('units by region'));
  await session.close();
  await client.files.retrieve(file.id);
  await client.files.delete(file.id);
  await client.files.retrieve(file.id).catch(ignore);
  await client.containers.delete(c.id);
  await client.containers.retrieve(c.id).catch(ignore);
}

describe.each(transports)('conformance to the OpenAPI document over %s', (_name, make) => {
  let h: Harness;
  afterAll(async () => h?.close());

  it('every request sent and every answer and event returned validates against its schema', async () => {
    h = await make({ maxBodyBytes: 4 * 1024 * 1024 });
    await scenario(h);
    const { problems, checked } = checkConformance(h.sim.requests);
    expect(problems).toEqual([]);
    for (const operation of EXPECTED) expect(checked, operation).toContain(operation);
    expect(h.sim.requests.filter((r) => r.events).length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('conformance in Azure mode', () => {
  it('what AzureOpenAI is answered validates against the document, the refused retrieve included', async () => {
    const sim = createSimulator({ azure: true });
    const server = await sim.listen();
    try {
      const client = new AzureOpenAI({ endpoint: server.endpoint, apiVersion: '2025-04-01-preview', apiKey: 'azure-key', maxRetries: 0 });
      const file = await client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
      const c = await client.containers.create({ name: 'azure', file_ids: [file.id] });
      await client.containers.retrieve(c.id).catch(() => undefined);
      await client.containers.create({ name: 'n'.repeat(65) }).catch(() => undefined);
      await client.containers.files.list(c.id);
      const r = await client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: [{ type: 'code_interpreter', container: c.id }] });
      await client.responses.retrieve(r.id);
      await client.containers.delete(c.id);
      const { problems, checked } = checkConformance(sim.requests);
      expect(problems).toEqual([]);
      for (const operation of ['GET /containers/{container_id} 400', 'POST /containers 400', 'POST /responses 200', 'GET /containers/{container_id}/files 200']) {
        expect(checked, operation).toContain(operation);
      }
    } finally {
      await server.close();
    }
  }, 60_000);
});
