import { test, expect } from 'vitest';
import { toFile } from 'openai';
import { transports, SALES_CSV } from '../helpers/sim.js';
for (const [name, make] of transports) test(name, async () => {
  const { sim, client, close } = await make();
  const f = await client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
  const c = await client.containers.create({ name: 'x', file_ids: [f.id] });
  const r = await client.responses.create({ model: 'gpt-5', input: 'total revenue by region', tools: [{ type: 'code_interpreter', container: c.id }], include: ['code_interpreter_call.outputs'] });
  console.log(JSON.stringify(r.output, null, 1).slice(0, 1500), r.output_text);
  const list = await client.containers.files.list(c.id);
  console.log(list.data);
  const stream = await client.responses.create({ model: 'gpt-5', input: 'again', previous_response_id: r.id, stream: true, tools: [{ type: 'code_interpreter', container: c.id }] });
  let n = 0; for await (const e of stream) n++;
  console.log('events', n);
  sim.expire(c.id);
  await expect(client.responses.create({ model: 'gpt-5', input: 'x', tools: [{ type: 'code_interpreter', container: c.id }] })).rejects.toThrow('400 Container is expired.');
  await close();
});
import { checkConformance } from '../helpers/openapi.js';
test('conf', async () => {
  const [, make] = transports[0]!;
  const { sim, client, close } = await make();
  const f = await client.files.create({ file: await toFile(Buffer.from(SALES_CSV), 'sales.csv'), purpose: 'user_data' });
  const c = await client.containers.create({ name: 'x', file_ids: [f.id] });
  const r = await client.responses.create({ model: 'gpt-5', input: 'total revenue by region', tools: [{ type: 'code_interpreter', container: c.id }], include: ['code_interpreter_call.outputs'] });
  const stream = await client.responses.create({ model: 'gpt-5', input: 'again', previous_response_id: r.id, stream: true, tools: [{ type: 'code_interpreter', container: c.id }] });
  for await (const e of stream) {}
  await client.containers.list();
  await client.containers.files.list(c.id);
  await client.containers.delete(c.id);
  await client.containers.retrieve(c.id).catch(() => {});
  const t0 = Date.now();
  const { problems, checked } = checkConformance(sim.requests);
  console.log(Date.now() - t0, 'ms', [...checked], JSON.stringify(problems, null, 1).slice(0, 6000));
  await close();
});
