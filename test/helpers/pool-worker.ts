// Child process: a SessionPool on a shared RedisSessionStore (end: 'detach'); runs one prompt for
// the key "alice" and shuts the pool down as on SIGTERM. Prints the session and container ids.
import OpenAI from 'openai';
import { SessionPool, createRateLimiter } from '../../src/index.js';
import { RedisSessionStore } from '../../src/redis/index.js';

const [baseURL, redisUrl, prefix] = process.argv.slice(2);
const store = new RedisSessionStore({ redis: redisUrl!, prefix: prefix! });
const pool = new SessionPool({
  session: {
    client: new OpenAI({ apiKey: 'sk-worker', baseURL: baseURL! }),
    model: 'gpt-5',
    store,
    rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }),
    keepAlive: false,
  },
  end: 'detach',
});
const result = await pool.use('alice', (session) => session.run('How many rows?'));
const sessionId = pool.peek('alice')!.id;
await pool.close();
await store.close();
process.stdout.write(JSON.stringify({ containerId: result.containerId, sessionId }));
