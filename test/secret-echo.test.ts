import { inspect } from 'node:util';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, type CodeInterpreterSession } from '../src/index.js';
import { createSimulator } from '../src/testing/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV } from './helpers/sim.js';

const KEY = 'sk-proj-ECHOED0123456789abcdefghijklmnopqrstuvwxyz';
/** The parts of the key that must never be seen (the scrubbed form keeps `sk-proj-` and 4 more). */
const leaks = (text: string) => [KEY, KEY.slice(12), KEY.slice(-20)].some((part) => text.includes(part));

/**
 * A server that echoes the caller's key everywhere it can: in a response header of every answer,
 * and, when told to fail, in the error's message, code, param and type, or in an SSE `error` event.
 */
function echoingServer() {
  const sim = createSimulator();
  let mode: 'ok' | 'json-error' | 'sse-error' | 'download-error' = 'ok';
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const key = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
    const url = new URL(request.url);
    const echo = { 'x-echo': `Bearer ${key}`, 'x-request-id': `req_${key}`, 'content-type': 'application/json' };
    const errorBody = { error: { message: `Incorrect API key provided: ${key}.`, type: `type ${key}`, param: `param ${key}`, code: `code ${key}` } };
    if (mode === 'json-error' || (mode === 'download-error' && url.pathname.endsWith('/content'))) {
      return new Response(JSON.stringify(errorBody), { status: 400, headers: echo });
    }
    if (mode === 'sse-error' && url.pathname.endsWith('/responses')) {
      const events = [
        `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } })}\n\n`,
        `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: `key is ${key}`, logprobs: [] })}\n\n`,
        `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: 2, message: `failed while using Bearer ${key}`, code: `code ${key}`, param: `param ${key}` })}\n\n`,
      ];
      return new Response(events.join(''), { status: 200, headers: { ...echo, 'content-type': 'text/event-stream' } });
    }
    const answer = await sim.handle(request);
    const headers = new Headers(answer.headers);
    headers.set('x-echo', `Bearer ${key}`);
    return new Response(answer.body, { status: answer.status, headers });
  };
  const client = new OpenAI({ apiKey: KEY, baseURL: 'https://api.openai.com/v1', maxRetries: 0, fetch });
  return { sim, client, setMode: (m: typeof mode) => (mode = m) };
}

function everythingOf(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown) => {
    if (value === null || value === undefined || seen.has(value)) return;
    if (typeof value === 'string') return void parts.push(value);
    if (typeof value !== 'object') return void parts.push(String(value));
    seen.add(value);
    if (value instanceof Headers) return void value.forEach((v, k) => parts.push(`${k}: ${v}`));
    if (value instanceof Error) parts.push(value.message, String(value.stack), inspect(value, { depth: 10 }));
    for (const key of Reflect.ownKeys(value)) walk((value as Record<string | symbol, unknown>)[key]);
    if (value instanceof Error) walk(value.cause);
  };
  walk(error);
  return parts.join('\n');
}

let session: CodeInterpreterSession | undefined;
afterEach(async () => {
  await session?.close().catch(() => {});
  session = undefined;
});

describe('the API key never leaves the library, whatever the server echoes', () => {
  it('JSON errors: message, stack, cause, error body, code, param, type, headers, request id and events', async () => {
    const server = echoingServer();
    session = makeSession(server.client, { retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 } });
    const events = recordEvents(session);
    server.setMode('json-error');
    const error = await session.run('hello').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    const text = everythingOf(error) + JSON.stringify(events.seen) + everythingOf(events.seen);
    expect(text).toContain('[redacted]');
    expect(leaks(text)).toBe(false);
  });

  it('SSE: text deltas, the `error` event and the error it becomes', async () => {
    const server = echoingServer();
    session = makeSession(server.client);
    await session.start();
    server.setMode('sse-error');
    const yielded: unknown[] = [];
    const error = await (async () => {
      for await (const event of session!.stream('hello')) yielded.push(event);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    expect(yielded.length).toBeGreaterThan(0);
    const text = everythingOf(error) + JSON.stringify(yielded);
    expect(text).toContain('[redacted]');
    expect(leaks(text)).toBe(false);
  });

  it('downloads: results, download names and download errors', async () => {
    const server = echoingServer();
    session = makeSession(server.client);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('revenue by region');
    expect(result.files.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify(result))).toBe(false);
    const file = await session.download(result.files[0]!);
    expect(leaks(JSON.stringify({ ...file, bytes: undefined }))).toBe(false);
    server.setMode('download-error');
    const error = await session.download(result.files[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    expect(leaks(everythingOf(error))).toBe(false);
  });

  it('util.inspect(session), console.log and JSON.stringify show the session, not the client or its key', async () => {
    const server = echoingServer();
    session = makeSession(server.client);
    await session.start();
    for (const text of [inspect(session, { depth: 20, showHidden: true }), JSON.stringify(session), String(session)]) {
      expect(text).not.toContain(KEY);
      expect(leaks(text)).toBe(false);
    }
    expect(inspect(session)).toMatch(/^CodeInterpreterSession \{\s+id: '[^']+',\s+model: 'gpt-5',\s+containerId: 'cntr_\w+',\s+closed: false\s+\}$/);
  });
});
