// Child process (run with --expose-gc): heap of a SessionPool holding `idle` idle sessions, then
// of sessions that each hold a container (made by a simulator in another process, so its state is
// not counted here), in two batches of `live`: the first pays the one-time cost of the code paths
// a container brings (compiled code, the HTTP connection pool, module caches: about 3 MiB), the
// second shows what each further session holds. Prints { idleMiBPer1000, idleTotalMiB,
// liveMiBPer1000 (second batch), liveOnceMiB (first batch minus what the second says it holds),
// timers } as JSON.
import OpenAI from 'openai';

// The library as users load it when CIS_ENTRY names the built package's entry (tsx, which runs the
// sources, keeps function names with a property per closure: about 2 KiB more per session).
const lib = (await import(process.env.CIS_ENTRY ?? '../../src/index.js')) as typeof import('../../src/index.js');
const { SessionPool, createRateLimiter } = lib;

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
  maxSessions: idle + 2 * live,
});
const timersBefore = timers();
const before = heap();
for (let i = 0; i < idle; i++) await pool.get(`user-${i}`);
const afterIdle = heap();
const idleTimers = timers() - timersBefore;
const startBatch = async (batch: number) => {
  const keys = Array.from({ length: live }, (_, i) => `live-${batch}-${i}`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map(async (k) => (await pool.get(k)).start()));
  return heap();
};
let liveMiBPer1000 = 0;
let liveOnceMiB = 0;
if (live > 0) {
  const afterFirst = await startBatch(1);
  const afterSecond = await startBatch(2);
  const perSession = (afterSecond - afterFirst) / live;
  liveMiBPer1000 = (perSession * 1000) / 1024 / 1024;
  liveOnceMiB = (afterFirst - afterIdle - perSession * live) / 1024 / 1024;
}
process.stdout.write(JSON.stringify({ idleMiBPer1000: ((afterIdle - before) / idle / 1024 / 1024) * 1000, idleTotalMiB: (afterIdle - before) / 1024 / 1024, liveMiBPer1000, liveOnceMiB, timers: idleTimers }));
await pool.close();
