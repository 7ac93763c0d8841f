// Pool and cost figures for `npm run bench` (registered in bench/run.ts).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import FakeTimers from '@sinonjs/fake-timers';
import { setupServer } from 'msw/node';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, type MemoryLimit } from '../src/index.js';
import { createSimulator } from '../src/testing/index.js';
import { buildPackage, builtEntry } from '../test/helpers/built-package.js';
import { startSimulatorProcess } from '../test/helpers/sim-process.js';
import { report } from './report.js';

const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const MINUTE = 60_000;

/**
 * Heap per idle pooled session and per session holding a container, in a fresh process with
 * --expose-gc, of the built package (as users load it: tsx, running the sources, adds a property
 * per named closure, about 2 KiB a session). The per-container figure is the second of two equal
 * batches: the first carries a one-time cost (code compiled for the request path, the connection
 * pool, caches), reported on its own, that dividing by a small batch (the smoke run's 200) would
 * count as per-session memory.
 */
export async function poolMemory(smoke: boolean): Promise<void> {
  await buildPackage();
  const server = await startSimulatorProcess();
  try {
    const child = fileURLToPath(new URL('../test/helpers/pool-heap.ts', import.meta.url));
    const idle = smoke ? 2_000 : 10_000;
    const live = smoke ? 200 : 1_000;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', TSX, child, String(idle), String(live), server.url], {
      maxBuffer: 1 << 20,
      env: { ...process.env, CIS_ENTRY: builtEntry('index.js') },
    });
    const figures = JSON.parse(stdout) as { idleMiBPer1000: number; liveMiBPer1000: number; liveOnceMiB: number; timers: number };
    report({ name: 'pool.heap_mib_per_1000_idle', value: figures.idleMiBPer1000, unit: 'MiB', goal: '<= 10' });
    report({ name: 'pool.heap_mib_per_1000_with_container', value: figures.liveMiBPer1000, unit: 'MiB', goal: '<= 20' });
    report({ name: 'pool.heap_mib_once_for_containers', value: figures.liveOnceMiB, unit: 'MiB', goal: '<= 8' });
    report({ name: `pool.timers_for_${idle}_idle`, value: figures.timers, unit: 'timers', goal: '<= 1' });
  } finally {
    await server.stop();
  }
}

/** Container cost on a simulated clock, measured through sessions against the simulator. */
export async function costs(): Promise<void> {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  try {
    // In-process (msw): requests reach the simulator at the simulated instant they are sent.
    const sim = createSimulator();
    const server = setupServer(...sim.handlers);
    server.listen({ onUnhandledFrame: 'error' });
    const client = new OpenAI({ apiKey: 'sk-bench', maxRetries: 0, timeout: 1e9 });
    const limiter = createRateLimiter({ limit: 100_000, intervalMs: 1000 });
    const session = (memoryLimit: MemoryLimit, keepAlive: boolean) =>
      new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: limiter, container: { memoryLimit }, keepAlive: keepAlive ? {} : false });
    const pass = async (ms: number) => {
      for (let t = 0; t < ms; t += MINUTE) await clock.tickAsync(MINUTE);
    };

    // A 1g container alive 7 minutes, and one alive 2 minutes (billed the 5-minute minimum).
    const seven = session('1g', false);
    const two = session('1g', false);
    await Promise.all([seven.start(), two.start()]);
    await pass(2 * MINUTE);
    await two.close();
    await pass(5 * MINUTE);
    await seven.close();
    report({ name: 'cost.1g_7_minutes_usd', value: seven.stats.cost.estimatedUsd, unit: 'USD', goal: '== 0.0105' });
    report({ name: 'cost.1g_2_minutes_billed_minutes', value: two.stats.cost.billedMinutes, unit: 'minutes', goal: '== 5' });

    // What the default keep-alive (idleTimeoutMs 1 hour) adds to a session left idle, per tier.
    const tiers: MemoryLimit[] = ['1g', '4g', '16g', '64g'];
    const idle = tiers.map((tier) => session(tier, true));
    await Promise.all(idle.map((s) => s.start()));
    await pass(2 * 60 * MINUTE);
    idle.forEach((s, i) => {
      const { keepAlive } = s.stats.cost;
      report({ name: `cost.default_keepalive_idle_${tiers[i]}_usd`, value: keepAlive.usd, unit: 'USD', goal: `== ${[0.072, 0.288, 1.152, 4.608][i]}` });
      if (i === 0) report({ name: 'cost.default_keepalive_idle_minutes', value: keepAlive.minutes, unit: 'minutes', goal: '== 48' });
    });
    await Promise.all(idle.map((s) => s.close()));
    server.close();
  } finally {
    clock.uninstall();
  }
}
