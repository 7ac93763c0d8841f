// Child process: a SessionPool on a shared RedisSessionStore (end: 'detach'). Prints `ready` once
// its pool is made, then waits for a line on stdin, so that several workers start together. Then,
// for the key "alice", uploads its own CSV and runs one prompt, and shuts the pool down as on
// SIGTERM. Its requests carry `x-client: <name>` so the simulator's log tells the workers apart.
// Prints the session id, the container its run used and the pool's stats as JSON.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { SessionPool, createRateLimiter } from '../../src/index.js';
import { RedisSessionStore } from '../../src/redis/index.js';

const [baseURL, redisUrl, prefix, name] = process.argv.slice(2);
const store = new RedisSessionStore({ redis: redisUrl!, prefix: prefix! });
const pool = new SessionPool({
  session: {
    client: new OpenAI({ apiKey: 'sk-worker', baseURL: baseURL!, defaultHeaders: { 'x-client': name! } }),
    model: 'gpt-5',
    store,
    rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }),
    keepAlive: false,
  },
  end: 'detach',
});
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await once(lines, 'line');
lines.close();
const result = await pool.use('alice', async (session) => {
  await session.upload(new TextEncoder().encode(`region,revenue\n${name},1\n`), { filename: `${name}.csv` });
  return session.run(`How many rows in ${name}.csv?`);
});
const sessionId = pool.peek('alice')!.id;
const { created, sessions } = pool.stats;
await pool.close();
await store.close();
process.stdout.write(`${JSON.stringify({ containerId: result.containerId, sessionId, created, sessions, text: result.text })}\n`);
