// How a user tests their own code: the real openai client, HTTP mocked by msw with the
// simulator's handlers. No network, no API key.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { CodeInterpreterSession, createRateLimiter } from 'code-interpreter-session';
import { createSimulator } from 'code-interpreter-session/testing';
import { summarise } from './summarise.ts';

const sim = createSimulator();
const server = setupServer(...sim.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => sim.reset());
afterAll(() => server.close());

function newSession() {
  // Built after server.listen(): the client reads fetch when it is constructed.
  const client = new OpenAI({ apiKey: 'sk-test' });
  return new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: createRateLimiter({ limit: 100, intervalMs: 1000 }) });
}

it('returns the answer and saves the chart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'summarise-'));
  await writeFile(join(dir, 'sales.csv'), 'region,revenue\nNorth,10\nSouth,5\n');
  await using session = newSession();
  const { answer, chartPath } = await summarise(session, join(dir, 'sales.csv'), 'revenue', join(dir, 'out'));
  expect(answer).toContain('North 10, South 5');
  expect(await readFile(chartPath!, 'utf8')).toContain('<svg');
});

it('copes with the API rate limiting it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'summarise-'));
  await writeFile(join(dir, 'sales.csv'), 'region,revenue\nNorth,1\n');
  sim.fail({ path: '/responses', status: 429, retryAfterSeconds: 0.01, times: 2 });
  await using session = newSession();
  const { answer } = await summarise(session, join(dir, 'sales.csv'), 'revenue', join(dir, 'out'));
  expect(answer).toContain('North 1');
  expect(session.stats.retries).toBe(2);
});
