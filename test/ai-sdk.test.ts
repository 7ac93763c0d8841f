import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, streamText, type ModelMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { codeInterpreterTool, createSessionOpenAI, filesOf, saveAll, sessionTools } from '../src/integrations/ai-sdk.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, transports, type Harness, unhashedPath } from './helpers/sim.js';

const csv = new TextEncoder().encode(SALES_CSV);
let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const filesIn = (harness: Harness, containerId: string) => [...harness.sim.containers.get(containerId)!.files.values()].map(unhashedPath);

describe.each(transports)('Vercel AI SDK over %s', (_name, make) => {
  it('generateText: two turns with an upload survive an expiry between them; the cited chart downloads', async () => {
    h = await make();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    await session.upload(csv, { filename: 'sales.csv' });
    const openai = createSessionOpenAI(session);
    const tools = sessionTools(session);

    const messages: ModelMessage[] = [{ role: 'user', content: 'revenue by region' }];
    const first = await generateText({ model: openai('gpt-5'), tools, messages });
    expect(first.text).toContain('Total revenue by region');
    messages.push(...first.response.messages);
    const old = session.containerId!;
    h.sim.expire(old);

    messages.push({ role: 'user', content: 'units by product' });
    const second = await generateText({ model: openai('gpt-5'), tools, messages });
    expect(second.text).toContain('Total units by product');
    const fresh = session.containerId!;
    expect(fresh).not.toBe(old);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: old, restoredFiles: 1 }]);
    expect(filesIn(h, fresh)).toContain('/mnt/data/sales.csv');
    // The replay carried no reference to the dead container's code call.
    const posts = h.sim.requestsTo('/responses', 'POST');
    expect(posts.map((r) => r.status)).toEqual([200, 400, 200]);
    const sentFirst = posts[0]!.body as { tools: Array<{ container: unknown }> };
    expect(sentFirst.tools[0]!.container).toBe(old);
    const firstCall = (posts[0]!.responseBody as { output: Array<{ type: string; id: string }> }).output.find((o) => o.type === 'code_interpreter_call')!;
    expect(JSON.stringify(posts[1]!.body)).toContain(firstCall.id); // the AI SDK referenced it …
    expect(JSON.stringify(posts[2]!.body)).not.toContain(firstCall.id); // … the replay does not

    const files = await filesOf(second);
    expect(files.map((f) => f.containerId)).toEqual(files.map(() => fresh));
    expect(files.map((f) => f.filename).sort()).toEqual(['units_by_product.csv', 'units_by_product.svg']);
    dir = await mkdtemp(join(tmpdir(), 'ai-sdk-'));
    const paths = await saveAll(session, second, dir);
    expect((await readdir(dir)).sort()).toEqual(['units_by_product.csv', 'units_by_product.svg']);
    expect(await readFile(paths.find((p) => p.endsWith('.svg'))!, 'utf8')).toContain('<svg');
    await session.close();
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
  });

  it('streamText: a conversation continued after an expiry streams its answer and cites the new container', async () => {
    h = await make();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    const openai = createSessionOpenAI(session);
    const tools = { code_interpreter: codeInterpreterTool(session) };

    const messages: ModelMessage[] = [{ role: 'user', content: 'revenue by region' }];
    const first = streamText({ model: openai('gpt-5'), tools, messages });
    expect(await first.text).toContain('Total revenue by region');
    messages.push(...(await first.response).messages);
    h.sim.expire(session.containerId!);

    messages.push({ role: 'user', content: 'units by region' });
    const second = streamText({ model: openai('gpt-5'), tools, messages });
    let streamed = '';
    for await (const delta of second.textStream) streamed += delta;
    expect(streamed).toContain('Total units by region');
    const files = await filesOf(second);
    expect(files.length).toBeGreaterThan(0);
    expect(new Set(files.map((f) => f.containerId))).toEqual(new Set([session.containerId]));
    const chart = files.find((f) => f.filename.endsWith('.svg'))!;
    expect(new TextDecoder().decode((await session.download(chart)).bytes)).toContain('<svg');
    expect(session.stats.recreations).toBe(1);
    await session.close();
  });

  it('a tool bound to one session refuses to go out through another session', async () => {
    h = await make();
    const a = makeSession(h.client);
    const b = makeSession(h.client);
    const failure = await generateText({ model: createSessionOpenAI(b)('gpt-5'), tools: sessionTools(a), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(String((failure as Error).message) + String((failure as { cause?: Error }).cause?.message)).toMatch(/bound to session .* fetch of session/);
    expect(h.sim.requestsTo('/responses')).toHaveLength(0);
    await Promise.all([a.close(), b.close()]);
  });
});
