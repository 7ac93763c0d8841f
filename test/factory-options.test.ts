import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS } from '../src/timers.js';
import { createRateLimiter, type RateLimiter } from '../src/index.js';
import { refusal } from './helpers/options.js';
import { createRedisRateLimiter, type RedisRateLimiterOptions } from '../src/redis/index.js';
import { createLimitedFetch, type LimitedFetchOptions } from '../src/transport/index.js';

/**
 * The rate-limit factories refuse bad options at construction with an `InvalidOptionsError` that
 * names the option and what to pass, before anything is sent (not at the first request, nor only
 * when Redis goes down), like the session's options. Unknown keys are refused too.
 */

const spyLimiter = () => ({ acquire: vi.fn(async () => {}), tryAcquire: vi.fn(() => true) });

describe('createLimitedFetch options', () => {
  const base = () => ({ limiter: spyLimiter(), fetch: vi.fn(async () => new Response('ok')) });

  const bad: Array<[string, (o: ReturnType<typeof base>) => unknown, string, RegExp]> = [
    ['arrivalBoundMs as a string', (o) => ({ ...o, arrivalBoundMs: '2s' }), 'arrivalBoundMs', /`arrivalBoundMs`: expected arrivalBoundMs as a number of milliseconds from 1 to 2147483647, got "2s"/],
    ['negative arrivalBoundMs', (o) => ({ ...o, arrivalBoundMs: -5 }), 'arrivalBoundMs', /got -5$/],
    ['zero arrivalBoundMs (stamped before the request can arrive)', (o) => ({ ...o, arrivalBoundMs: 0 }), 'arrivalBoundMs', /from 1 to/],
    ['NaN arrivalBoundMs', (o) => ({ ...o, arrivalBoundMs: NaN }), 'arrivalBoundMs', /got NaN$/],
    ['Infinity arrivalBoundMs', (o) => ({ ...o, arrivalBoundMs: Infinity }), 'arrivalBoundMs', /got Infinity$/],
    ['arrivalBoundMs beyond the timer maximum', (o) => ({ ...o, arrivalBoundMs: MAX_TIMER_MS + 1 }), 'arrivalBoundMs', /got 2147483648$/],
    ['no limiter', ({ fetch }) => ({ fetch }), 'limiter', /`limiter`: expected a RateLimiter \(\{ acquire\(\) \}\), e\.g\. createRateLimiter\(\{ limit, intervalMs \}\), got undefined/],
    ['a limiter without acquire', (o) => ({ ...o, limiter: { tryAcquire: () => true } }), 'limiter', /got an object whose acquire is undefined/],
    ['a limiter whose reserve is not a function', (o) => ({ ...o, limiter: { acquire: async () => {}, reserve: true } }), 'limiter', /got an object whose reserve is true/],
    ['fetch: 5', (o) => ({ ...o, fetch: 5 }), 'fetch', /`fetch`: expected fetch as a function \(input, init\) => Promise<Response>, got 5/],
    ['onThrottled not a function', (o) => ({ ...o, onThrottled: 'log' }), 'onThrottled', /`onThrottled`: expected onThrottled as a function .*, got "log"/],
    ['onSending not a function', (o) => ({ ...o, onSending: {} }), 'onSending', /`onSending`: expected onSending as a function \(\) => void, got an object/],
    ['an unknown option', (o) => ({ ...o, arrivalBoundMS: 500 }), '', /unknown option 'arrivalBoundMS'/],
  ];

  it.each(bad)('refuses %s, naming `%s`, before any request', (_, change, key, message) => {
    const o = base();
    const error = refusal(() => createLimitedFetch(change(o) as LimitedFetchOptions));
    expect(error.message).toMatch(/^createLimitedFetch\(\): /);
    expect(error.message).toMatch(message);
    expect(error.issues.map((i) => i.path)).toContain(key);
    expect(o.fetch).not.toHaveBeenCalled();
    expect(o.limiter.acquire).not.toHaveBeenCalled();
    expect(o.limiter.tryAcquire).not.toHaveBeenCalled();
  });

  it('refuses a missing options object, saying what to pass', () => {
    expect(refusal(() => createLimitedFetch(undefined as never)).message).toBe(
      'createLimitedFetch(): expected an options object such as { limiter: createRateLimiter({ limit, intervalMs }) }, got undefined',
    );
  });

  it('lists every bad option at once', () => {
    const error = refusal(() => createLimitedFetch({ limiter: {}, fetch: 5, onThrottled: 1, arrivalBoundMs: -1 } as never));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['arrivalBoundMs', 'fetch', 'limiter', 'onThrottled']);
  });

  it.each([1, 1.5, 2_000, MAX_TIMER_MS, undefined])('accepts arrivalBoundMs %s and sends through the given fetch', async (arrivalBoundMs) => {
    const fetch = vi.fn(async () => new Response('ok'));
    const onSending = vi.fn();
    const limited = createLimitedFetch({ limiter: createRateLimiter({ limit: 5, intervalMs: 1000 }), fetch, onSending, onThrottled: () => {}, arrivalBoundMs });
    expect(await (await limited('http://example.test/v1/x')).text()).toBe('ok');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(onSending).toHaveBeenCalledTimes(1);
  });
});

describe('createRateLimiter options', () => {
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['limit 0', { limit: 0, intervalMs: 1000 }, 'limit', /`limit`: expected a whole number >= 1, got 0/],
    ['a fractional limit', { limit: 1.5, intervalMs: 1000 }, 'limit', /`limit`: expected a whole number >= 1, got 1.5/],
    ['a string limit', { limit: '10', intervalMs: 1000 }, 'limit', /`limit`: expected a whole number >= 1, got "10"/],
    ['intervalMs as a string', { limit: 1, intervalMs: '1s' }, 'intervalMs', /`intervalMs`: expected a number of milliseconds > 0 and at most 2147483647 \(about 24\.8 days\), got "1s"/],
    ['intervalMs 0', { limit: 1, intervalMs: 0 }, 'intervalMs', /got 0$/],
    ['intervalMs beyond the timer maximum', { limit: 1, intervalMs: MAX_TIMER_MS + 1 }, 'intervalMs', /got 2147483648$/],
    ['a negative marginMs', { limit: 1, intervalMs: 5, marginMs: -1 }, 'marginMs', /`marginMs`: expected milliseconds from 0 to intervalMs \(5\), got -1/],
    ['marginMs longer than the window', { limit: 1, intervalMs: 5, marginMs: 6 }, 'marginMs', /got 6$/],
    ['marginMs as a string', { limit: 1, intervalMs: 5, marginMs: '1' }, 'marginMs', /got "1"$/],
    ['now: 5', { limit: 1, intervalMs: 1000, now: 5 }, 'now', /`now`: expected now as a function \(\) => number \(a clock in milliseconds\), got 5/],
    ["onGrant: 'x'", { limit: 1, intervalMs: 1000, onGrant: 'x' }, 'onGrant', /`onGrant`: expected onGrant as a function \(at: number\) => void, got "x"/],
    ['a typo (intervalMS)', { limit: 1, intervalMS: 1000 }, '', /unknown option 'intervalMS'/],
    ['a Redis option', { limit: 1, intervalMs: 1000, key: 'k' }, '', /unknown option 'key'/],
  ];

  it.each(bad)('refuses %s, naming `%s`', (_, options, key, message) => {
    const error = refusal(() => createRateLimiter(options as never));
    expect(error.message).toMatch(/^createRateLimiter\(\): /);
    expect(error.message).toMatch(message);
    expect(error.issues.map((i) => i.path)).toContain(key);
  });

  it('a typo does not fall back to a default: the missing option is named too', () => {
    expect(refusal(() => createRateLimiter({ limit: 1, intervalMS: 1000 } as never)).issues.map((i) => i.path).sort()).toEqual(['', 'intervalMs']);
  });

  it('lists bad options together', () => {
    const error = refusal(() => createRateLimiter({ limit: 'x', intervalMs: 100, marginMs: -1 } as never));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['limit', 'marginMs']);
    expect(refusal(() => createRateLimiter({ limit: 0, intervalMs: '1s', now: 1, onGrant: 2 } as never)).issues.map((i) => i.path).sort()).toEqual(['intervalMs', 'limit', 'now', 'onGrant']);
  });

  it('refuses a missing options object', () => {
    expect(refusal(() => createRateLimiter(undefined as never)).message).toBe('createRateLimiter(): expected an options object such as { limit: 100, intervalMs: 60_000 }, got undefined');
  });

  it('accepts good options and calls its hooks', async () => {
    const onGrant = vi.fn();
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, marginMs: 1000, now: () => performance.now(), onGrant });
    await limiter.acquire();
    expect(onGrant).toHaveBeenCalledTimes(1);
    expect(() => createRateLimiter({ limit: 1, intervalMs: 0.5, marginMs: 0 })).not.toThrow();
    expect(() => createRateLimiter({ limit: 1, intervalMs: MAX_TIMER_MS })).not.toThrow();
  });
});

describe('createRedisRateLimiter options', () => {
  /** A client that records every command; no bad option may reach it. */
  const spyRedis = () => ({ eval: vi.fn(async () => [1, 0, 0, 'e', 1, '']), zrem: vi.fn(async () => 1) });
  const base = () => ({ redis: spyRedis(), key: 'org-1', limit: 1, intervalMs: 1000 });

  const bad: Array<[string, (o: ReturnType<typeof base>) => Record<string, unknown>, string, RegExp]> = [
    ['fallback: {}', (o) => ({ ...o, fallback: {} }), 'fallback', /`fallback`: expected a RateLimiter to use while Redis is unreachable \(\{ acquire\(\) \}\), e\.g\. createRateLimiter\(\{ limit, intervalMs \}\), got an object whose acquire is undefined/],
    ['fallback: true', (o) => ({ ...o, fallback: true }), 'fallback', /got true$/],
    ['redisTimeoutMs: -1', (o) => ({ ...o, redisTimeoutMs: -1 }), 'redisTimeoutMs', /`redisTimeoutMs`: expected redisTimeoutMs as a number of milliseconds from 1 to 2147483647, got -1/],
    ["redisTimeoutMs: 'x'", (o) => ({ ...o, redisTimeoutMs: 'x' }), 'redisTimeoutMs', /got "x"$/],
    ['redisTimeoutMs: 0', (o) => ({ ...o, redisTimeoutMs: 0 }), 'redisTimeoutMs', /got 0$/],
    ["key: ''", (o) => ({ ...o, key: '' }), 'key', /`key`: expected the Redis key every process sharing the limit uses, e\.g\. 'openai:code-interpreter:org-123', got ""/],
    ['key: blank', (o) => ({ ...o, key: '  ' }), 'key', /got " {2}"$/],
    ['key: 5', (o) => ({ ...o, key: 5 }), 'key', /got 5$/],
    ['no key', ({ key: _, ...o }) => o, 'key', /got undefined$/],
    ['redis: 5', (o) => ({ ...o, redis: 5 }), 'redis', /`redis`: expected an ioredis client \(new Redis\(\.\.\.\)\) or a redis:\/\/ URL, got 5/],
    ["redis: ''", (o) => ({ ...o, redis: '' }), 'redis', /got ""$/],
    ['redis: {}', (o) => ({ ...o, redis: {} }), 'redis', /got an object$/],
    ['onRedisError not a function', (o) => ({ ...o, onRedisError: true }), 'onRedisError', /`onRedisError`: expected onRedisError as a function \(error: Error\) => void, got true/],
    ['onReset not a function', (o) => ({ ...o, onReset: 'x' }), 'onReset', /`onReset`: expected onReset as a function .*, got "x"/],
    ['onGrant not a function', (o) => ({ ...o, onGrant: 1 }), 'onGrant', /`onGrant`: expected onGrant as a function \(at: number\) => void, got 1/],
    ['limit 0', (o) => ({ ...o, limit: 0 }), 'limit', /`limit`: expected a whole number >= 1, got 0/],
    ['a typo (redisTimeoutMS)', (o) => ({ ...o, redisTimeoutMS: 500 }), '', /unknown option 'redisTimeoutMS'/],
  ];

  it.each(bad)('refuses %s, naming `%s`, before any Redis call', (_, change, key, message) => {
    const o = base();
    const error = refusal(() => createRedisRateLimiter(change(o) as unknown as RedisRateLimiterOptions));
    expect(error.message).toMatch(/^createRedisRateLimiter\(\): /);
    expect(error.message).toMatch(message);
    expect(error.issues.map((i) => i.path)).toContain(key);
    expect(o.redis.eval).not.toHaveBeenCalled();
    expect(o.redis.zrem).not.toHaveBeenCalled();
  });

  it('a fallback refused at construction is never used', () => {
    const fallback = { acquire: 'later' } as unknown as RateLimiter;
    const o = base();
    expect(() => createRedisRateLimiter({ ...o, redis: o.redis as never, fallback })).toThrow(/`fallback`/);
  });

  it('accepts good options (a client or a URL) and sends nothing until asked', async () => {
    const o = base();
    const onGrant = vi.fn();
    const limiter = createRedisRateLimiter({
      ...o,
      redis: o.redis as never,
      marginMs: 0,
      redisTimeoutMs: 500,
      fallback: createRateLimiter({ limit: 1, intervalMs: 1000 }),
      onRedisError: () => {},
      onReset: () => {},
      onGrant,
    });
    expect(o.redis.eval).not.toHaveBeenCalled();
    await limiter.acquire();
    expect(o.redis.eval).toHaveBeenCalledTimes(1);
    expect(onGrant).toHaveBeenCalledTimes(1);
    const fromUrl = createRedisRateLimiter({ redis: 'redis://127.0.0.1:1', key: 'k', limit: 1, intervalMs: 1000 });
    await fromUrl.close();
  });
});
