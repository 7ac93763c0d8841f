import { createRequire } from 'node:module';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, NotFoundError, RateLimitError } from 'openai';
import { describe, expect, it } from 'vitest';
import { expirySignal } from '../src/container/expiry.js';
import { BodyInterruptedError, classNames, httpErrorOf, isBrokenAnswer, isConnectionFailure, isCutAnswer, isMalformedAnswer, isNotFound, isUserAbort, MalformedAnswerError } from '../src/retry/error-shape.js';
import { checkCreated, mayHaveTakenEffect } from '../src/retry/request-runner.js';
import { isRetryable, serverRequestedWaitMs } from '../src/retry/policy.js';
import { makeSession } from './helpers/session.js';
import { TEST_API_KEY, withMsw } from './helpers/sim.js';

const cjs = createRequire(import.meta.url)('openai') as typeof import('openai');
const body = (message: string, code: string | null = null) => ({ message, type: 'invalid_request_error', param: null, code });
const copies: Array<[string, typeof import('openai')]> = [
  ['the library\'s own openai', { ...(await import('openai')) }],
  ['the CJS build of openai', cjs],
  ['openai 7.10 (another installed version)', (await import('openai-previous')) as unknown as typeof import('openai')],
];

describe.each(copies)('errors classified by shape, made by %s', (_name, copy) => {
  it('reads status, headers and body: 429 and 5xx retry, insufficient_quota and 4xx do not, retry-after is honoured', () => {
    const limited = copy.APIError.generate(429, { error: body('Slow down', 'rate_limit_exceeded') }, undefined, new Headers({ 'retry-after-ms': '250' }));
    expect(classNames(limited)).toContain('RateLimitError');
    expect(isRetryable(limited)).toBe(true);
    expect(serverRequestedWaitMs(limited)).toBe(250);
    expect(isRetryable(copy.APIError.generate(429, { error: body('Quota', 'insufficient_quota') }, undefined, new Headers()))).toBe(false);
    expect(isRetryable(copy.APIError.generate(503, { error: body('Busy') }, undefined, new Headers()))).toBe(true);
    expect(isRetryable(copy.APIError.generate(400, { error: body('Bad') }, undefined, new Headers()))).toBe(false);
    expect(isRetryable(copy.APIError.generate(400, { error: body('Bad') }, undefined, new Headers({ 'x-should-retry': 'true' })))).toBe(true);
  });

  it('tells expiry and dead chains apart, and 404s', () => {
    const expired = copy.APIError.generate(400, { error: body('Container is expired.') }, undefined, new Headers());
    expect(expirySignal(expired, 'response', 'cntr_1')).toBe('expired');
    const stale = copy.APIError.generate(400, { error: body('Expected container_id: cntr_1') }, undefined, new Headers());
    expect(expirySignal(stale, 'response', 'cntr_1')).toBe('stale-chain');
    const missing = copy.APIError.generate(404, { error: body('No container found') }, undefined, new Headers());
    expect(isNotFound(missing)).toBe(true);
    expect(expirySignal(missing, 'container', 'cntr_1')).toBe('expired');
    expect(expirySignal(missing, 'container-file', 'cntr_1')).toBe('ask-container');
  });

  it('recognises connection failures, timeouts and aborts', () => {
    expect(isConnectionFailure(new copy.APIConnectionError({ message: undefined }))).toBe(true);
    expect(isRetryable(new copy.APIConnectionTimeoutError())).toBe(true);
    const abort = new copy.APIUserAbortError();
    expect(isUserAbort(abort)).toBe(true);
    expect(isConnectionFailure(abort)).toBe(false);
    expect(isRetryable(abort)).toBe(false);
    expect(httpErrorOf(abort)).toBeUndefined();
  });
});

describe('error shapes that are not API errors', () => {
  it('ignores plain errors, system errors with a code and objects with a non-HTTP status', () => {
    expect(httpErrorOf(new Error('boom'))).toBeUndefined();
    expect(httpErrorOf(Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(httpErrorOf({ status: 'failed', error: {} })).toBeUndefined();
    expect(isRetryable(new TypeError('x is not a function'))).toBe(false);
    expect(isUserAbort(new DOMException('stop', 'AbortError'))).toBe(true);
  });

  it('reads an error from a client that kept headers as a plain record (older SDKs)', () => {
    const shaped = Object.assign(new Error('429 Slow down'), { status: 429, headers: { 'Retry-After': '2' }, error: body('Slow down') });
    expect(isRetryable(shaped)).toBe(true);
    expect(serverRequestedWaitMs(shaped)).toBe(2000);
  });

  it('recognises a connection error whose class names a bundler changed, by its shape', () => {
    class E extends Error {
      status = undefined;
      headers = undefined;
    }
    expect(isConnectionFailure(new E('Connection error.'))).toBe(true);
    expect(isConnectionFailure(new E('Something else'))).toBe(false);
  });

  it('keeps the named classes of this copy working (sanity: the same checks as instanceof)', () => {
    expect(isNotFound(new NotFoundError(404, body('x'), undefined, new Headers()))).toBe(true);
    expect(isRetryable(new RateLimitError(429, body('x'), undefined, new Headers()))).toBe(true);
    expect(isConnectionFailure(new APIConnectionError({}))).toBe(true);
    expect(isConnectionFailure(new APIConnectionTimeoutError())).toBe(true);
    expect(isUserAbort(new APIUserAbortError())).toBe(true);
  });
});

describe('answers that broke off or are not what was asked for', () => {
  /** What undici throws to whoever reads a body whose connection closed mid-way. */
  const terminated = () => {
    const socket = Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
    return new TypeError('terminated', { cause: socket });
  };

  it("undici's `TypeError: terminated` is a cut answer: retried, and it may have taken effect", () => {
    expect(isCutAnswer(terminated())).toBe(true);
    expect(isBrokenAnswer(terminated())).toBe(true);
    expect(isConnectionFailure(terminated())).toBe(false); // the API was reached: not "could not be reached"
    expect(isRetryable(terminated())).toBe(true);
    expect(mayHaveTakenEffect(terminated())).toBe(true);
    expect(isCutAnswer(new BodyInterruptedError('file-1', 10, 20, terminated()))).toBe(true);
  });

  it('a body that is not its JSON, or not the object a create makes, may have taken effect and is retried', () => {
    let syntax: unknown;
    try {
      JSON.parse('{"id": "cntr_1", "obj');
    } catch (error) {
      syntax = error;
    }
    for (const error of [syntax, new MalformedAnswerError('containers.create', 'container', { object: 'list', data: [] })]) {
      expect(isMalformedAnswer(error)).toBe(true);
      expect(isRetryable(error)).toBe(true);
      expect(mayHaveTakenEffect(error)).toBe(true);
    }
  });

  it('other TypeErrors and plain errors are none of these', () => {
    for (const error of [new TypeError('x is not a function'), new TypeError('fetch failed'), new Error('terminated'), new SyntaxError('Unexpected token')]) {
      expect(isBrokenAnswer(error)).toBe(false);
      expect(mayHaveTakenEffect(error)).toBe(false);
    }
  });

  it('checkCreated takes only the object a create makes: a string id, and its `object` when named', () => {
    const container = { id: 'cntr_1', object: 'container', name: 'x' };
    expect(checkCreated('containers.create', 'container', container)).toBe(container);
    expect(checkCreated('files.create', 'file', { id: 'file-1' })).toEqual({ id: 'file-1' }); // a server that leaves out `object`
    const refused: Array<[unknown, RegExp]> = [
      [{ object: 'list', data: [{ id: 'file-1', object: 'file' }], has_more: false }, /answered with an object of type 'list' and no id, not the file it creates/],
      [undefined, /answered with an empty body/],
      [{ id: 'cntr_1', object: 'container' }, /object of type 'container', not the file/],
      [{ id: '' }, /object that has no id/],
      [{ id: 42 }, /object that has no id/],
      ['<html>', /with string/],
    ];
    for (const [answer, message] of refused) {
      expect(() => checkCreated('files.create', 'file', answer)).toThrow(message);
    }
  });
});

describe('upload bodies for a client class without toStreamingFile', () => {
  it('sends paths and streams as a named async iterable that any openai copy encodes as a `file` part', async () => {
    const h = withMsw();
    class Bare extends OpenAI {}
    Object.defineProperty(Bare, 'toStreamingFile', { value: undefined });
    const session = makeSession(new Bare({ apiKey: TEST_API_KEY, maxRetries: 0 }));
    await session.upload(new Blob(['streamed']).stream(), { filename: 'stream.txt' });
    const [upload] = h.sim.requestsTo('/files', 'POST');
    expect(upload!.status).toBe(200);
    expect(upload!.body).toMatchObject({ file: { name: 'stream.txt', size: 8 }, purpose: 'user_data' });
    await session.close();
    h.close();
  });
});
