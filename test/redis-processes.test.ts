// Many processes, one session: real child processes, a real redis-server, and the simulator over
// HTTP in its own process. Everything is measured where the truth is: the simulator's own state
// and request log, and the keys in Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keepAliveLeaseMs } from '../src/container/keep-alive.js';
import { RedisSessionStore } from '../src/redis/index.js';
import { describeRedis, redisUrl } from './helpers/redis.js';
import { startRedis } from './helpers/redis-server.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { killAfter } from './helpers/watchdog.js';

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

/** The simulator's idle expiry, and the keep-alive interval of the lease test's sessions. */
const EXPIRE_AFTER_IDLE_MS = 4000;
const KEEPALIVE_MS = 1000;

let sim: Awaited<ReturnType<typeof startSimulatorProcess>>;
let redis: Redis;
let run = 0;
const job = (extra: Record<string, unknown>) => ({ baseURL: sim.url, redisUrl, prefix: 'mp:', ...extra });
const requests = () => sim.control.requests();

beforeAll(async () => {
  if (!redisUrl) return;
  sim = await startSimulatorProcess({ expireAfterIdleMs: EXPIRE_AFTER_IDLE_MS });
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
    const a = startWorker(job({ mode: 'keepalive', sessionId, keepAliveMs: KEEPALIVE_MS }));
    const first = await a.next<{ pid: number; containerId: string }>();
    const b = startWorker(job({ mode: 'keepalive', sessionId, keepAliveMs: KEEPALIVE_MS }));
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

    // The bound is the property: the survivor must touch before the container has been idle for
    // the simulator's expiry. Measured only on the simulator's clock, between arrivals in its own
    // log (no time of this process, which a loaded machine could make late), and against the
    // configured expiry; the lease is one touch interval plus 1 s (keepAliveLeaseMs), so the
    // takeover comes about 2 s after the victim's last touch.
    expect(keepAliveLeaseMs(KEEPALIVE_MS)).toBeLessThan(EXPIRE_AFTER_IDLE_MS); // the premise: a dead holder's lease lapses before the container would expire
    const touches = (await requests()).filter((r) => r.path === `/containers/${containerId}`).map((r) => r.time).sort((x, y) => x - y);
    const from = touches.findLastIndex((t) => t <= killedAt); // the victim's last touch (or a later one): the gap after it is the takeover
    expect(from).toBeGreaterThanOrEqual(0);
    const after = touches.slice(from);
    const longestIdle = Math.max(...after.slice(1).map((t, i) => t - after[i]!));
    console.log(`lease takeover: longest idle gap from the last touch before the kill ${longestIdle} ms (expiry ${EXPIRE_AFTER_IDLE_MS} ms, lease ${keepAliveLeaseMs(KEEPALIVE_MS)} ms)`);
    expect(after.at(-1)! - killedAt).toBeGreaterThan(EXPIRE_AFTER_IDLE_MS); // the survivor kept touching for longer than one expiry after the kill
    expect(longestIdle).toBeLessThan(EXPIRE_AFTER_IDLE_MS);
    // And the simulator's own verdict (it expires a container idle for that long when next looked at).
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
    // Given 5 s to exit by itself, by a watchdog process that then SIGKILLs it (killAfter): the
    // exit status is the verdict, which this process's load cannot skew (racing the exit against
    // a timer here could see a prompt exit late after a stall).
    const watchdog = killAfter(worker.child.pid!, 5000);
    const code = await worker.exit;
    watchdog.stop();
    expect(code, 'killed after 5 s: something kept the process alive').toBe(0);
  }, 60_000);

  it('Redis SIGSTOPped: run({ timeoutMs }) ends at its own timeout, not Redis\'s; close() waits for Redis once, redisTimeoutMs at most, and still deletes the container', async () => {
    // Measured as the order of what happened in the worker (its store calls traced), not as
    // elapsed times a loaded machine stretches. A run that waited for Redis would see its store
    // call end with the store's StoreUnavailableError (after redisTimeoutMs) before it settled; one
    // bounded by its own timeout sees that call cut short by its TimeoutError. The run's timeout is
    // well inside redisTimeoutMs, so the two cannot be confused.
    const runTimeoutMs = 1000;
    const redisTimeoutMs = 2000; // the default, given explicitly
    // A Redis server of its own: the others keep running.
    const own = await startRedis();
    try {
      const worker = startWorker({ ...job({ mode: 'stall', sessionId: `stall-${Date.now()}`, runTimeoutMs, redisTimeoutMs }), redisUrl: own.url });
      const { containerId } = await worker.next<{ containerId: string }>();
      own.child.kill('SIGSTOP');
      worker.child.stdin!.write('go\n');
      const outcome = await worker.next<{ runMs: number; runError?: { name: string }; closeMs: number; closeError?: { name: string; message: string }; trace: string[] }>();
      console.log(`Redis stopped: run settled in ${outcome.runMs.toFixed(0)} ms (${outcome.runError?.name}), close() in ${outcome.closeMs.toFixed(0)} ms; ${outcome.trace.join(', ')}`);
      const { trace } = outcome;
      const during = (call: 'run' | 'close') => trace.slice(trace.indexOf(`${call} start`) + 1, trace.findIndex((t) => t.startsWith(`${call} `) && !t.endsWith(' start')));

      // The run: it did wait on Redis (a store call started), and every store call it made ended
      // with the run's own TimeoutError, none with the store's timeout.
      expect(outcome.runError?.name).toBe('TimeoutError');
      expect(trace).toContain('run TimeoutError');
      const inRun = during('run');
      expect(inRun.filter((t) => t.endsWith(' start')).length).toBeGreaterThan(0);
      expect(inRun.filter((t) => !t.endsWith(' start'))).toEqual(inRun.filter((t) => t.endsWith(' start')).map((t) => t.replace(/ start$/, ' TimeoutError')));

      // close(): one store call (the delete), ended by the store's own redisTimeoutMs; the container
      // deleted at the API all the same.
      expect(during('close')).toEqual(['store.delete start', 'store.delete StoreUnavailableError']);
      expect(outcome.closeError?.name).toBe('SessionCleanupError'); // a CodeInterpreterError listing what was left (here: nothing known, the store failed)
      expect(outcome.closeError?.message).toMatch(new RegExp(`RedisSessionStore: delete failed: Redis did not answer within ${redisTimeoutMs} ms.*redisTimeoutMs`));
      expect((await sim.control.container(containerId))?.status).toBe('deleted');
      expect(await worker.exit).toBe(0);
    } finally {
      own.child.kill('SIGCONT');
      own.child.kill('SIGTERM');
      await once(own.child, 'exit');
    }
  }, 60_000);
});
