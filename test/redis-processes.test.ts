// Many processes, one session: real child processes, a real redis-server, and the simulator over
// HTTP in its own process. Everything is measured where the truth is: the simulator's own state
// and request log, and the keys in Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/redis/index.js';
import { describeRedis, redisUrl } from './helpers/redis.js';
import { startRedis } from './helpers/redis-server.js';
import { startSimulatorProcess } from './helpers/sim-process.js';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const WORKER = fileURLToPath(new URL('./helpers/redis-shared-worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  /** The next JSON line the worker printed. */
  next: <T = Record<string, unknown>>() => Promise<T>;
  exit: Promise<number | null>;
}

function startWorker(job: Record<string, unknown>): Worker {
  const child = spawn(process.execPath, ['--import', TSX, WORKER, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: unknown[] = [];
  const waiting: Array<(value: unknown) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const value = JSON.parse(line) as unknown;
    const take = waiting.shift();
    if (take) take(value);
    else queue.push(value);
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    exit,
    next: <T,>() =>
      (queue.length ? Promise.resolve(queue.shift()) : Promise.race([new Promise((resolve) => waiting.push(resolve)), exit.then((code) => Promise.reject(new Error(`worker exited (${code}) before reporting`)))])) as Promise<T>,
  };
}

let sim: Awaited<ReturnType<typeof startSimulatorProcess>>;
let redis: Redis;
let run = 0;
const job = (extra: Record<string, unknown>) => ({ baseURL: sim.url, redisUrl, prefix: 'mp:', ...extra });
const requests = () => sim.control.requests();

beforeAll(async () => {
  if (!redisUrl) return;
  sim = await startSimulatorProcess({ expireAfterIdleMs: 4000 });
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis?.quit();
  await sim?.stop();
});

describeRedis('one session shared by several processes (real processes, real Redis, simulator over HTTP)', () => {
  for (const processes of [2, 4]) {
    it(`${processes} processes start together on one sessionId, each uploading 3 files and running 3 turns: 1 container, every file and every turn kept; close() from a fresh process leaves nothing`, async () => {
      const sessionId = `together-${processes}-${++run}-${Date.now()}`;
      const createsBefore = (await requests()).filter((r) => r.method === 'POST' && r.path === '/containers').length;
      const workers = Array.from({ length: processes }, () => startWorker(job({ mode: 'share', sessionId, uploads: 3, turns: 3, processes })));
      const reports = await Promise.all(workers.map((w) => w.next<{ uploaded: string[]; containers: string[]; prompts: string[] }>()));
      expect(await Promise.all(workers.map((w) => w.exit))).toEqual(Array(processes).fill(0));

      // One container, made once, used by every process.
      const creates = (await requests()).filter((r) => r.method === 'POST' && r.path === '/containers').length - createsBefore;
      const containers = new Set(reports.flatMap((r) => r.containers));
      console.log(`${processes} processes: ${creates} container create(s), containers used ${containers.size}`);
      expect(creates).toBe(1);
      expect(containers.size).toBe(1);
      const [containerId] = [...containers];

      // The manifest in Redis holds every upload, and the container every file.
      const state = (await new RedisSessionStore({ redis, prefix: 'mp:' }).load(sessionId))!;
      const uploaded = reports.flatMap((r) => r.uploaded).sort();
      expect(uploaded).toHaveLength(processes * 3);
      expect(state.files.map((f) => f.fileId).sort()).toEqual(uploaded);
      const inContainer = await sim.control.containerFiles(containerId!);
      expect(inContainer.filter((f) => f.path.endsWith('.csv'))).toHaveLength(processes * 3);

      // Every turn of every process is in the transcript, question and answer together.
      const transcript = state.conversation.transcript;
      expect(transcript).toHaveLength(processes * 3 * 2);
      expect(transcript.filter((e) => e.role === 'user').map((e) => e.text).sort()).toEqual(reports.flatMap((r) => r.prompts).sort());

      // A process that never used the session closes it: it loads the shared state and deletes it all.
      const closer = startWorker(job({ mode: 'close', sessionId }));
      expect(await closer.next()).toEqual({ closed: true });
      expect(await closer.exit).toBe(0);
      expect((await sim.control.container(containerId!))?.status).toBe('deleted');
      const files = await sim.control.files();
      expect(files.filter((f) => uploaded.includes(f.id) && !f.deleted)).toEqual([]);
      expect(await redis.exists(`mp:{${sessionId}}:state`, `mp:{${sessionId}}:files`, `mp:{${sessionId}}:transcript`)).toBe(0);

      // Another process's later call gets SessionClosedError, and no container is made.
      const late = startWorker(job({ mode: 'late', sessionId }));
      expect(await late.next()).toMatchObject({ error: { name: 'SessionClosedError' } });
      expect(await late.exit).toBe(0);
      expect((await requests()).filter((r) => r.method === 'POST' && r.path === '/containers').length - createsBefore).toBe(1);
    }, 120_000);
  }

  it('0 running containers and 0 files left in the simulator after every close()', async () => {
    // Runs after the shared sessions above (vitest runs a file's tests in order).
    expect((await sim.control.state()).runningContainers.length).toBe(0);
    const files = await sim.control.files();
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !f.deleted)).toEqual([]);
  });

  it('the keep-alive lease holder is SIGKILLed: another process takes over in time and the container survives', async () => {
    const sessionId = `lease-${Date.now()}`;
    // The simulator expires a container after 4 s idle; the sessions touch every 1 s.
    const a = startWorker(job({ mode: 'keepalive', sessionId, keepAliveMs: 1000 }));
    const first = await a.next<{ pid: number; containerId: string }>();
    const b = startWorker(job({ mode: 'keepalive', sessionId, keepAliveMs: 1000 }));
    const second = await b.next<{ pid: number; containerId: string }>();
    expect(second.containerId).toBe(first.containerId);
    const { containerId } = first;
    await new Promise((r) => setTimeout(r, 2500));
    const holder = await redis.get(`mp:{${sessionId}}:lease:keepalive`);
    expect(holder).toMatch(/^\d+-/);
    const holderPid = Number(holder!.split('-')[0]);
    const [victim, survivor] = holderPid === first.pid ? [a, b] : [b, a];
    expect([first.pid, second.pid]).toContain(holderPid);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exit;
    await new Promise((r) => setTimeout(r, 10_000));

    // In the simulator's log: the container was never idle for its 4 s after the kill, and it runs.
    const log = (await requests()).filter((r) => r.path === `/containers/${containerId}` && r.time >= killedAt - 4000);
    const times = [killedAt - 4000, ...log.map((r) => r.time).filter((t) => t >= killedAt - 4000), Date.now()].sort((x, y) => x - y);
    const longestIdle = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    console.log(`lease takeover: longest idle gap around the kill ${longestIdle} ms (expiry 4000 ms)`);
    expect(longestIdle).toBeLessThan(4000);
    expect((await sim.control.container(containerId))?.status).toBe('running');
    expect(Number((await redis.get(`mp:{${sessionId}}:lease:keepalive`))!.split('-')[0])).not.toBe(holderPid);
    survivor.child.stdin!.write('stop\n');
    expect(await survivor.exit).toBe(0);
    const closer = startWorker(job({ mode: 'close', sessionId }));
    expect(await closer.exit).toBe(0);
    expect((await sim.control.container(containerId))?.status).toBe('deleted');
  }, 60_000);

  it('a script that uses a RedisSessionStore made from a URL and closes its session exits by itself', async () => {
    const worker = startWorker(job({ mode: 'exit', sessionId: `exit-${Date.now()}` }));
    expect(await worker.next()).toEqual({ done: true });
    const code = await Promise.race([worker.exit, new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000))]);
    if (code !== 0) worker.child.kill('SIGKILL');
    expect(code).toBe(0);
  }, 60_000);

  it('Redis SIGSTOPped: run({ timeoutMs: 1000 }) settles within 1.5 s; close() within redisTimeoutMs and still deletes the container', async () => {
    // A Redis server of its own: the others keep running.
    const own = await startRedis();
    try {
      const worker = startWorker({ ...job({ mode: 'stall', sessionId: `stall-${Date.now()}` }), redisUrl: own.url });
      const { containerId } = await worker.next<{ containerId: string }>();
      own.child.kill('SIGSTOP');
      worker.child.stdin!.write('go\n');
      const outcome = await worker.next<{ runMs: number; runError?: { name: string }; closeMs: number; closeError?: { name: string; message: string } }>();
      console.log(`Redis stopped: run settled in ${outcome.runMs.toFixed(0)} ms (${outcome.runError?.name}), close() in ${outcome.closeMs.toFixed(0)} ms`);
      expect(outcome.runError?.name).toBe('TimeoutError');
      expect(outcome.runMs).toBeLessThan(1500);
      expect(outcome.closeError?.name).toBe('SessionCleanupError'); // a CodeInterpreterError listing what was left (here: nothing known, the store failed)
      expect(outcome.closeError?.message).toMatch(/RedisSessionStore: delete failed: .*redisTimeoutMs/);
      expect(outcome.closeMs).toBeLessThan(2000 + 1000);
      expect((await sim.control.container(containerId))?.status).toBe('deleted');
      expect(await worker.exit).toBe(0);
    } finally {
      own.child.kill('SIGCONT');
      own.child.kill('SIGTERM');
      await once(own.child, 'exit');
    }
  }, 60_000);
});
