import type { Redis } from 'ioredis';
import { InvalidOptionsError } from '../errors.js';

/** A Redis client, or a connection URL (`redis://host:port/db`) for one the library makes and owns. */
export type RedisLike = Redis | string;

/** The client to use and whether this library made it (and so must close it). */
export async function connectRedis(redis: RedisLike, where: string): Promise<{ client: Redis; owned: boolean }> {
  if (typeof redis !== 'string') {
    if (!redis || typeof (redis as Redis).eval !== 'function') {
      throw new InvalidOptionsError(where, [{ path: 'redis', message: 'expected an ioredis client or a redis:// URL' }]);
    }
    return { client: redis, owned: false };
  }
  let Client: typeof import('ioredis').Redis;
  try {
    Client = (await import('ioredis')).Redis;
  } catch (error) {
    throw new InvalidOptionsError(where, [
      { path: 'redis', message: `a URL needs the optional peer dependency ioredis (npm install ioredis): ${(error as Error).message}` },
    ]);
  }
  // A command waits for the connection, but fails after one reconnection attempt instead of
  // queueing forever: callers decide what an outage means (the limiter's fallback, an error).
  const client = new Client(redis, { maxRetriesPerRequest: 1 });
  // Connection errors reach the caller through the commands that fail (and the limiter's
  // onRedisError); without a listener ioredis would also print each reconnect attempt.
  client.on('error', () => {});
  return { client, owned: true };
}

/** Rejects if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}
