import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_CONTAINER, SessionClosedError, createRateLimiter, parseRunResult } from '../src/index.js';
import { createGate } from './helpers/gate.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, transports, type Harness, unhashedPath } from './helpers/sim.js';

const csv = new TextEncoder().encode(SALES_CSV);
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A client nobody here configured beyond `fetch`: what a framework builds. */
function clientThrough(harness: Harness, fetch: typeof globalThis.fetch): OpenAI {
  return new OpenAI({ apiKey: TEST_API_KEY, baseURL: harness.client.baseURL, fetch, maxRetries: 0 });
}

const tool = (container: unknown) => [{ type: 'code_interpreter' as const, container: container as string }];
type Body = { tools?: Array<{ container?: unknown }>; input?: unknown; previous_response_id?: string };

describe.each(transports)('session.fetch over %s', (_name, make) => {
  it('binds the placeholder and { type: "auto" } to the session container, created once', async () => {
    h = await make();
    const session = makeSession(h.client);
    const client = clientThrough(h, session.fetch);
    const a = await client.responses.create({ model: 'gpt-5', input: 'hello', tools: tool(SESSION_CONTAINER) });
    const b = await client.responses.create({ model: 'gpt-5', input: 'hello', tools: tool({ type: 'auto' }) });
    const containerId = session.containerId!;
    expect(containerId).toMatch(/^cntr_/);
    const sent = h.sim.requestsTo('/responses', 'POST').map((r) => (r.body as Body).tools![0]!.container);
    expect(sent).toEqual([containerId, containerId]);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    // The answers reach the client as the server sent them.
    expect(h.sim.requestsTo('/responses', 'POST').map((r) => (r.responseBody as { id: string }).id)).toEqual([a.id, b.id]);
    await session.close();
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
  });

  it('a two-turn conversation chained by previous_response_id survives an expiry between the turns', async () => {
    h = await make();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    await session.upload(csv, { filename: 'sales.csv' });
    const client = clientThrough(h, session.fetch);
    const first = await client.responses.create({
      model: 'gpt-5',
      input: 'revenue by region',
      tools: tool(SESSION_CONTAINER),
      include: ['code_interpreter_call.outputs'],
    });
    const old = session.containerId!;
    h.sim.expire(old);

    const second = await client.responses.create({
      model: 'gpt-5',
      input: 'units by product',
      previous_response_id: first.id,
      tools: tool(SESSION_CONTAINER),
    });
    expect(second.status).toBe('completed');
    const fresh = session.containerId!;
    expect(fresh).not.toBe(old);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: old, restoredFiles: 1 }]);
    // The file is back in the new container and the turn read it.
    expect([...h.sim.containers.get(fresh)!.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');
    const result = parseRunResult(second, { containerId: fresh, recovered: true });
    expect(result.text).toContain('Total units by product');
    expect(result.files.map((f) => f.containerId)).toEqual(result.files.map(() => fresh));
    const chart = result.files.find((f) => f.filename.endsWith('.svg'))!;
    const downloaded = await session.download(chart);
    expect(new TextDecoder().decode(downloaded.bytes)).toContain('<svg');

    // One refused attempt, then the replay: no chain, the first turn by value without its code call.
    const posts = h.sim.requestsTo('/responses', 'POST');
    expect(posts.map((r) => r.status)).toEqual([200, 400, 200]);
    const replay = posts[2]!.body as Body & { input: Array<{ type?: string; role?: string; content?: unknown }> };
    expect(replay.previous_response_id).toBeUndefined();
    expect(replay.tools![0]!.container).toBe(fresh);
    expect(replay.input.some((i) => i.type === 'code_interpreter_call')).toBe(false);
    expect(replay.input.map((i) => i.role ?? i.type)).toEqual(['user', 'assistant', 'developer', 'user']);
    expect(replay.input[2]!.content).toMatch(/container was replaced.*sales\.csv.*Python state .* was reset/);
    await session.close();
  });

  it('explicit history items naming the dead container are dropped and the turn replayed once', async () => {
    h = await make();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    const client = clientThrough(h, session.fetch);
    const first = await client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: tool(SESSION_CONTAINER), store: false });
    const history = [{ role: 'user' as const, content: 'revenue by region' }, ...first.output] as OpenAI.Responses.ResponseInputItem[];
    expect(history.some((i) => i.type === 'code_interpreter_call')).toBe(true);
    h.sim.expire(session.containerId!);

    const second = await client.responses.create({ model: 'gpt-5', input: [...history, { role: 'user', content: 'units by product' }], tools: tool(SESSION_CONTAINER) });
    expect(second.status).toBe('completed');
    const posts = h.sim.requestsTo('/responses', 'POST');
    expect(posts.map((r) => r.status)).toEqual([200, 400, 200]);
    expect(JSON.stringify(posts[2]!.body)).not.toContain('code_interpreter_call');

    // The session now knows that container is dead: the same history is cleaned before sending.
    await client.responses.create({ model: 'gpt-5', input: [...history, { role: 'user', content: 'revenue by product' }], tools: tool(SESSION_CONTAINER) });
    expect(h.sim.requestsTo('/responses', 'POST').map((r) => r.status)).toEqual([200, 400, 200, 200]);
    await session.close();
  });

  it('20 concurrent requests that meet one expiry cause one re-creation, and all succeed', async () => {
    h = await make();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    const client = clientThrough(h, session.fetch);
    await client.responses.create({ model: 'gpt-5', input: 'hello', tools: tool(SESSION_CONTAINER) });
    h.sim.expire(session.containerId!);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: tool(SESSION_CONTAINER) })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill('completed'));
    expect(session.stats.recreations).toBe(1);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(2);
    const ranIn = answers.flatMap((a) => a.output.flatMap((o) => (o.type === 'code_interpreter_call' ? [o.container_id] : [])));
    expect(ranIn).toHaveLength(20);
    expect(new Set(ranIn)).toEqual(new Set([session.containerId]));
    await session.close();
  });

  it('streams pass through byte for byte and recover before the first byte', async () => {
    h = await make();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    const client = clientThrough(h, session.fetch);
    const first = await client.responses.create({ model: 'gpt-5', input: 'revenue by region', tools: tool(SESSION_CONTAINER) });
    h.sim.expire(session.containerId!);
    const stream = await client.responses.create({ model: 'gpt-5', input: 'units by product', previous_response_id: first.id, tools: tool(SESSION_CONTAINER), stream: true });
    const types: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types.at(0)).toBe('response.created');
    expect(parseRunResult(completed, { containerId: session.containerId!, recovered: true }).text).toContain('Total units by product');
    // The streamed turn is in the ledger: a third turn chained to it after another expiry rebuilds both.
    h.sim.expire(session.containerId!);
    const third = await client.responses.create({ model: 'gpt-5', input: 'revenue by product', previous_response_id: completed!.id, tools: tool(SESSION_CONTAINER) });
    expect(third.status).toBe('completed');
    const replay = h.sim.requestsTo('/responses', 'POST').at(-1)!.body as { input: Array<{ role?: string; content?: unknown }> };
    expect(replay.input.filter((i) => i.role === 'user').map((i) => i.content)).toEqual(['revenue by region', 'units by product', 'revenue by product']);
    await session.close();
  });

  it('every request takes a limiter slot and is retried through it; failures reach the client unchanged', async () => {
    h = await make();
    let grants = 0;
    const session = makeSession(h.client, { rateLimiter: createRateLimiter({ limit: 10_000, intervalMs: 1000, onGrant: () => grants++ }) });
    const client = clientThrough(h, session.fetch);
    h.sim.fail({ path: '/responses', method: 'POST', status: 429, times: 1, retryAfterSeconds: 0 });
    const ok = await client.responses.create({ model: 'gpt-5', input: 'hello', tools: tool(SESSION_CONTAINER) });
    expect(ok.status).toBe('completed');
    expect(session.stats.retries).toBe(1);

    // Uploads (multipart) go through too.
    const file = await client.files.create({ file: new File([csv], 'sales.csv'), purpose: 'user_data' });
    expect(file.filename).toBe('sales.csv');
    await client.files.delete(file.id);

    // A request the server refuses for the caller's own mistake comes back as the server said it.
    const refused = await client.responses.create({ model: 'gpt-5', input: 'x', tools: tool(SESSION_CONTAINER), previous_response_id: 'resp_nope' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain("Previous response with id 'resp_nope' not found.");
    expect(session.stats.requests).toBe(h.sim.requests.length);
    expect(grants).toBe(h.sim.requests.length); // one slot per request sent, retries included, never two
    await session.close();
  });
});

describe('close() and session.fetch', () => {
  const running = (harness: Harness) => [...harness.sim.containers.values()].filter((c) => c.status === 'running');
  const post = (session: ReturnType<typeof makeSession>, harness: Harness, stream: boolean) =>
    session.fetch(`${harness.client.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ model: 'gpt-5', input: 'hello', stream, tools: tool(SESSION_CONTAINER) }),
    });

  it('after close() resolved, session.fetch rejects with SessionClosedError and sends nothing', async () => {
    h = await transports[1]![1]();
    const session = makeSession(h.client);
    expect((await post(session, h, false)).status).toBe(200);
    await session.close();
    const sent = h.sim.requests.length;
    const error = await post(session, h, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionClosedError);
    expect((error as SessionClosedError).method).toBe('fetch');
    // Through a client too: its fetch failed with the SessionClosedError as the cause.
    const viaClient = await clientThrough(h, session.fetch).models.list().catch((e: unknown) => e);
    expect((viaClient as Error).cause).toBeInstanceOf(SessionClosedError);
    expect(h.sim.requests.length).toBe(sent);
    expect(running(h)).toEqual([]);
  });

  it('a streamed response still open is part of the call: close() stops it and resolves; its container is deleted', async () => {
    h = await transports[1]![1]();
    const session = makeSession(h.client);
    const response = await post(session, h, true);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read(); // the stream has started; the rest is not read yet
    await session.close();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toBeDefined();
    expect(running(h)).toEqual([]);
  });

  it('close() waits for a fetch whose container re-creation is in flight, and deletes the new container', async () => {
    h = await transports[1]![1]();
    const gate = createGate();
    const session = makeSession(new OpenAI({ apiKey: TEST_API_KEY, baseURL: h.client.baseURL, fetch: gate.fetch, maxRetries: 0 }));
    await session.start();
    h.sim.expire(session.containerId!);
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const call = post(session, h, false).catch((e: unknown) => e);
    await hold.reached; // the replacement exists at the server; its answer is on the way
    let closed = false;
    const closing = session.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false); // waits for the create in flight
    hold.release();
    await closing;
    expect(await call).toBeInstanceOf(SessionClosedError);
    const sent = h.sim.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.sim.requests.length).toBe(sent);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(2);
    expect(running(h)).toEqual([]);
  });
});
