import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep } from '../abort.js';
import { CodeInterpreterError, describeError } from '../errors.js';
import { validateLimiterOptions } from '../ratelimit/sliding-window.js';
import type { RateLimiter, RateLimiterOptions } from '../ratelimit/types.js';
import { connectRedis, withTimeout, type RedisLike } from './connection.js';

/**
 * An exact sliding log in one atomic script, timed by the Redis server's clock (`TIME`), so hosts
 * with skewed clocks agree. It drops entries that left the window, grants when fewer than `limit`
 * remain, and otherwise answers how long until the oldest leaves. Microsecond scores; the key
 * expires one window after the last grant, so nothing lingers when every process is gone.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return {1, 0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now, now}
`;

export class RateLimiterUnavailableError extends CodeInterpreterError {}

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  /** An ioredis client, or a URL for a connection the limiter makes (and closes in `close()`). */
  redis: RedisLike;
  /** The Redis key every process sharing the limit uses, e.g. `openai:code-interpreter:org-123`. */
  key: string;
  /** How long one Redis call may take before it counts as unreachable. @default 2_000 */
  redisTimeoutMs?: number;
  /**
   * Used while Redis cannot be reached. Without one, `acquire()` rejects with
   * `RateLimiterUnavailableError`: running unthrottled could exceed the organisation's limit.
   * @default none
   */
  fallback?: RateLimiter;
  /** Told each time Redis could not be reached (and the fallback, if any, was used). */
  onRedisError?: (error: Error) => void;
  /** Told the Redis server's time (ms, microsecond precision) of each grant this process got. */
  onGrant?: (at: number) => void;
}

export interface RedisRateLimiter extends RateLimiter {
  /** Closes the connection if the limiter made it from a URL. */
  close(): Promise<void>;
}

/** Extra wait on top of what the script answers, so pollers do not all arrive in the same millisecond. */
const POLL_JITTER_MS = 3;

/**
 * A sliding-window limiter shared by every process and host that uses the same Redis `key`: never
 * more than `limit` acquisitions in any `intervalMs`, by the Redis server's clock. Waiters sleep
 * for the wait the script returns (no busy loop).
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  validateLimiterOptions('createRedisRateLimiter()', options);
  const { key, limit, intervalMs, fallback, onRedisError, onGrant } = options;
  const timeoutMs = options.redisTimeoutMs ?? 2_000;
  const connection = connectRedis(options.redis, 'createRedisRateLimiter()');
  connection.catch(() => {}); // reported by the first acquire()
  const owner = randomUUID();
  let sequence = 0;

  const attempt = async (client: Redis): Promise<number> => {
    const [granted, waitUs, nowUs] = (await withTimeout(
      client.eval(ACQUIRE_SCRIPT, 1, key, limit, intervalMs, `${owner}:${sequence++}`) as Promise<[number, number, number]>,
      timeoutMs,
      'Redis',
    )) as [number, number, number];
    if (granted === 1) {
      onGrant?.(nowUs / 1000);
      return 0;
    }
    return Math.max(1, Math.ceil(waitUs / 1000));
  };

  return {
    async acquire(opts = {}) {
      const { signal } = opts;
      signal?.throwIfAborted();
      const { client } = await connection;
      for (;;) {
        let waitMs: number;
        try {
          waitMs = await attempt(client);
        } catch (error) {
          const problem = error instanceof Error ? error : new Error(String(error));
          onRedisError?.(problem);
          if (fallback) return fallback.acquire(opts);
          throw new RateLimiterUnavailableError(
            `The Redis rate limiter (key '${key}') could not reach Redis: ${describeError(problem)}. ` +
              'Check the connection, or pass `fallback: createRateLimiter({ limit, intervalMs })` to throttle in-process meanwhile.',
            { cause: problem },
          );
        }
        if (waitMs === 0) return;
        await sleep(waitMs + Math.random() * POLL_JITTER_MS, signal);
      }
    },
    async close() {
      const { client, owned } = await connection.catch(() => ({ client: undefined, owned: false }));
      if (owned && client) await client.quit().catch(() => client.disconnect());
    },
  };
}
