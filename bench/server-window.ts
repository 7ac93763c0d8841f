// Rate limits measured where the server counts them: arrival times from the simulator's own
// request log, the simulator in its own process, requests sent by sessions over loopback HTTP.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, DEFAULT_RATE_LIMIT, type RateLimiter } from '../src/index.js';
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

/** (a) and (c): the default limiter scaled to 50 per second (a margin, if it had one, scaled with it), 500 file listings in 10 sessions. */
async function scaledDefault(label: string, total: number): Promise<number[]> {
  const server = await startSimulatorProcess();
  try {
    const intervalMs = 1000;
    const grants: number[] = [];
    const marginMs = DEFAULT_RATE_LIMIT.marginMs === undefined ? undefined : (DEFAULT_RATE_LIMIT.marginMs / DEFAULT_RATE_LIMIT.intervalMs) * intervalMs;
    const limiter = createRateLimiter({ limit: 50, intervalMs, marginMs, onGrant: (at) => grants.push(at) });
    await burst(server, limiter, 10, total, 'list');
    const times = await arrivals(server);
    report({ name: `throttle.server_max_window_ratio.${label}`, value: maxInAnyWindow(times, intervalMs) / 50, unit: 'ratio', goal: '<= 1' });
    report({ name: `throttle.grant_max_window_ratio.${label}`, value: maxInAnyWindow(grants, intervalMs) / 50, unit: 'ratio', goal: '<= 1' });
    return times;
  } finally {
    await server.stop();
  }
}

export async function serverWindows(smoke: boolean): Promise<void> {
  const total = smoke ? 100 : 500;
  // (a)
  const times = await scaledDefault('default_scaled', total);
  const ideal = (Math.ceil(times.length / 50) - 1) * 1000;
  report({ name: 'throttle.utilisation', value: ideal / (Math.max(...times) - Math.min(...times)), unit: 'ratio', goal: '>= 0.97' });

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
      const ideal = (Math.ceil(arrived.length / 10) - 1) * 1000;
      report({ name: 'redis.utilisation', value: ideal / (Math.max(...arrived) - Math.min(...arrived)), unit: 'ratio', goal: '>= 0.9' });
    } finally {
      await server.stop();
      child.kill('SIGTERM');
    }
  }
}
