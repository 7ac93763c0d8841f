import OpenAI, { APIConnectionError, APIError, InternalServerError, RateLimitError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestFailedError, RetriesExhaustedError, createRateLimiter, type RateLimiter } from '../src/index.js';
import { MAX_SERVER_WAIT_MS, isRetryable, retryDelayMs, serverRequestedWaitMs, RETRY_DEFAULTS } from '../src/retry/policy.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { TEST_API_KEY, withMsw } from './helpers/sim.js';

function apiError(status: number, headers: Record<string, string> = {}, body: Record<string, unknown> = {}) {
  return APIError.generate(status, { error: { message: 'm', type: 't', param: null, code: null, ...body } }, 'm', new Headers(headers));
}

describe('retry policy', () => {
  it('retries connection errors, 408, 409, 429 and 5xx; not 400/401/403/404/422, aborts or insufficient_quota', () => {
    for (const status of [408, 409, 429, 500, 502, 503]) expect(isRetryable(apiError(status)), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 422]) expect(isRetryable(apiError(status)), String(status)).toBe(false);
    expect(isRetryable(new APIConnectionError({ message: 'reset' }))).toBe(true);
    expect(isRetryable(apiError(429, {}, { code: 'insufficient_quota' }))).toBe(false);
    expect(isRetryable(new OpenAI.APIUserAbortError())).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable(apiError(400, { 'x-should-retry': 'true' }))).toBe(true);
    expect(isRetryable(apiError(503, { 'x-should-retry': 'false' }))).toBe(false);
  });

  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    expect(serverRequestedWaitMs(apiError(429, { 'retry-after-ms': '1234' }))).toBe(1234);
    expect(serverRequestedWaitMs(apiError(429, { 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(serverRequestedWaitMs(apiError(429, { 'retry-after': 'Tue, 24 Nov 2026 12:00:05 GMT' }), now)).toBe(5000);
    expect(serverRequestedWaitMs(apiError(429))).toBeUndefined();
  });

  it('lets the server wait win over the backoff bounds up to 60 s, else backs off exponentially with jitter', () => {
    const options = { ...RETRY_DEFAULTS, minTimeoutMs: 100, maxTimeoutMs: 1000 };
    expect(retryDelayMs(apiError(429, { 'retry-after': '30' }), 1, options)).toBe(30_000);
    expect(retryDelayMs(apiError(429, { 'retry-after': String(MAX_SERVER_WAIT_MS / 1000 + 1) }), 1, options, () => 0)).toBe(100);
    expect(retryDelayMs(apiError(500), 1, options, () => 0)).toBe(100);
    expect(retryDelayMs(apiError(500), 3, options, () => 0)).toBe(400);
    expect(retryDelayMs(apiError(500), 10, options, () => 0)).toBe(1000);
    expect(retryDelayMs(apiError(500), 3, options, () => 1)).toBe(300); // at most 25% jitter
  });
});

describe('retries through the session', () => {
  let h: ReturnType<typeof withMsw>;
  afterEach(() => h?.close());

  it('honours retry-after-ms, counts and reports each retry, and sends every attempt through the limiter', async () => {
    h = withMsw();
    let acquired = 0;
    const inner = createRateLimiter({ limit: 1000, intervalMs: 1000 });
    const limiter: RateLimiter = { acquire: (o) => (acquired++, inner.acquire(o)) };
    const session = makeSession(h.client, { rateLimiter: limiter, retry: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 2 } });
    const events = recordEvents(session);
    h.sim.fail({ path: '/containers', method: 'POST', status: 429, retryAfterSeconds: 0.04, times: 2 });
    await session.start();
    expect(h.sim.requestsTo('/containers', 'POST').map((r) => r.status)).toEqual([429, 429, 200]);
    expect(events.of('request.retry').map((e) => [e.status, e.delayMs, e.attempt])).toEqual([
      [429, 40, 1],
      [429, 40, 2],
    ]);
    const [first, second] = h.sim.requestsTo('/containers', 'POST');
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(40);
    expect(session.stats).toMatchObject({ retries: 2, requests: h.sim.requests.length });
    expect(acquired).toBe(h.sim.requests.length);
    await session.close();
  });

  it.each([500, 502, 503, 408, 409, 'reset'] as const)('retries %s', async (status) => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/containers', method: 'POST', status });
    await session.start();
    expect(session.stats.retries).toBe(1);
    await session.close();
  });

  it.each([400, 401, 403, 422])('does not retry %s', async (status) => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/containers', method: 'POST', status });
    const error = await session.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as RequestFailedError).status).toBe(status);
    expect((error as Error).cause).toBeInstanceOf(APIError);
    expect(h.sim.requests).toHaveLength(1);
    expect(session.stats.retries).toBe(0);
  });

  it('does not retry a 429 for insufficient quota', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ status: 429, body: { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } });
    const error = await session.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as RequestFailedError).code).toBe('insufficient_quota');
    expect((error as Error).message).toMatch(/quota is used up/);
    expect((error as Error).cause).toBeInstanceOf(RateLimitError);
    expect(h.sim.requests).toHaveLength(1);
  });

  it('gives up with RetriesExhaustedError carrying the last error', async () => {
    h = withMsw();
    const session = makeSession(h.client, { retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1 } });
    h.sim.fail({ status: 503, times: 10 });
    const error = await session.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).attempts).toBe(3);
    expect((error as Error).cause).toBeInstanceOf(InternalServerError);
    expect((error as Error).message).toMatch(/containers\.create failed after 3 attempts: 503 .*Raise `retry\.retries`/);
    // Three creates; after each (a 503 may have made the container) a look for it, retried like
    // any request: before each retry, and once more after the last create.
    const lookUp = ['GET /containers 503', 'GET /containers 503', 'GET /containers 503'];
    expect(h.sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /containers 503',
      ...lookUp,
      'POST /containers 503',
      ...lookUp,
      'POST /containers 503',
      'GET /containers 503', // the 10 injected faults end here
      'GET /containers 200',
    ]);
  });

  it('turns the client’s own retries off: with retry: false a 500 is sent once even by a default client', async () => {
    h = withMsw();
    const client = new OpenAI({ apiKey: TEST_API_KEY }); // maxRetries 2 by default
    const session = makeSession(client, { retry: false });
    h.sim.fail({ status: 500 });
    const error = await session.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as Error).cause).toBeInstanceOf(InternalServerError);
    // One create; then one look for the container the 500 may have made anyway (not a retry).
    expect(h.sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /containers', 'GET /containers']);
  });

  it('never puts the API key in an error message, an event or a retry report', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    const leak = { error: { message: `Incorrect API key provided: ${TEST_API_KEY}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
    h.sim.fail({ path: '/containers', method: 'POST', status: 500, body: leak });
    h.sim.fail({ path: '/containers', method: 'POST', status: 401, body: leak });
    const error = (await session.start().catch((e: unknown) => e)) as Error & { error?: unknown };
    expect(error.message).toContain('Incorrect API key provided');
    const everything = JSON.stringify([error.message, error.error, String(error.cause ?? ''), events.seen, String(error.stack)]);
    expect(everything).not.toContain(TEST_API_KEY);
    expect(everything).not.toContain('SECRET');
    expect(events.of('request.retry')).toHaveLength(1);
  });

  it('a signal aborts a request waiting in the limiter queue without sending it', async () => {
    h = withMsw();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 60_000 });
    await limiter.acquire(); // the only slot this minute is gone
    const session = makeSession(h.client, { rateLimiter: limiter });
    const controller = new AbortController();
    const run = session.run('hello', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 20);
    await expect(run).rejects.toThrow('user cancelled');
    expect(h.sim.requests).toHaveLength(0);
    expect(limiter.pending).toBe(0);
  });

  it('timeoutMs cancels a run stuck in the limiter queue', async () => {
    h = withMsw();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 60_000 });
    await limiter.acquire();
    const session = makeSession(h.client, { rateLimiter: limiter });
    const error = await session.run('hello', { timeoutMs: 30 }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(h.sim.requests).toHaveLength(0);
  });

  it('reports time spent waiting for the limiter', async () => {
    h = withMsw();
    const session = makeSession(h.client, { rateLimiter: createRateLimiter({ limit: 1, intervalMs: 100 }) });
    const events = recordEvents(session);
    await session.start();
    await Promise.all([session.listFiles(), session.listFiles()]); // one slot per 100 ms: the second waits whatever the first took
    expect(session.stats.throttledMs).toBeGreaterThan(0);
    expect(events.of('request.throttled').length).toBeGreaterThan(0);
    await session.close();
  });
});
