/**
 * Sharing one rate limit and one session across processes and hosts, through Redis.
 * Needs the optional peer dependency `ioredis`.
 * @module
 */
export {
  createRedisRateLimiter,
  RateLimiterUnavailableError,
  type RateLimiterReset,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
} from './rate-limiter.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session-store.js';
export type { RedisLike } from './connection.js';
