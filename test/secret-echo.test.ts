import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, type CodeInterpreterSession } from '../src/index.js';
import { createSimulator } from '../src/testing/index.js';
import { serveOnLoopback } from '../src/testing/http-server.js';
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

/**
 * The simulator over real HTTP (so the client's own fetch answers with immutable `Headers`, as in
 * production), failing the requests `failing` matches with `status` and the caller's key echoed in
 * response headers: as a value (`x-echo`), in `set-cookie`, and as a header's name.
 */
async function headerEchoServer() {
  const sim = createSimulator();
  let failing: { status: number; matches: (method: string, path: string) => boolean } | undefined;
  const server = await serveOnLoopback(async (request) => {
    const key = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
    const path = new URL(request.url).pathname;
    if (!failing?.matches(request.method, path)) return sim.handle(request);
    await request.arrayBuffer();
    const headers = new Headers({ 'content-type': 'application/json', 'x-echo': key, 'set-cookie': `k=${key}` });
    headers.set(`x-${key.toLowerCase()}`, 'named after the key');
    return new Response(JSON.stringify({ error: { message: 'nope', type: 'invalid_request_error', param: null, code: null } }), { status: failing.status, headers });
  });
  const client = new OpenAI({ apiKey: KEY, baseURL: server.url, maxRetries: 0 });
  return { sim, server, client, fail: (f: typeof failing) => (failing = f) };
}

/** What `console.error(error)` prints, and every string reachable from the error. */
const printed = (error: unknown) => inspect(error, { depth: 20 }) + everythingOf(error);
const leaksAnyCase = (text: string) => leaks(text) || leaks(text.replace(KEY.toLowerCase(), KEY));

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

  describe('the key echoed in response headers (real HTTP, immutable Headers) is scrubbed from the error of every method', () => {
    const methods: Array<{ name: string; matches: (method: string, path: string) => boolean; call: (s: CodeInterpreterSession, ref: FileRefLike) => Promise<unknown> }> = [
      { name: 'run', matches: (m, p) => m === 'POST' && p.endsWith('/responses'), call: (s) => s.run('hello') },
      {
        name: 'stream',
        matches: (m, p) => m === 'POST' && p.endsWith('/responses'),
        call: async (s) => {
          for await (const event of s.stream('hello')) void event;
        },
      },
      { name: 'upload', matches: (m, p) => m === 'POST' && p.endsWith('/files'), call: (s) => s.upload(new TextEncoder().encode('a,b\n1,2\n'), { filename: 'more.csv' }) },
      { name: 'download', matches: (m, p) => m === 'GET' && p.endsWith('/content'), call: (s, ref) => s.download(ref) },
      { name: 'saveFile', matches: (m, p) => m === 'GET' && p.endsWith('/content'), call: async (s, ref) => s.saveFile(ref, await mkdtemp(join(tmpdir(), 'cis-echo-'))) },
      { name: 'close', matches: (m) => m === 'DELETE', call: (s) => s.close() },
    ];
    for (const status of [400, 404, 500]) {
      for (const method of methods) {
        // A 404 to a delete means "already gone": close() succeeds, there is no error to look at.
        if (method.name === 'close' && status === 404) continue;
        it(`${method.name}() answered ${status}`, async () => {
          const echo = await headerEchoServer();
          try {
            session = makeSession(echo.client, { retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 } });
            const events = recordEvents(session);
            await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
            const result = await session.run('revenue by region');
            expect(result.files.length).toBeGreaterThan(0);
            echo.fail({ status, matches: method.matches });
            const error = await method.call(session, result.files[0]!).then(
              () => 'resolved',
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(CodeInterpreterError);
            const text = printed(error);
            // The headers are there (so this looks at them), scrubbed.
            expect(text).toContain(`'x-echo': '[redacted]'`);
            expect(text).toContain(`'set-cookie': '[redacted]'`);
            expect(text).toContain(`'x-redacted': 'named after the key'`);
            expect(leaksAnyCase(text)).toBe(false);
            expect(leaksAnyCase(printed(events.seen) + JSON.stringify(events.seen))).toBe(false);
          } finally {
            echo.fail(undefined);
            await session?.close().catch(() => {});
            await echo.server.close();
          }
        });
      }
    }
  });
});

type FileRefLike = Parameters<CodeInterpreterSession['download']>[0];

