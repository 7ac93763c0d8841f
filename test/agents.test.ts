import { Agent, Runner, setTracingDisabled, user } from '@openai/agents';
import OpenAI from 'openai';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../src/index.js';
import { codeInterpreterTool, fileCitationsOf, sessionModelProvider } from '../src/integrations/agents.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, transports, type Harness, unhashedPath } from './helpers/sim.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { maxInAnyWindow } from './helpers/windows.js';

const csv = new TextEncoder().encode(SALES_CSV);
let h: Harness | undefined;
beforeAll(() => setTracingDisabled(true)); // offline: no trace export
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const filesIn = (harness: Harness, containerId: string) => [...harness.sim.containers.get(containerId)!.files.values()].map(unhashedPath);

describe.each(transports)('OpenAI Agents JS over %s', (_name, make) => {
  it.each(['history', 'previousResponseId'] as const)('a run continued from %s recovers across an expiry; the cited chart downloads', async (continuation) => {
    h = await make();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    await session.upload(csv, { filename: 'sales.csv' });
    const runner = new Runner({ modelProvider: sessionModelProvider(session), tracingDisabled: true });
    const agent = new Agent({ name: 'Analyst', model: 'gpt-5', instructions: 'Analyse the data.', tools: [codeInterpreterTool(session, { includeOutputs: true })] });

    const first = await runner.run(agent, 'revenue by region');
    expect(first.finalOutput).toContain('Total revenue by region');
    expect(fileCitationsOf(first).map((c) => c.filename).sort()).toEqual(['revenue_by_region.csv', 'revenue_by_region.svg']);
    if (continuation === 'history') expect(JSON.stringify(first.history)).toContain('code_interpreter_call');
    const old = session.containerId!;
    h.sim.expire(old);

    const second =
      continuation === 'history'
        ? await runner.run(agent, [...first.history, user('units by product')])
        : await runner.run(agent, 'units by product', { previousResponseId: first.lastResponseId! });
    expect(second.finalOutput).toContain('Total units by product');
    const fresh = session.containerId!;
    expect(fresh).not.toBe(old);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: old, restoredFiles: 1 }]);
    expect(filesIn(h, fresh)).toContain('/mnt/data/sales.csv');
    const posts = h.sim.requestsTo('/responses', 'POST');
    expect(posts.map((r) => r.status)).toEqual([200, 400, 200]);
    // The replay carries the first turn by value (chain or not) and no code call of the dead container.
    const replay = posts[2]!.body as { previous_response_id?: string; input: Array<{ type?: string; role?: string; content?: unknown }> };
    expect(replay.previous_response_id).toBeUndefined();
    expect(replay.input.some((i) => i.type === 'code_interpreter_call')).toBe(false);
    expect(replay.input.filter((i) => i.role === 'user').map((i) => JSON.stringify(i.content))).toEqual([
      expect.stringContaining('revenue by region'),
      expect.stringContaining('units by product'),
    ]);

    const citations = fileCitationsOf(second);
    expect(citations.map((c) => c.containerId)).toEqual(citations.map(() => fresh));
    const chart = citations.find((c) => c.filename.endsWith('.svg'))!;
    expect(chart.endIndex).toBeGreaterThanOrEqual(chart.startIndex);
    expect(new TextDecoder().decode((await session.download(chart)).bytes)).toContain('<svg');
    await session.close();
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
  });

  it('streamed runs go through the session too', async () => {
    h = await make();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    const runner = new Runner({ modelProvider: sessionModelProvider(session), tracingDisabled: true });
    const agent = new Agent({ name: 'Analyst', model: 'gpt-5', tools: [codeInterpreterTool(session)] });
    const first = await runner.run(agent, 'revenue by region');
    h.sim.expire(session.containerId!);
    const streamed = await runner.run(agent, 'units by region', { previousResponseId: first.lastResponseId!, stream: true });
    let text = '';
    for await (const chunk of streamed.toTextStream()) text += chunk;
    await streamed.completed;
    expect(text).toContain('Total units by region');
    expect(fileCitationsOf(streamed).every((c) => c.containerId === session.containerId)).toBe(true);
    expect(session.stats.recreations).toBe(1);
    await session.close();
  });
});

describe('OpenAI Agents JS under a rate limit', () => {
  it('30 concurrent agent runs stay under 10 requests per second as the simulator counts them', { timeout: 60_000 }, async () => {
    // The simulator in its own process: its log times arrivals on a clock this process's busy
    // event loop does not delay.
    const sim = await startSimulatorProcess();
    try {
      const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: sim.url, maxRetries: 0 });
      // No margin: a request granted at t reaches the server some milliseconds later, and not always
      // equally late (30 runs parse answers on this event loop; the first request of a process
      // also loads the HTTP stack; on a loaded machine, hundreds of ms), but its slot is stamped
      // only when the answer starts, after the simulator logged it.
      const session = makeSession(client, { rateLimiter: createRateLimiter({ limit: 10, intervalMs: 1000 }) });
      const runner = new Runner({ modelProvider: sessionModelProvider(session), tracingDisabled: true });
      const agent = new Agent({ name: 'Analyst', model: 'gpt-5', tools: [codeInterpreterTool(session)] });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => runner.run(agent, `question ${i}`)));
      expect(results.every((r) => typeof r.finalOutput === 'string' && r.finalOutput.length > 0)).toBe(true);
      await session.close();
      const log = await sim.control.requests();
      expect(log.filter((r) => r.method === 'POST' && r.path === '/responses').map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(log).toHaveLength(32); // the container, one request per run, the container's deletion
      const times = log.map((r) => r.time);
      const arrivals = JSON.stringify(log.map((r) => [r.method, r.path, r.time - log[0]!.time]));
      expect(maxInAnyWindow(times, 1000), `arrivals: ${arrivals}`).toBeLessThanOrEqual(10);
      expect((await sim.control.state()).runningContainers.length).toBe(0);
    } finally {
      await sim.stop();
    }
  });
});
