import { describe, inject } from 'vitest';

/**
 * The Redis server the suite runs its Redis tests against: `REDIS_URL`, or a redis-server the
 * global setup started on a free port. Empty when neither is there (then the Redis tests are
 * skipped by name, and `REQUIRE_REDIS=1` — set by `.ci/run` — turns that into a failure).
 */
export const redisUrl: string = inject('redisUrl');

/**
 * `describe` for tests that need a real Redis server: skipped, by name, when the suite has none.
 * Every test file that talks to Redis uses this instead of `describe`.
 */
export const describeRedis = describe.skipIf(!redisUrl);
