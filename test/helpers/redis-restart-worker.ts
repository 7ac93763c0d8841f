// Child process: one session on a Redis limiter shared with other processes, listing its files
// from `loops` concurrent loops until a line arrives on stdin. Meanwhile it prints a line `ready`
// once its first request went out (it has seen the limiter's record in Redis) and `reset <reason>`
// for each reset the limiter reports, so the parent can tell where every process is however slowly
// it started; once stopped it closes and prints, as JSON on the last line,
// what it recorded at the places that matter: the Redis time of each grant (`onGrant`), the time
// this process's code got each slot (`reserve()` resolved), the time each request's headers were
// written to the socket (undici's `undici:client:sendHeaders`, published in the write itself),
// and the limiter's resets.
import { subscribe } from 'node:diagnostics_channel';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { CodeInterpreterSession, type RateLimiter } from '../../src/index.js';
import { createRedisRateLimiter, type RateLimiterReset } from '../../src/redis/index.js';

const [serverUrl, redisUrl, key, limit, intervalMs, loops] = process.argv.slice(2);
const redisGrants: number[] = [];
const clientGrants: number[] = [];
const sends: number[] = [];
const resets: RateLimiterReset['reason'][] = [];
let failures = 0;
// Every undici request of this process is the session's (ioredis speaks over its own socket).
subscribe('undici:client:sendHeaders', () => sends.push(Date.now()));

const limiter = createRedisRateLimiter({
  redis: redisUrl!,
  key: key!,
  limit: Number(limit),
  intervalMs: Number(intervalMs),
  redisTimeoutMs: 300,
  onGrant: (at) => redisGrants.push(at),
  onReset: ({ reason }) => {
    resets.push(reason);
    process.stdout.write(`reset ${reason}\n`);
  },
});
const recording: RateLimiter = {
  acquire: (opts) => limiter.acquire(opts),
  reserve: async (opts) => {
    const slot = await limiter.reserve(opts);
    clientGrants.push(Date.now());
    return slot;
  },
};
const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-worker', baseURL: serverUrl! }),
  model: 'gpt-5',
  rateLimiter: recording,
  keepAlive: false,
  retry: false,
});

let stop = false;
const stopped = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
void stopped.then(() => (stop = true));
let ready = false;
const loop = async () => {
  while (!stop) {
    try {
      await session.listFiles();
      if (!ready) process.stdout.write('ready\n');
      ready = true;
    } catch {
      failures++; // Redis down: RateLimiterUnavailableError; tried again shortly
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
};
await Promise.all(Array.from({ length: Number(loops) }, loop));
await session.close({ deleteContainer: false });
await limiter.close();
process.stdout.write(JSON.stringify({ redisGrants, clientGrants, sends, resets, failures }));
