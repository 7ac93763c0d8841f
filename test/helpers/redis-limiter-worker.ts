// Child process: takes `count` slots from a shared Redis limiter and prints the Redis-server times of its grants.
// It prints `ready` once loaded and starts when a line arrives on stdin, so that processes which
// started seconds apart on a loaded machine still compete from the same moment.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createRedisRateLimiter } from '../../src/redis/index.js';

const [redisUrl, key, limit, intervalMs, count, skewMs = '0'] = process.argv.slice(2);
// A host whose clock is off: the limiter must not care (it is timed by the Redis server).
const realNow = Date.now;
Date.now = () => realNow() + Number(skewMs);
const grants: number[] = [];
const limiter = createRedisRateLimiter({ redis: redisUrl!, key: key!, limit: Number(limit), intervalMs: Number(intervalMs), onGrant: (at) => grants.push(at) });
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await once(lines, 'line');
lines.close();
for (let i = 0; i < Number(count); i++) await limiter.acquire();
await limiter.close();
process.stdout.write(JSON.stringify(grants));
