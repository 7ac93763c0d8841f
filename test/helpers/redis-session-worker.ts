// Child process: continues the shared session `sessionId` (state in Redis), runs one prompt, and
// leaves the container for the next process. Prints what happened as JSON.
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter } from '../../src/index.js';
import { RedisSessionStore } from '../../src/redis/index.js';

const [baseURL, redisUrl, sessionId, prompt, upload] = process.argv.slice(2);
const store = new RedisSessionStore({ redis: redisUrl!, prefix: 'test:' });
const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-worker', baseURL: baseURL! }),
  model: 'gpt-5',
  sessionId: sessionId!,
  store,
  rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }),
  keepAlive: false,
});
const events: string[] = [];
session.on('container.recreated', () => events.push('container.recreated'));
if (upload) await session.upload(new TextEncoder().encode(upload), { filename: 'sales.csv' });
const result = await session.run(prompt!);
await session.close({ deleteContainer: false, deleteFiles: false });
await store.close();
process.stdout.write(JSON.stringify({ containerId: result.containerId, recovered: result.recovered, responseId: result.responseId, text: result.text, events, stats: session.stats }));
