// Child process (run with --expose-gc): heap of a SessionPool holding `idle` idle sessions, then
// of `live` more that each hold a container (made by a simulator in another process, so its
// state is not counted here). Prints { idleMiBPer1000, liveMiBPer1000, timers } as JSON.
import OpenAI from 'openai';
import { SessionPool, createRateLimiter } from '../../src/index.js';

const [idleArg, liveArg, baseURL] = process.argv.slice(2);
const idle = Number(idleArg);
const live = Number(liveArg ?? 0);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

const client = new OpenAI({ apiKey: 'sk-heap', baseURL: baseURL ?? 'http://127.0.0.1:9' });
const pool = new SessionPool({
  session: { client, model: 'gpt-5', rateLimiter: createRateLimiter({ limit: 1_000_000, intervalMs: 1000 }) },
  maxSessions: idle + live,
});
const timersBefore = timers();
const before = heap();
for (let i = 0; i < idle; i++) await pool.get(`user-${i}`);
const afterIdle = heap();
const idleTimers = timers() - timersBefore;
let liveMiBPer1000 = 0;
if (live > 0) {
  const keys = Array.from({ length: live }, (_, i) => `live-${i}`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map(async (k) => (await pool.get(k)).start()));
  liveMiBPer1000 = ((heap() - afterIdle) / live / 1024 / 1024) * 1000;
}
process.stdout.write(JSON.stringify({ idleMiBPer1000: ((afterIdle - before) / idle / 1024 / 1024) * 1000, idleTotalMiB: (afterIdle - before) / 1024 / 1024, liveMiBPer1000, timers: idleTimers }));
await pool.close();
