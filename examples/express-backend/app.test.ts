import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRateLimiter } from 'code-interpreter-session';
import { createSimulator } from 'code-interpreter-session/testing';
import { createApp } from './app.ts';

const csv = 'region,revenue\nNorth,10\nSouth,5\nNorth,2\n';
const sim = createSimulator();
let base: string;
let backend: ReturnType<typeof createApp>;
let closeAll: () => Promise<void>;
let clockOffsetMs = 0;

beforeAll(async () => {
  const api = await sim.listen();
  backend = createApp({
    client: new OpenAI({ apiKey: 'sk-test', baseURL: api.url }),
    model: 'gpt-5',
    rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }),
    sessionIdleMs: 60_000,
    now: () => Date.now() + clockOffsetMs,
  });
  const server = backend.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeAll = async () => {
    await backend.close();
    server.close();
    await api.close();
  };
});
afterAll(() => closeAll());

function analyze(user: string, prompt: string, file?: Blob) {
  const form = new FormData();
  form.set('prompt', prompt);
  if (file) form.set('file', file, 'sales.csv');
  return fetch(`${base}/analyze`, { method: 'POST', body: form, headers: { 'x-user-id': user } });
}

it('analyses an uploaded CSV and serves the generated files', async () => {
  const response = await analyze('alice', 'Total revenue by region', new Blob([csv], { type: 'text/csv' }));
  expect(response.status).toBe(200);
  const body = (await response.json()) as { answer: string; files: Array<{ filename: string; url: string }>; code: Array<{ logs: string }> };
  expect(body.answer).toContain('North 12, South 5');
  expect(body.code[0]!.logs).toContain('TOTAL   17');
  expect(body.files.map((f) => f.filename)).toEqual(['revenue_by_region.svg', 'revenue_by_region.csv']);

  const download = await fetch(`${base}${body.files[1]!.url}`, { headers: { 'x-user-id': 'alice' } });
  expect(download.status).toBe(200);
  expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="?revenue_by_region\.csv"?$/);
  expect(await download.text()).toBe('region,revenue\nNorth,12\nSouth,5\n');

  // Another user cannot fetch alice's file.
  expect((await fetch(`${base}${body.files[1]!.url}`, { headers: { 'x-user-id': 'bob' } })).status).toBe(404);
});

it('keeps one session per user and continues the conversation', async () => {
  const second = await analyze('alice', 'Now revenue by region again');
  expect(second.status).toBe(200);
  expect(backend.pool.size).toBe(1);
  expect(backend.pool.stats.created).toBe(1);
  const last = sim.requestsTo('/responses', 'POST').at(-1)!.body as { previous_response_id?: string };
  expect(last.previous_response_id).toMatch(/^resp_/);
});

it('rejects bad requests with a clear message', async () => {
  expect((await analyze('alice', '')).status).toBe(400);
  const noUser = await fetch(`${base}/analyze`, { method: 'POST', body: new FormData() });
  expect(noUser.status).toBe(400);
  expect(((await noUser.json()) as { error: string }).error).toMatch(/x-user-id/);
});

it('closes idle sessions and deletes their containers', async () => {
  const session = backend.pool.peek('alice')!;
  expect(session.id).toBe('user-alice');
  const containerId = session.containerId!;
  const ended = new Promise((resolve) => backend.pool.on('session.evicted', resolve));
  clockOffsetMs = 61_000;
  expect(backend.pool.sweep()).toBe(1);
  expect(backend.pool.size).toBe(0);
  expect(await ended).toMatchObject({ key: 'alice', reason: 'idle', cost: { containersCreated: 1, estimatedUsd: 0.0075 } });
  expect(sim.containers.get(containerId)!.status).toBe('deleted');
  // Its files went with it.
  const uploaded = [...sim.files.values()];
  expect(uploaded.length).toBeGreaterThan(0);
  expect(uploaded.every((f) => f.deleted)).toBe(true);
});
