// Rate limits measured where the server counts them: arrival times from the simulator's own
// request log, the simulator in its own process, requests sent by sessions over loopback HTTP.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, DEFAULT_RATE_LIMIT, type RateLimiter, type RateLimitSlot, type SlidingWindowLimiter } from '../src/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { startSimulatorProcess } from '../test/helpers/sim-process.js';
import { withCpuHog } from './cpu-hog.js';
import { maxInAnyWindow, report } from './report.js';

const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));

type Server = Awaited<ReturnType<typeof startSimulatorProcess>>;
const arrivals = async (server: Server) => (await server.control.requests()).map((r) => r.time);

/**
 * `calls` concurrent calls spread over `sessions` sessions sharing `limiter`: runs, or file
 * listings (light for the server, so that its own queue does not stand in for the limiter's work).
 */
async function burst(server: Server, limiter: RateLimiter, sessions: number, calls: number, kind: 'run' | 'list'): Promise<void> {
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.url, maxRetries: 0 });
  const all = Array.from({ length: sessions }, () => new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: limiter, keepAlive: false }));
  await Promise.all(
    Array.from({ length: calls }, (_, i) => (kind === 'run' ? all[i % sessions]!.run(`question ${i}`, { newConversation: true }) : all[i % sessions]!.listFiles())),
  );
  await Promise.all(all.map((s) => s.close({ deleteContainer: false })));
}

/** A limiter that stamps every slot when the answer starts, ignoring what the server says it spent (the control). */
function stampedAtAnswer(limiter: SlidingWindowLimiter): RateLimiter {
  const atAnswer = (slot: RateLimitSlot): RateLimitSlot => ({ sent: () => slot.sent(), release: () => slot.release() });
  return {
    acquire: (opts) => limiter.acquire(opts),
    tryAcquire: () => limiter.tryAcquire(),
    reserve: async (opts) => atAnswer(await limiter.reserve(opts)),
    tryReserve: () => {
      const slot = limiter.tryReserve();
      return slot && atAnswer(slot);
    },
  };
}

interface Scenario {
  /** How long the simulator takes to answer each request (it says so in `openai-processing-ms`). */
  latencyMs?: number;
  /** Ignore the server's `openai-processing-ms` (the control for slow answers). */
  ignoreProcessingTime?: boolean;
}

/**
 * (a) and (c): the default limiter scaled to 50 per second (a margin, if it had one, scaled with
 * it), `total` file listings in 10 sessions. Returns the simulator's arrival times.
 */
async function scaledDefault(label: string, total: number, scenario: Scenario = {}): Promise<number[]> {
  const server = await startSimulatorProcess(scenario.latencyMs ? { latencyMs: scenario.latencyMs } : {});
  try {
    const intervalMs = 1000;
    const grants: number[] = [];
    const marginMs = DEFAULT_RATE_LIMIT.marginMs === undefined ? undefined : (DEFAULT_RATE_LIMIT.marginMs / DEFAULT_RATE_LIMIT.intervalMs) * intervalMs;
    const limiter = createRateLimiter({ limit: 50, intervalMs, marginMs, onGrant: (at) => grants.push(at) });
    await burst(server, scenario.ignoreProcessingTime ? stampedAtAnswer(limiter) : limiter, 10, total, 'list');
    const times = await arrivals(server);
    report({ name: `throttle.server_max_window_ratio.${label}`, value: maxInAnyWindow(times, intervalMs) / 50, unit: 'ratio', goal: '<= 1' });
    report({ name: `throttle.grant_max_window_ratio.${label}`, value: maxInAnyWindow(grants, intervalMs) / 50, unit: 'ratio', goal: '<= 1' });
    return times;
  } finally {
    await server.stop();
  }
}

/**
 * How much of the server's capacity the limiter used: the shortest span over which any limiter
 * keeping `limit` arrivals in every window could have delivered these requests, over the span it
 * took. The first `limit` requests are held back by no limiter, so when they reached the server is
 * the workload's doing (new connections, containers created first); every later arrival can come
 * no sooner than one window after the one `limit` places before it. So the best possible last
 * arrival is the m-th first-window arrival plus (windows - 1) windows, m being the number of
 * requests in the last window.
 */
function utilisation(times: readonly number[], limit: number, intervalMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const windows = Math.ceil(sorted.length / limit);
  const inLast = sorted.length - (windows - 1) * limit;
  const best = sorted[inLast - 1]! - sorted[0]! + (windows - 1) * intervalMs;
  return best / (sorted.at(-1)! - sorted[0]!);
}

/**
 * The same over the span counted from the first arrival alone, as if the first window's requests
 * could all have arrived at once: it also charges the workload's own start to the limiter.
 */
function utilisationFromFirstArrival(times: readonly number[], limit: number, intervalMs: number): number {
  return ((Math.ceil(times.length / limit) - 1) * intervalMs) / (Math.max(...times) - Math.min(...times));
}

export async function serverWindows(smoke: boolean): Promise<void> {
  const total = smoke ? 100 : 500;
  // (a)
  const times = await scaledDefault('default_scaled', total);
  report({ name: 'throttle.utilisation', value: utilisation(times, 50, 1000), unit: 'ratio', goal: '>= 0.97' });
  report({ name: 'throttle.utilisation.from_first_arrival', value: utilisationFromFirstArrival(times, 50, 1000), unit: 'ratio', goal: 'info' });

  // Answers that take the server 300 ms (as a run or an upload does, in seconds): each slot is
  // dated back by the time the server says it spent (`openai-processing-ms`). Side by side with
  // the same limiter stamping at the answer alone, which holds every slot 300 ms more per window.
  {
    const slowTotal = smoke ? 100 : 300;
    const slow = await scaledDefault('slow_answers', slowTotal, { latencyMs: 300 });
    const control = await scaledDefault('slow_answers_control', slowTotal, { latencyMs: 300, ignoreProcessingTime: true });
    report({ name: 'throttle.utilisation.slow_answers', value: utilisation(slow, 50, 1000), unit: 'ratio', goal: '>= 0.97' });
    report({ name: 'throttle.utilisation.slow_answers_vs_stamped_at_answer', value: utilisation(slow, 50, 1000) / utilisation(control, 50, 1000), unit: 'x', goal: '>= 1.2' });
  }

  // (b) createRateLimiter({ limit: 10, intervalMs: 1000 }), no options: one session, 20 concurrent
  // runs, 5 times. Between repetitions the server's keep-alive (5 s) lapses, so each starts on
  // new connections, as the first requests of a process do.
  {
    const server = await startSimulatorProcess();
    try {
      for (let round = 0; round < (smoke ? 2 : 5); round++) {
        if (round > 0) await sleep(5_500);
        await burst(server, createRateLimiter({ limit: 10, intervalMs: 1000 }), 1, 20, 'run');
      }
      const arrived = await arrivals(server);
      report({ name: 'throttle.server_max_window_ratio.no_options', value: maxInAnyWindow(arrived, 1000) / 10, unit: 'ratio', goal: '<= 1' });
    } finally {
      await server.stop();
    }
  }

  // (c) (a) while a CPU-bound child process competes for the cores.
  await withCpuHog(() => scaledDefault('cpu_hog', total));

  // (d) the Redis limiter shared by 4 processes at 10 per second, default options.
  {
    const { url: redisUrl, child } = await startRedis();
    const server = await startSimulatorProcess();
    try {
      await sleep(1100); // a Redis started less than a window ago grants nothing for a window (docs/rate-limits.md)
      const worker = fileURLToPath(new URL('./redis-session-worker.ts', import.meta.url));
      const key = `bench:${Date.now()}`;
      const perProcess = smoke ? 5 : 25;
      await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--import', TSX, worker, server.url, redisUrl, key, String(perProcess)])));
      const arrived = await arrivals(server);
      report({ name: 'redis.server_max_window_ratio', value: maxInAnyWindow(arrived, 1000) / 10, unit: 'ratio', goal: '<= 1' });
      report({ name: 'redis.utilisation', value: utilisation(arrived, 10, 1000), unit: 'ratio', goal: '>= 0.9' });
      report({ name: 'redis.utilisation.from_first_arrival', value: utilisationFromFirstArrival(arrived, 10, 1000), unit: 'ratio', goal: 'info' });
    } finally {
      await server.stop();
      child.kill('SIGTERM');
    }
  }
}
