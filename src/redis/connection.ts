import type { Socket } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { raceSignal } from '../abort.js';
import { InvalidOptionsError } from '../errors.js';
import { describeValue, setTimer } from '../timers.js';

/** A Redis client, or a connection URL (`redis://host:port/db`) for one the library makes and owns. */
export type RedisLike = Redis | string;

/** The zod schema of a `redis` option: an ioredis client (anything with `eval`) or a non-empty URL. */
export const redisLikeSchema = z.custom<RedisLike>(
  (v) => (typeof v === 'string' && v.trim() !== '') || (typeof v === 'object' && v !== null && typeof (v as { eval?: unknown }).eval === 'function'),
  { error: (issue) => `expected an ioredis client (new Redis(...)) or a redis:// URL, got ${describeValue(issue.input)}` },
);

/**
 * The client to use and whether this library made it (and so must close it). `redis` was checked
 * with {@link redisLikeSchema} by the constructor or factory that takes it.
 */
export async function connectRedis(redis: RedisLike, where: string, extra: RedisOptions = {}): Promise<{ client: Redis; owned: boolean }> {
  if (typeof redis !== 'string') return { client: redis, owned: false };
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
  const client = new Client(redis, { maxRetriesPerRequest: 1, ...extra });
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
      timer = setTimer(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms, { unref: true });
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A connection used by calls that are each bounded in time and by the caller's signal. One the
 * library made from a URL never keeps the process alive while no call is in flight: its socket is
 * `unref`ed between calls, it connects lazily, and it stops reconnecting while idle (the next call
 * connects again). A client you pass is left as it is: its lifetime is yours.
 */
export class BoundedRedis {
  private readonly connection: Promise<{ client: Redis; owned: boolean }>;
  private inFlight = 0;

  constructor(redis: RedisLike, where: string) {
    this.connection = connectRedis(redis, where, {
      lazyConnect: true,
      // Reconnect only while someone waits for an answer; an idle connection stays down.
      retryStrategy: (times) => (this.inFlight > 0 ? Math.min(times * 50, 500) : null),
    }).then((connection) => {
      if (connection.owned) connection.client.on('connect', () => this.applyRef(connection.client));
      return connection;
    });
    this.connection.catch(() => {}); // reported by the first call
  }

  /**
   * Runs `fn` with the client. Rejects with `signal.reason` when the signal aborts, and with the
   * error `unavailable` makes when Redis fails or does not answer within `timeoutMs`.
   */
  async call<T>(
    fn: (client: Redis) => Promise<T>,
    options: { timeoutMs: number; signal?: AbortSignal; unavailable: (cause: unknown) => Error },
  ): Promise<T> {
    const { timeoutMs, signal, unavailable } = options;
    signal?.throwIfAborted();
    const { client, owned } = await raceSignal(this.connection, signal);
    if (owned) this.hold(client);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (owned && (client.status === 'end' || client.status === 'wait')) client.connect().catch(() => {});
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return await raceSignal(Promise.race([fn(client), timeout]), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw unavailable(error);
    } finally {
      clearTimeout(timer);
      if (owned) this.release(client);
    }
  }

  /**
   * Quits the connection if it was made from a URL (a client you passed stays open). A Redis that
   * does not answer the QUIT within `timeoutMs` (paused, a dead peer) is disconnected instead.
   */
  async close(timeoutMs: number): Promise<void> {
    const { client, owned } = await this.connection;
    if (!owned || client.status === 'end') return;
    if (client.status === 'wait') return client.disconnect(); // never connected
    this.hold(client); // the QUIT reply is awaited: keep the process up for it
    try {
      await withTimeout(client.quit(), timeoutMs, 'Redis QUIT');
    } catch {
      client.disconnect();
    } finally {
      this.release(client);
    }
  }

  private hold(client: Redis): void {
    if (this.inFlight++ === 0) this.applyRef(client);
  }

  private release(client: Redis): void {
    if (--this.inFlight === 0) this.applyRef(client);
  }

  private applyRef(client: Redis): void {
    const socket = (client as unknown as { stream?: Socket }).stream;
    if (!socket) return;
    if (this.inFlight > 0) socket.ref();
    else socket.unref();
  }
}
