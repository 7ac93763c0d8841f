// A script that closes its session but neither the Redis limiter nor the Redis store it made from
// URLs: it must still exit by itself.
import OpenAI from 'openai';
import { CodeInterpreterSession } from '../../src/index.js';
import { RedisSessionStore, createRedisRateLimiter } from '../../src/redis/index.js';
import { createSimulator } from '../../src/testing/index.js';

const [redisUrl, key] = process.argv.slice(2);
const sim = createSimulator();
const server = await sim.listen();
const rateLimiter = createRedisRateLimiter({ redis: redisUrl!, key: key!, limit: 100, intervalMs: 100 });
const store = new RedisSessionStore({ redis: redisUrl!, prefix: `${key}:store:` });
const session = new CodeInterpreterSession({ client: new OpenAI({ apiKey: 'sk-test', baseURL: server.url }), model: 'gpt-5', rateLimiter, store });
await session.run('How many rows?');
await session.close();
await server.close();
console.log(`closed after ${sim.requests.length} requests`);
