import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CodeInterpreterError, SessionClosedError, StoreUnavailableError, createRateLimiter } from '../src/index.js';
import { RateLimiterUnavailableError, RedisSessionStore, createRedisRateLimiter } from '../src/redis/index.js';
import { createSimulator } from '../src/testing/index.js';
import { maxInAnyWindow } from './helpers/windows.js';
import { describeRedis, redisUrl } from './helpers/redis.js';
import { makeSession } from './helpers/session.js';
import { storeContract } from './helpers/store-contract.js';
import { SALES_CSV, withMsw, unhashedPath } from './helpers/sim.js';

const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const worker = (name: string) => fileURLToPath(new URL(`./helpers/${name}`, import.meta.url));
let redis: Redis;
const key = (name: string) => `test:${name}:${Math.random().toString(36).slice(2)}`;

beforeAll(() => {
  if (redisUrl) redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis?.quit();
});

describeRedis('createRedisRateLimiter', () => {
  it('never grants more than `limit` in any window of the Redis clock', async () => {
    const grants: number[] = [];
    const limiter = createRedisRateLimiter({ redis, key: key('one'), limit: 5, intervalMs: 200, onGrant: (at) => grants.push(at) });
    await Promise.all(Array.from({ length: 17 }, () => limiter.acquire()));
    expect(grants).toHaveLength(17);
    expect(maxInAnyWindow(grants, 200)).toBe(5);
    await limiter.close();
  });

  it('4 processes with skewed clocks sharing a 10 per second limit: never over it in any 1000 ms window, and no window wasted', async () => {
    const shared = key('multi');
    const perProcess = 15;
    const skewsMs = [0, 30_000, -45_000, 2_500];
    const children = skewsMs.map((skew) =>
      spawn(process.execPath, ['--import', TSX, worker('redis-limiter-worker.ts'), redisUrl!, shared, '10', '1000', String(perProcess), String(skew)], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const outs = children.map(() => '');
    const exits = children.map(async (child, i) => {
      child.stdout!.on('data', (chunk: Buffer) => (outs[i] += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    });
    // All four compete from the same moment: on a loaded machine they finish loading seconds apart,
    // and one that starts after the others are done would stretch the run, not the limiter.
    while (!outs.every((o) => o.startsWith('ready\n')) && children.every((c) => c.exitCode === null)) await sleep(20);
    for (const child of children) child.stdin!.end('go\n');
    await Promise.all(exits);
    const merged = outs.flatMap((o) => JSON.parse(o.slice('ready\n'.length)) as number[]).sort((a, b) => a - b);
    expect(merged).toHaveLength(60);
    expect(maxInAnyWindow(merged, 1000)).toBeLessThanOrEqual(10);
    // 60 grants at 10 per second need at least 5 s between the first and the last.
    const ideal = (Math.ceil(merged.length / 10) - 1) * 1000;
    const utilisation = ideal / (merged.at(-1)! - merged[0]!);
    console.log(`redis limiter, 4 processes: max in any window ${maxInAnyWindow(merged, 1000)}/10, utilisation ${utilisation.toFixed(3)}`);
    // How close to 1 it gets is a performance figure, measured side by side by `npm run bench`
    // (redis.utilisation, goal >= 0.9; 0.875 seen here once with other suites loading both cores).
    // What a test can hold on any machine: waiters do not sleep past freed slots by a window or more
    // each time (which would give 0.5 or less), and nothing beats the ideal.
    expect(utilisation).toBeGreaterThan(0.6);
    expect(utilisation).toBeLessThanOrEqual(1);
  }, 60_000);

  it('frees slots by itself: entries age out and the key expires', async () => {
    const k = key('expire');
    // A window long enough that the three grants fall in one on a loaded machine (entries older
    // than a window are dropped by the next grant).
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 3, intervalMs: 1000 });
    for (let i = 0; i < 3; i++) await limiter.acquire();
    expect(await redis.zcard(k)).toBe(3);
    const ttl = await redis.pttl(k);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000 + 1020); // one window (1000 ms and its 2% margin) and a second
  });

  it('an aborted waiter stops polling and rejects with the reason', async () => {
    const limiter = createRedisRateLimiter({ redis, key: key('abort'), limit: 1, intervalMs: 60_000 });
    // The first may itself wait (a quiet window when the suite's Redis started less than 60 s ago).
    const first = new AbortController();
    const granted = limiter.acquire({ signal: first.signal }).catch(() => {});
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 20);
    await expect(waiting).rejects.toThrow('gave up');
    first.abort();
    await granted;
  });

  it('fails clearly when Redis is unreachable, or uses the fallback it was given', async () => {
    const down = 'redis://127.0.0.1:1';
    const failing = createRedisRateLimiter({ redis: down, key: 'k', limit: 1, intervalMs: 1000, redisTimeoutMs: 300 });
    const error = await failing.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/could not reach Redis.*pass `fallback: createRateLimiter/);
    await failing.close();
    const seen: Error[] = [];
    const withFallback = createRedisRateLimiter({
      redis: down,
      key: 'k',
      limit: 1,
      intervalMs: 1000,
      redisTimeoutMs: 300,
      fallback: createRateLimiter({ limit: 5, intervalMs: 1000 }),
      onRedisError: (e) => seen.push(e),
    });
    await withFallback.acquire();
    expect(seen).toHaveLength(1);
    await withFallback.close();
  });
});

describeRedis('RedisSessionStore', () => {
  // Redis keeps its TTLs by its own clock: long enough that the checks before they lapse have ample
  // time on a loaded machine (a run that still overran is run again, see storeContract).
  storeContract(() => new RedisSessionStore({ redis, prefix: `${key('contract')}:`, tombstoneTtlMs: 1000 }), { tombstoneTtlMs: 1000 });

  it('unreachable Redis: StoreUnavailableError (a CodeInterpreterError wrapping the ioredis error) within redisTimeoutMs', async () => {
    const store = new RedisSessionStore({ redis: 'redis://127.0.0.1:1', redisTimeoutMs: 500 });
    // Within redisTimeoutMs, on the event loop's clock: the call settles before a timer set at the
    // same moment for 250 ms more fires. A stalled loop delays both timers alike (they fire in
    // order), where a wall-clock bound would measure the machine.
    let referenceFired = false;
    const reference = setTimeout(() => (referenceFired = true), 500 + 250);
    const error = await store.load('s').catch((e: unknown) => e);
    clearTimeout(reference);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    expect((error as StoreUnavailableError).operation).toBe('load');
    expect((error as Error).message).toMatch(/RedisSessionStore: load failed: .*Check that Redis is reachable, or raise `redisTimeoutMs` \(now 500 ms\)/);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(referenceFired).toBe(false);
    // With time to spare, the cause is ioredis's own error (no answer after its one reconnection).
    const patient = new RedisSessionStore({ redis: 'redis://127.0.0.1:1', redisTimeoutMs: 10_000 });
    const raw = await patient.load('s').catch((e: unknown) => e);
    expect(raw).toBeInstanceOf(StoreUnavailableError);
    expect(((raw as Error).cause as Error).name).toBe('MaxRetriesPerRequestError');
    expect((raw as Error).message).not.toMatch(/\.\./);
    await patient.close();
    await store.close();
    // A caller's signal wins over the timeout, with its own reason. The "Redis" here accepts the
    // connection and never answers, so nothing but the signal can end the call early (a refused
    // port would let ioredis give up first when the abort timer runs late on a loaded machine).
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const mute = new RedisSessionStore({ redis: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`, redisTimeoutMs: 2_000 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('caller gave up')), 50);
      await expect(mute.update('s', { type: 'removeFile', fileId: 'f' }, { signal: controller.signal })).rejects.toThrow('caller gave up');
      // close() does not wait forever for the QUIT a mute Redis never answers: redisTimeoutMs, then
      // disconnect. Shown by order rather than elapsed time, as above: close() resolves before a
      // timer set just before it for 250 ms more fires. Timers of one process fire in the order
      // they are due however late its loop runs, so a stall while close() waits delays both alike
      // (the margin covers only the moment between setting the two, which a loaded machine can
      // stretch past a millisecond); a close() that waited for anything more (the QUIT's answer,
      // a second timeout) would lose.
      let referenceDue = false;
      const reference = setTimeout(() => (referenceDue = true), 2_000 + 250);
      await mute.close();
      clearTimeout(reference);
      expect(referenceDue).toBe(false);
    } finally {
      silent.close();
    }
  });

  it('a session on an unreachable store fails with StoreUnavailableError and sends nothing to the API', async () => {
    const h = withMsw();
    try {
      const store = new RedisSessionStore({ redis: 'redis://127.0.0.1:1', redisTimeoutMs: 300 });
      const session = makeSession(h.client, { sessionId: 'unreachable', store });
      await expect(session.run('hello')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(h.sim.requests).toHaveLength(0);
      await store.close();
    } finally {
      h.close();
    }
  });

  it('two sessions in one process sharing a store start together: one container', async () => {
    const h = withMsw();
    try {
      const store = new RedisSessionStore({ redis, prefix: `${key('together')}:` });
      const sessions = Array.from({ length: 5 }, () => makeSession(h.client, { sessionId: 'together', store, keepAlive: false }));
      const ids = await Promise.all(sessions.map(async (s) => (await s.start()).id));
      expect(new Set(ids).size).toBe(1);
      expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
      await sessions[0]!.close();
      await expect(sessions[1]!.run('still there?')).rejects.toBeInstanceOf(SessionClosedError);
      expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
    } finally {
      h.close();
    }
  });

  it('two sessions sharing a store: only the lease holder touches the container', async () => {
    const h = withMsw();
    try {
      const store = new RedisSessionStore({ redis, prefix: `${key('touch')}:` });
      const a = makeSession(h.client, { sessionId: 'shared', store, keepAlive: { intervalMs: 100 } });
      await a.start();
      const b = makeSession(h.client, { sessionId: 'shared', store, keepAlive: { intervalMs: 100 } });
      await b.start();
      expect(b.containerId).toBe(a.containerId);
      // Until one of them has touched it 5 times (counted, not timed: a loaded machine runs the
      // 100 ms timer late), then the other must not have touched it at all.
      while (Math.max(a.stats.touches, b.stats.touches) < 5) await sleep(20);
      const touches = [a.stats.touches, b.stats.touches];
      expect(Math.min(...touches)).toBe(0);
      expect(Math.max(...touches)).toBeGreaterThanOrEqual(5);
      await b.close({ deleteContainer: false });
      await a.close();
    } finally {
      h.close();
    }
  });

  it('two processes share one session across an expiry: one re-creation in total, one conversation', async () => {
    const sim = createSimulator();
    const server = await sim.listen();
    try {
      const sessionId = key('session');
      const step = async (prompt: string, upload = '') =>
        JSON.parse((await run(process.execPath, ['--import', TSX, worker('redis-session-worker.ts'), server.url, redisUrl, sessionId, prompt, upload])).stdout) as {
          containerId: string;
          recovered: boolean;
          responseId: string;
          events: string[];
          stats: { recreations: number };
        };
      const first = await step('revenue by region', SALES_CSV);
      sim.expire(first.containerId);
      const [a, b] = await Promise.all([step('units by region'), step('units by product')]);
      expect(sim.requestsTo('/containers', 'POST')).toHaveLength(2); // the first container and one replacement
      expect(a.containerId).toBe(b.containerId);
      expect(a.containerId).not.toBe(first.containerId);
      expect(a.stats.recreations + b.stats.recreations).toBe(1);
      expect([...sim.containers.get(a.containerId)!.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');
      // A third process continues the same conversation.
      const third = await step('revenue by product');
      expect(third.containerId).toBe(a.containerId);
      const last = sim.requestsTo('/responses', 'POST').at(-1)!.body as { previous_response_id?: string };
      expect([a.responseId, b.responseId]).toContain(last.previous_response_id);
    } finally {
      await server.close();
    }
  }, 60_000);
});
