// Child process of the bench: one session on a Redis limiter shared with other processes (10 per
// second, default options): its container, then `count` concurrent file listings against the simulator at `serverUrl`.
import OpenAI from 'openai';
import { CodeInterpreterSession } from '../src/index.js';
import { createRedisRateLimiter } from '../src/redis/index.js';

const [serverUrl, redisUrl, key, count] = process.argv.slice(2);
const rateLimiter = createRedisRateLimiter({ redis: redisUrl!, key: key!, limit: 10, intervalMs: 1000 });
const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-bench', baseURL: serverUrl!, maxRetries: 0 }),
  model: 'gpt-5',
  rateLimiter,
  keepAlive: false,
});
await session.start();
await Promise.all(Array.from({ length: Number(count) }, () => session.listFiles()));
await session.close({ deleteContainer: false });
await rateLimiter.close();
