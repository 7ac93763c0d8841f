import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../src/index.js';
import { refusal } from './helpers/options.js';
import { MAX_TIMER_MS } from '../src/timers.js';
import { RedisSessionStore, type RedisSessionStoreOptions } from '../src/redis/index.js';

/**
 * The stores refuse bad options at construction with an `InvalidOptionsError` that names the
 * option and what to pass, like the session's and the rate-limit factories' options: not at the
 * first call, and not only once Redis answers with an error. Unknown keys are refused too. None of
 * this needs a Redis server: nothing connects before the first call.
 */

const URL = 'redis://127.0.0.1:1'; // never connected to: the store connects on its first call

describe('new RedisSessionStore() options', () => {
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no redis', {}, 'redis', /`redis`: expected an ioredis client \(new Redis\(\.\.\.\)\) or a redis:\/\/ URL, got undefined/],
    ['redis: an empty URL', { redis: '  ' }, 'redis', /got " {2}"/],
    ['redis: a number (a port)', { redis: 6379 }, 'redis', /or a redis:\/\/ URL, got 6379/],
    ['redis: an object without eval (options for ioredis, not a client)', { redis: { host: 'localhost', port: 6379 } }, 'redis', /got an object/],
    ['redis: null', { redis: null }, 'redis', /got null/],
    ['prefix: a number', { redis: URL, prefix: 5 }, 'prefix', /`prefix`: expected a string without braces, e\.g\. 'myapp:cis:' .*got 5/],
    ['prefix with a hash tag of its own', { redis: URL, prefix: '{app}:' }, 'prefix', /the store adds \{sessionId\}, the Redis Cluster hash tag .*got "\{app\}:"/],
    ['ttlMs 0', { redis: URL, ttlMs: 0 }, 'ttlMs', /`ttlMs`: expected ttlMs as a number of milliseconds from 1 to 9007199254740991, got 0/],
    ['ttlMs as a string', { redis: URL, ttlMs: '7d' }, 'ttlMs', /got "7d"/],
    ['fractional ttlMs (Redis takes whole ms)', { redis: URL, ttlMs: 1.5 }, 'ttlMs', /\(a whole number\), got 1\.5/],
    ['Infinity ttlMs', { redis: URL, ttlMs: Infinity }, 'ttlMs', /got Infinity/],
    ['negative tombstoneTtlMs', { redis: URL, tombstoneTtlMs: -1 }, 'tombstoneTtlMs', /`tombstoneTtlMs`: expected tombstoneTtlMs as a number of milliseconds from 1 to .*got -1/],
    ['tombstoneTtlMs 0 (Redis refuses PX 0)', { redis: URL, tombstoneTtlMs: 0 }, 'tombstoneTtlMs', /got 0/],
    ['redisTimeoutMs 0', { redis: URL, redisTimeoutMs: 0 }, 'redisTimeoutMs', /`redisTimeoutMs`: expected redisTimeoutMs as a number of milliseconds from 1 to 2147483647, got 0/],
    ['redisTimeoutMs NaN', { redis: URL, redisTimeoutMs: NaN }, 'redisTimeoutMs', /got NaN/],
    ['redisTimeoutMs beyond a timer', { redis: URL, redisTimeoutMs: MAX_TIMER_MS + 1 }, 'redisTimeoutMs', /got 2147483648/],
    ['lockTtlMs 1 (renewed every third of it)', { redis: URL, lockTtlMs: 1 }, 'lockTtlMs', /`lockTtlMs`: expected lockTtlMs as a number of milliseconds from 3 to 2147483647, got 1/],
    ['lockTtlMs beyond a timer', { redis: URL, lockTtlMs: MAX_TIMER_MS + 1 }, 'lockTtlMs', /got 2147483648/],
    ['negative lockWaitMs', { redis: URL, lockWaitMs: -5 }, 'lockWaitMs', /`lockWaitMs`: expected lockWaitMs as a number of milliseconds from 0 to 2147483647, got -5/],
    ['lockWaitMs as a string', { redis: URL, lockWaitMs: '2m' }, 'lockWaitMs', /got "2m"/],
    ['an unknown option (a misspelling)', { redis: URL, ttlMS: 1000 }, '', /unknown option 'ttlMS'/],
    ['an unknown option (ioredis\'s keyPrefix)', { redis: URL, keyPrefix: 'app:' }, '', /unknown option 'keyPrefix'/],
  ];

  it.each(bad)('refuses %s, naming `%s`', (_, options, key, message) => {
    const error = refusal(() => new RedisSessionStore(options as unknown as RedisSessionStoreOptions));
    expect(error.message).toMatch(/^new RedisSessionStore\(\): /);
    expect(error.message).toMatch(message);
    expect(error.issues.map((i) => i.path)).toContain(key);
  });

  it('refuses a missing options object, saying what to pass', () => {
    for (const options of [undefined, null, 'redis://localhost:6379']) {
      expect(refusal(() => new RedisSessionStore(options as never)).message).toMatch(
        /^new RedisSessionStore\(\): expected an options object such as \{ redis: 'redis:\/\/localhost:6379' \}, got /,
      );
    }
  });

  it('lists every bad option at once', () => {
    const error = refusal(() => new RedisSessionStore({ redis: 1, ttlMs: 0, redisTimeoutMs: -1, lockWaitMs: 'x', extra: true } as never));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['', 'lockWaitMs', 'redis', 'redisTimeoutMs', 'ttlMs']);
  });

  it('accepts a URL or a client, and every option at its bounds', async () => {
    const client = new Redis({ lazyConnect: true }); // never connected
    try {
      const stores = [
        new RedisSessionStore({ redis: URL }),
        new RedisSessionStore({ redis: client }),
        new RedisSessionStore({ redis: URL, prefix: '', ttlMs: 1, tombstoneTtlMs: 1, redisTimeoutMs: 0.5 + 0.5, lockTtlMs: 3, lockWaitMs: 0 }),
        new RedisSessionStore({ redis: URL, prefix: 'app:cis:', ttlMs: 30 * 24 * 60 * 60_000, tombstoneTtlMs: Number.MAX_SAFE_INTEGER, redisTimeoutMs: MAX_TIMER_MS, lockTtlMs: MAX_TIMER_MS, lockWaitMs: 1.5 }),
        new RedisSessionStore({ redis: URL, prefix: undefined, ttlMs: undefined }),
      ];
      for (const store of stores) await store.close();
      expect(client.status).toBe('wait'); // a client passed in is left as it is
    } finally {
      client.disconnect();
    }
  });
});

describe('new MemorySessionStore() options', () => {
  const bad: Array<[string, unknown, string, RegExp]> = [
    ['negative tombstoneTtlMs', { tombstoneTtlMs: -1 }, 'tombstoneTtlMs', /`tombstoneTtlMs`: expected tombstoneTtlMs as a number of milliseconds from 0 to 9007199254740991, got -1/],
    ['tombstoneTtlMs as a string', { tombstoneTtlMs: '1h' }, 'tombstoneTtlMs', /got "1h"/],
    ['NaN tombstoneTtlMs (was: no tombstone at all)', { tombstoneTtlMs: NaN }, 'tombstoneTtlMs', /got NaN/],
    ['now not a function', { now: 5 }, 'now', /`now`: expected now as a function \(\) => number \(ms\), e\.g\. Date\.now, got 5/],
    ['an unknown option', { tombstoneTTL: 5 }, '', /unknown option 'tombstoneTTL'/],
    ['options not an object', 'fast', '', /expected an options object such as \{ tombstoneTtlMs: 60_000 \} \(or none\), got "fast"/],
    ['null options', null, '', /got null/],
  ];

  it.each(bad)('refuses %s, naming `%s`', (_, options, key, message) => {
    const error = refusal(() => new MemorySessionStore(options as never));
    expect(error.message).toMatch(/^new MemorySessionStore\(\): /);
    expect(error.message).toMatch(message);
    expect(error.issues.map((i) => i.path)).toContain(key);
  });

  it('accepts no options, and each option', async () => {
    let t = 1_000;
    const stores = [new MemorySessionStore(), new MemorySessionStore({}), new MemorySessionStore({ tombstoneTtlMs: 0 }), new MemorySessionStore({ tombstoneTtlMs: 10, now: () => t })];
    for (const store of stores) expect(await store.load('s')).toBeUndefined();
    const clocked = stores[3]!;
    await clocked.delete('s');
    expect((await clocked.load('s'))?.closed).toBe(true);
    t += 10;
    expect(await clocked.load('s')).toBeUndefined(); // the tombstone lapsed on the injected clock
  });
});
