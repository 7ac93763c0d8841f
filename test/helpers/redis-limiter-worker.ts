// Child process: takes `count` slots from a shared Redis limiter and prints the Redis-server times of its grants.
import { createRedisRateLimiter } from '../../src/redis/index.js';

const [redisUrl, key, limit, intervalMs, count] = process.argv.slice(2);
const grants: number[] = [];
const limiter = createRedisRateLimiter({ redis: redisUrl!, key: key!, limit: Number(limit), intervalMs: Number(intervalMs), onGrant: (at) => grants.push(at) });
for (let i = 0; i < Number(count); i++) await limiter.acquire();
await limiter.close();
process.stdout.write(JSON.stringify(grants));
