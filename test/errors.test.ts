import { inspect } from 'node:util';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, FileSaveError, RequestFailedError, RetriesExhaustedError, SessionClosedError } from '../src/index.js';
import { toLibraryError } from '../src/errors.js';
import { BodyInterruptedError } from '../src/retry/error-shape.js';
import { createGate } from './helpers/gate.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';
import { createSimulator } from '../src/testing/index.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

const bytes = new TextEncoder().encode('a,b\n1,2\n');

/** Settles `promise`: its value, or the error it rejected with. */
const outcome = <T>(promise: Promise<T>) => promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

describe('every error that leaves the library is a CodeInterpreterError with the original as cause', () => {
  it('an API refusal is a RequestFailedError with status, code, param, the SDK error as cause and what to do', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/responses', status: 400, body: { error: { message: 'The model `nope` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } } });
    const error = await session.run('hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    expect(error).toMatchObject({ status: 400, code: 'model_not_found', param: 'model', type: 'invalid_request_error', operation: 'run()' });
    expect((error as Error).cause).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(
      'run() failed: 400 The model `nope` does not exist. The API rejected the request (parameter `model`): change what the message names (run options, `request` passthrough, model).',
    );
    await session.close();
  });

  it('a 401 says to check the key; a 404 says the resource is gone', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/containers', method: 'POST', status: 401 });
    expect(((await session.start().catch((e: unknown) => e)) as Error).message).toMatch(/^start\(\) failed: 401 .*Check the API key: pass `client: new OpenAI\(\{ apiKey \}\)` or set OPENAI_API_KEY\.$/);
    await session.close();
  });

  it('an upload cut short by close() names upload(), never "run() was called"', async () => {
    h = withMsw();
    // The upload is held at the gate before the server sees it, so close() comes while it is in
    // flight whatever the machine's load (after a fixed sleep it could finish first on a slow run,
    // and the assertions below were then skipped). close() lets an upload already handed to fetch
    // finish (to delete what it made): the hold is released once close() has begun.
    const gate = createGate();
    const session = makeSession(gate.client());
    await session.start();
    const held = gate.hold({ method: 'POST', path: '/files', phase: 'request' });
    const uploading = outcome(session.upload(bytes, { filename: 'a.csv' }));
    await held.reached;
    const closing = session.close();
    held.release();
    await closing;
    const result = await uploading;
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(error).toBeInstanceOf(SessionClosedError);
    expect((error as SessionClosedError).method).toBe('upload');
    expect((error as Error).message).toBe('close() was called while upload() was in flight, so upload() was stopped; create a new session to go on.');
    expect([...h.sim.files.values()].filter((f) => !f.deleted)).toEqual([]);
    const late = await session.upload(bytes).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(SessionClosedError);
    expect((late as Error).message).toBe('upload() was called on a closed CodeInterpreterSession; create a new session to go on.');
  });

  it('close() during a recovery: the run rejects with SessionClosedError (the API error as cause), not a raw NotFoundError', async () => {
    h = withMsw({ latencyMs: 20 });
    const session = makeSession(h.client);
    await session.run('first');
    h.sim.expire(session.containerId!);
    let closing: Promise<void> | undefined;
    session.on('container.expired', () => {
      closing = session.close().catch(() => {});
    });
    const result = await outcome(session.run('second'));
    await closing;
    expect(closing).toBeDefined();
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(CodeInterpreterError);
      expect(result.error).not.toBeInstanceOf(NotFoundError);
      expect(result.error).toBeInstanceOf(SessionClosedError);
      expect((result.error as SessionClosedError).method).toBe('run');
      expect((result.error as Error).message).toMatch(/close\(\) was called while run\(\) was in flight/);
    }
  });

  it('a failed keep-alive touch is reported on `error` as a CodeInterpreterError', async () => {
    h = withMsw();
    const session = makeSession(h.client, { keepAlive: { intervalMs: 30 }, retry: false });
    const events = recordEvents(session);
    await session.start();
    // The first touch after the fault is awaited as the event it reports, not after a fixed sleep.
    const reported = new Promise((resolve) => session.on('error', resolve));
    h.sim.fail({ path: /^\/containers\/[^/]+$/, method: 'GET', status: 403, times: 100 });
    await reported;
    const errors = events.of('error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.error).toBeInstanceOf(RequestFailedError);
    expect(errors[0]!.error.message).toMatch(/^keep-alive touch failed: 403 /);
    h.sim.clearFaults();
    await session.close();
  });

  it('the wrapping helper turns a file system error into a FileSaveError and anything else into a CodeInterpreterError with a hint', () => {
    const fsError = Object.assign(new Error("ENOTDIR: not a directory, mkdir '/tmp/x/y'"), { code: 'ENOTDIR', path: '/tmp/x/y', syscall: 'mkdir' });
    const wrapped = toLibraryError(fsError, { operation: 'saveFile()' }) as FileSaveError;
    expect(wrapped).toBeInstanceOf(FileSaveError);
    expect(wrapped).toMatchObject({ code: 'ENOTDIR', path: '/tmp/x/y', cause: fsError });
    expect(wrapped.message).toMatch(/pass a `dir` that is a folder or can be created/);
    // e.g. ioredis's MaxRetriesPerRequestError, wrapped by the Redis store with its own hint.
    const redis = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
    const store = toLibraryError(redis, { operation: 'RedisSessionStore.load', hint: 'Check that Redis is reachable.' }) as CodeInterpreterError;
    expect(store).toBeInstanceOf(CodeInterpreterError);
    expect(store.cause).toBe(redis);
    expect(store.message).toBe('RedisSessionStore.load failed: Reached the max retries per request limit (which is 1). Check that Redis is reachable.');
    // Already ours: unchanged. An abort: the signal's own reason.
    const ours = new SessionClosedError('run');
    expect(toLibraryError(ours, { operation: 'x' })).toBe(ours);
    const controller = new AbortController();
    const reason = new Error('user gave up');
    controller.abort(reason);
    expect(toLibraryError(new DOMException('aborted', 'AbortError'), { operation: 'x', signal: controller.signal })).toBe(reason);
  });
});

describe('the hint of a failed request comes from what the caller tells toLibraryError, not from its name', () => {
  const broken = () => new BodyInterruptedError('file cfile_1', 10, 100, new TypeError('terminated'));
  it('a body the caller was reading (handedOver): call the operation again; otherwise: allow retries, whatever the operation is called', () => {
    const handed = toLibraryError(broken(), { operation: 'tail()', request: { handedOver: true } }) as RequestFailedError;
    expect(handed).toBeInstanceOf(RequestFailedError);
    expect(handed.message).toMatch(/, and call tail\(\) again \(a stream is not retried: part of it was already read\)\.$/);
    // The name of the operation says nothing: a downloadStream() error that was not handed over gets the general advice.
    const named = toLibraryError(broken(), { operation: 'downloadStream()' }) as RequestFailedError;
    expect(named.message).toMatch(/, and try again, or allow retries \(`retry`\) to start over automatically\.$/);
    expect(named.message).not.toMatch(/call downloadStream\(\) again/);
  });
});

describe('an answer that is not the JSON it claims to be', () => {
  /** A session whose POST /responses answers are 200s with a broken JSON body echoing the key. */
  function brokenRuns(retry: { retries: number; minTimeoutMs: number; maxTimeoutMs: number } | false) {
    const key = 'sk-proj-BROKENJSON0123456789abcdefghijklmnop';
    const sim = createSimulator();
    const seen = { posts: 0 };
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      if (request.method === 'POST' && new URL(request.url).pathname.endsWith('/responses')) {
        seen.posts++;
        return new Response(`{"id": "${key}", broken`, { status: 200, headers: { 'content-type': 'application/json' } });
      }
      return sim.handle(request);
    };
    const session = makeSession(new OpenAI({ apiKey: key, baseURL: 'https://api.openai.com/v1', maxRetries: 0, fetch }), { retry });
    return { key, sim, seen, session };
  }

  it('is retried like a lost answer (the request arrived), then RetriesExhaustedError says what it was, with no part of the key in it', async () => {
    const { key, sim, seen, session } = brokenRuns({ retries: 3, minTimeoutMs: 1, maxTimeoutMs: 1 });
    const error = await session.run('hi').catch((e: unknown) => e);
    expect(seen.posts).toBe(4);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toMatch(/^responses\.create failed after 4 attempts: .*The API answered with a body that is not the JSON or the object asked for: check any proxy/);
    expect(inspect(error, { depth: 10 })).not.toContain(key.slice(12));
    await session.close();
    expect([...sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
  });

  it('with retries off: a RequestFailedError that says so, sent once, with no part of the key in it', async () => {
    const { key, sim, seen, session } = brokenRuns(false);
    const error = await session.run('hi').catch((e: unknown) => e);
    expect(seen.posts).toBe(1);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as Error).message).toMatch(/^run\(\) failed: .*The API answered with a body that is not the JSON or the object asked for: check any proxy/);
    expect(inspect(error, { depth: 10 })).not.toContain(key.slice(12));
    await session.close();
    expect([...sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
  });
});
