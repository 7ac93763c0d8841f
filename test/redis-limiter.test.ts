import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisRateLimiter, RateLimiterUnavailableError, type RateLimiterReset } from '../src/redis/index.js';
import { describeRedis, redisUrl } from './helpers/redis.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { startRedis } from './helpers/redis-server.js';
import { maxInAnyWindow } from './helpers/windows.js';

const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
let redis: Redis;
const key = (name: string) => `test:limiter:${name}:${Math.random().toString(36).slice(2)}`;

beforeAll(() => {
  if (redisUrl) redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis?.quit();
});

/** The Redis clock, in ms. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

/** Waits until the Redis server behind `client` has been up for more than `ms` (it reports whole seconds; a younger one grants nothing for a window). */
async function upForMoreThan(client: Redis, ms: number): Promise<void> {
  while (Number(/uptime_in_seconds:(\d+)/.exec(await client.info('server'))?.[1] ?? 0) * 1000 <= ms) await sleep(50);
}

/** Scores of the log, in ms of the Redis clock, oldest first. */
async function log(k: string): Promise<number[]> {
  const flat = await redis.zrange(k, '0', '-1', 'WITHSCORES');
  return flat.filter((_, i) => i % 2 === 1).map((s) => Number(s) / 1000);
}

describeRedis('createRedisRateLimiter: slots stamped when sent', () => {
  it('the first use of a key on a Redis up for longer than a window grants at once', async () => {
    const resets: RateLimiterReset[] = [];
    const grants: number[] = [];
    const k = key('first');
    // The precondition in the title: Redis reports its uptime in whole seconds, and the suite's
    // redis-server may have started a moment ago when this file runs alone.
    while (Number(/uptime_in_seconds:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0) < 1) await sleep(50);
    // "At once" counted, not timed: each acquire() asks Redis once (a quiet window would answer
    // "wait" and make it ask again), however long the machine takes over the two calls.
    const client = new Redis(redisUrl!);
    let reserves = 0;
    const evalCall = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { eval: (...args: unknown[]) => Promise<unknown> }).eval = (...args: unknown[]) => {
      if (args[1] === 2) reserves++; // the reserve script (two keys: the log and the record)
      return evalCall(...args);
    };
    try {
      const limiter = createRedisRateLimiter({ redis: client, key: k, limit: 2, intervalMs: 200, marginMs: 0, onReset: (r) => resets.push(r), onGrant: (at) => grants.push(at) });
      await limiter.acquire();
      await limiter.acquire();
    } finally {
      client.disconnect();
    }
    expect(resets).toEqual([]);
    expect(reserves).toBe(2);
    expect(grants).toHaveLength(2);
    expect(await redis.hget(`${k}:epoch`, 'quietUntil')).toBe('0');
    expect(await redis.hget(`${k}:epoch`, 'seq')).toBe('2');
  });

  it('a granted slot not yet sent holds its place; the window runs from its send time', async () => {
    const k = key('unsent');
    const grants: number[] = [];
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 1, intervalMs: 200, marginMs: 0, onGrant: (at) => grants.push(at) });
    await limiter.acquire(); // past the first-use window
    await sleep(250);
    const slot = await limiter.reserve();
    let granted = false;
    const next = limiter.acquire().then(() => (granted = true));
    await sleep(600); // three windows: an unsent slot does not age out
    expect(granted).toBe(false);
    const [pending] = await log(k);
    slot.sent();
    let stamped = pending!;
    while (stamped === pending) [stamped = pending!] = await log(k); // the stamp is written in the background
    expect(stamped).toBeLessThan(pending!);
    await next;
    expect(grants.at(-1)! - stamped).toBeGreaterThanOrEqual(200);
  });

  it('sent(sinceArrivalMs) stamps the slot that long before the Redis time of the stamp', async () => {
    const k = key('since');
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 5, intervalMs: 1000 });
    await limiter.acquire(); // past the first-use window
    const [acquired] = await redis.zrange(k, '0', '-1');
    const slot = await limiter.reserve();
    const [seconds, micros] = await redis.time();
    const before = Number(seconds) * 1000 + Number(micros) / 1000;
    slot.sent(400);
    const reserved = async () => {
      const flat = await redis.zrange(k, '0', '-1', 'WITHSCORES');
      return Number(flat[flat.findIndex((member, i) => i % 2 === 0 && member !== acquired) + 1]) / 1000;
    };
    let stamped = await reserved();
    while (stamped >= before) stamped = await reserved(); // the stamp is written in the background
    const [after, afterMicros] = await redis.time();
    expect(stamped).toBeGreaterThanOrEqual(before - 400);
    expect(stamped).toBeLessThanOrEqual(Number(after) * 1000 + Number(afterMicros) / 1000 - 400);
  });

  it('acquire() holds its slot the default margin past the grant; a slot stamped by sent() gets none', async () => {
    const k = key('margin');
    const grants: number[] = [];
    const windows: number[] = [];
    // The window each reservation asks the script for (ARGV[2] of the reserve script).
    const client = new Redis(redisUrl!);
    const evalCall = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { eval: (...args: unknown[]) => Promise<unknown> }).eval = (...args: unknown[]) => {
      if (args[1] === 2) windows.push(Number(args[5]));
      return evalCall(...args);
    };
    try {
      const limiter = createRedisRateLimiter({ redis: client, key: k, limit: 5, intervalMs: 1000, onGrant: (at) => grants.push(at) });
      await limiter.acquire();
      const [acquired] = await log(k);
      expect(acquired! - grants[0]!).toBeCloseTo(20, 3); // 2% of 1000 ms, on the Redis clock
      const slot = await limiter.reserve();
      slot.sent();
      let scores = await log(k);
      while (scores.some((score) => score > acquired! + 1000)) scores = await log(k); // the stamp is written in the background
      expect(scores.length).toBe(2);
      expect(windows).toEqual([1000, 1000]); // the window itself has no margin
      const explicit = createRedisRateLimiter({ redis: client, key: key('explicit'), limit: 5, intervalMs: 1000, marginMs: 100 });
      await explicit.acquire();
      expect(windows.at(-1)).toBe(1100);
    } finally {
      client.disconnect();
    }
  });

  it('a released slot frees its place without waiting for its lease', async () => {
    const k = key('release');
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 1, intervalMs: 200, marginMs: 0 });
    await limiter.acquire();
    await sleep(250);
    const slot = await limiter.reserve();
    const next = limiter.acquire();
    slot.release();
    slot.sent(); // too late: released
    await next; // within a poll or two, not after the 30 s lease
    expect(await redis.zcard(k)).toBe(1);
  });

  it('holds each slot 2% of the window longer by default', async () => {
    const k = key('margin');
    const grants: number[] = [];
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 1, intervalMs: 500, onGrant: (at) => grants.push(at) });
    await limiter.acquire();
    await limiter.acquire();
    expect(grants[1]! - grants[0]!).toBeGreaterThanOrEqual(510);
  });

  it('after Redis lost its data, grants nothing for one window, for every process, and says so', async () => {
    const k = key('lost');
    const resets: Array<[string, RateLimiterReset]> = [];
    const a = createRedisRateLimiter({ redis, key: k, limit: 3, intervalMs: 300, marginMs: 0, onReset: (r) => resets.push(['a', r]) });
    const b = createRedisRateLimiter({ redis, key: k, limit: 3, intervalMs: 300, marginMs: 0, onReset: (r) => resets.push(['b', r]) });
    await a.acquire();
    await b.acquire();
    await a.acquire();
    resets.length = 0;
    await redis.del(k, `${k}:epoch`); // what a restart without persistence does
    const lostAt = await redis.time();
    await Promise.all([a.acquire(), b.acquire()]);
    const times = await log(k);
    const lostMs = Number(lostAt[0]) * 1000 + Number(lostAt[1]) / 1000;
    expect(times.every((t) => t - lostMs >= 300)).toBe(true);
    expect(resets.map(([who, r]) => [who, r.reason]).sort()).toEqual([
      ['a', 'lost'],
      ['b', 'lost'],
    ]);
  });

  it('a record another process made after a loss: quiet until one window after it was made, for every process, not extended by later detections', async () => {
    const k = key('replaced');
    const windowMs = 1000;
    await upForMoreThan(redis, windowMs);
    const resets: Array<[string, RateLimiterReset]> = [];
    const grants: Array<[string, number]> = [];
    const make = (name: string) =>
      createRedisRateLimiter({ redis, key: k, limit: 3, intervalMs: windowMs, marginMs: 0, onReset: (r) => resets.push([name, r]), onGrant: (at) => grants.push([name, at]) });
    const old = make('old');
    const late = make('late');
    await old.acquire();
    await late.acquire();
    await redis.del(k, `${k}:epoch`); // a FLUSHALL, for this key only (other test files share the server)
    const newcomer = make('newcomer');
    await newcomer.acquire(); // first use on a Redis up for longer than a window: granted at once
    const created = Number(await redis.hget(`${k}:epoch`, 'created')) / 1000;
    expect(resets).toEqual([]);
    const detectedAt = await redisNow();
    await old.acquire(); // finds the record replaced
    const quietUntil = Number(await redis.hget(`${k}:epoch`, 'quietUntil')) / 1000;
    expect(quietUntil).toBe(created + windowMs);
    expect(resets.map(([who, r]) => [who, r.reason])).toEqual([['old', 'lost']]);
    const { quietMs } = resets[0]![1];
    expect(quietMs).toBeGreaterThan(0);
    expect(quietMs).toBeLessThanOrEqual(created + windowMs - detectedAt); // the rest of the window, not a new one
    await newcomer.acquire(); // the newcomer is held too
    const after = grants.filter(([, at]) => at >= created);
    expect(after.map(([who]) => who)).toEqual(['newcomer', 'old', 'newcomer']);
    expect(after[1]![1]).toBeGreaterThanOrEqual(created + windowMs);
    expect(after[2]![1]).toBeGreaterThanOrEqual(created + windowMs);
    await late.acquire(); // notices after the quiet: reported, nothing added
    expect(resets.map(([who, r]) => [who, r.reason, who === 'late' ? r.quietMs : 'any'])).toEqual([
      ['old', 'lost', 'any'],
      ['late', 'lost', 0],
    ]);
    expect(Number(await redis.hget(`${k}:epoch`, 'quietUntil')) / 1000).toBe(created + windowMs);
  });

  it('concurrent detections of one replaced record set the same quiet window', async () => {
    const k = key('replaced-concurrent');
    const windowMs = 400;
    await upForMoreThan(redis, windowMs);
    const resets: RateLimiterReset[] = [];
    const olds = Array.from({ length: 3 }, () => createRedisRateLimiter({ redis, key: k, limit: 10, intervalMs: windowMs, marginMs: 0, onReset: (r) => resets.push(r) }));
    for (const limiter of olds) await limiter.acquire();
    await redis.del(k, `${k}:epoch`);
    await createRedisRateLimiter({ redis, key: k, limit: 10, intervalMs: windowMs, marginMs: 0 }).acquire();
    const created = Number(await redis.hget(`${k}:epoch`, 'created')) / 1000;
    await Promise.all(olds.flatMap((limiter) => [limiter.acquire(), limiter.acquire()]));
    expect(resets.map((r) => r.reason)).toEqual(['lost', 'lost', 'lost']); // one report per process
    expect(Number(await redis.hget(`${k}:epoch`, 'quietUntil')) / 1000).toBe(created + windowMs);
    const times = await log(k);
    expect(times.filter((t) => t > created)).toHaveLength(6);
    expect(times.filter((t) => t > created).every((t) => t >= created + windowMs)).toBe(true);
  });

  it('a record of another epoch older than the one this process saw (failover across a loss) is a rollback: one window from now', async () => {
    const k = key('older-epoch');
    const resets: RateLimiterReset[] = [];
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 5, intervalMs: 300, marginMs: 0, onReset: (r) => resets.push(r) });
    await limiter.acquire();
    const created = Number(await redis.hget(`${k}:epoch`, 'created'));
    // What a replica that missed the loss and the new record still holds.
    await redis.hset(`${k}:epoch`, 'epoch', 'older', 'seq', 7, 'quietUntil', 0, 'created', created - 60_000_000);
    await redis.del(k);
    const t = await redisNow();
    await limiter.acquire();
    expect(resets.map((r) => r.reason)).toEqual(['rolled-back']);
    expect(resets[0]!.quietMs).toBeGreaterThan(250);
    expect((await log(k)).at(-1)! - t).toBeGreaterThanOrEqual(300);
  });

  it('a record older than one this process saw (failover, restore) also means a quiet window', async () => {
    const k = key('rollback');
    const resets: RateLimiterReset[] = [];
    const limiter = createRedisRateLimiter({ redis, key: k, limit: 5, intervalMs: 200, marginMs: 0, onReset: (r) => resets.push(r) });
    for (let i = 0; i < 3; i++) await limiter.acquire();
    await redis.hset(`${k}:epoch`, 'seq', 1);
    await redis.zremrangebyrank(k, 1, -1); // the replica had not seen the last grants
    resets.length = 0;
    const t = await redis.time();
    await limiter.acquire();
    const newest = (await log(k)).at(-1)!;
    expect(resets.map((r) => r.reason)).toEqual(['rolled-back']);
    expect(newest - (Number(t[0]) * 1000 + Number(t[1]) / 1000)).toBeGreaterThanOrEqual(200);
  });

  it('a process that forgets its session, limiter and store still exits', async () => {
    const script = fileURLToPath(new URL('./helpers/redis-limiter-exit.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', TSX, script, redisUrl, key('exit')], { timeout: 30_000 });
    expect(stdout).toMatch(/closed after \d+ requests/);
  }, 40_000);
});

describeRedis('createRedisRateLimiter: a reservation given up on', () => {
  it('a reserve() that timed out or was aborted while its script waited leaves no slot behind once Redis runs it', async () => {
    // Redis paused (SIGSTOP) past `redisTimeoutMs`: the scripts wait in its socket and run when it
    // resumes. One would grant a slot scored 30 s ahead (its lease) that nobody renews or frees.
    const { url, child } = await startRedis();
    const client = new Redis(url);
    try {
      const k = key('given-up');
      const limiter = createRedisRateLimiter({ redis: client, key: k, limit: 1, intervalMs: 1000, redisTimeoutMs: 300 });
      await upForMoreThan(client, 1000);
      child.kill('SIGSTOP');
      const controller = new AbortController();
      const timedOut = limiter.reserve();
      const aborted = limiter.reserve({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('caller gave up')), 100);
      await expect(aborted).rejects.toThrow('caller gave up');
      await expect(timedOut).rejects.toBeInstanceOf(RateLimiterUnavailableError);
      child.kill('SIGCONT');
      // Both scripts and both removals run in the order they were sent on the one connection.
      const observer = new Redis(url);
      try {
        await client.ping(); // queued behind them on the same connection
        expect(await observer.zcard(k)).toBe(0);
      } finally {
        observer.disconnect();
      }
      const slot = await limiter.reserve({ signal: AbortSignal.timeout(5_000) }); // granted at once, not 31 s later
      slot.release();
    } finally {
      client.disconnect();
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
});

describeRedis('createRedisRateLimiter across a real Redis restart', () => {
  async function startRedisOn(port: number): Promise<ChildProcess> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('Ready to accept connections')) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      await sleep(20);
    }
    return child;
  }

  /** Waits until the Redis server at `url` has been up for more than `ms`. */
  async function upAtUrlForMoreThan(url: string, ms: number): Promise<void> {
    const client = new Redis(url);
    try {
      await upForMoreThan(client, ms);
    } finally {
      client.disconnect();
    }
  }

  it('the first use of a key on a Redis server started less than a window ago grants nothing for a window (no-record)', async () => {
    // The condition is the server's uptime, which it reports in whole seconds: a window of a
    // minute makes "started less than a window ago" hold however slowly this machine gets to the
    // first call (the test's own timeout is shorter). Nothing is waited for: the reset is reported
    // with the first answer, and the caller then gives up.
    const intervalMs = 60_000;
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = await startRedisOn(port);
    const url = `redis://127.0.0.1:${port}`;
    const resets: RateLimiterReset[] = [];
    const controller = new AbortController();
    const limiter = createRedisRateLimiter({
      redis: url,
      key: 'fresh',
      limit: 5,
      intervalMs,
      marginMs: 0,
      onReset: (reset) => {
        resets.push(reset);
        controller.abort(new Error('told of the reset'));
      },
    });
    try {
      await expect(limiter.acquire({ signal: controller.signal })).rejects.toThrow('told of the reset');
      expect(resets).toEqual([{ reason: 'no-record', quietMs: intervalMs }]);
      const client = new Redis(url);
      try {
        const record = await client.hgetall('fresh:epoch');
        expect(Number(record.quietUntil) - Number(record.created)).toBe(intervalMs * 1000); // µs on the Redis clock
        expect(await client.zcard('fresh')).toBe(0); // nothing granted
      } finally {
        client.disconnect();
      }
    } finally {
      await limiter.close();
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
  });

  it('never more than `limit` grants in any window of the Redis clock, across a restart without persistence', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let server = await startRedisOn(port);
    const url = `redis://127.0.0.1:${port}`;
    // The limiter's first call must meet a server up for longer than a window, so that the only
    // reset is the restart's: on a fresh server a first call within its first second reports
    // `no-record` too, and one that a loaded machine delays past it does not (the test above
    // covers `no-record` with a window no delay can outlast).
    await upAtUrlForMoreThan(url, 500);
    const redisGrants: number[] = [];
    const clientGrants: number[] = [];
    const resets: RateLimiterReset[] = [];
    const limiter = createRedisRateLimiter({
      redis: url,
      key: 'restart',
      limit: 5,
      intervalMs: 500,
      marginMs: 0,
      redisTimeoutMs: 300,
      onGrant: (at) => redisGrants.push(at),
      onReset: (r) => resets.push(r),
    });
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          await limiter.acquire();
          clientGrants.push(Date.now());
        } catch (error) {
          expect(error).toBeInstanceOf(RateLimiterUnavailableError);
          await sleep(20);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    try {
      while (clientGrants.length < 12) await sleep(20); // well into the steady state
      server.kill('SIGKILL');
      await once(server, 'exit');
      await sleep(300);
      server = await startRedisOn(port);
      const after = clientGrants.length;
      while (clientGrants.length < after + 10) await sleep(20);
    } finally {
      stop = true;
      await Promise.all(workers);
      await limiter.close();
      server.kill('SIGKILL');
    }
    expect(resets.map((r) => r.reason)).toEqual(['lost']);
    expect(maxInAnyWindow(redisGrants, 500)).toBeLessThanOrEqual(5);
  }, 60_000);

  // Issue #12's client clock, measured where it cannot be moved by load: every figure is a time
  // recorded at the event itself (the simulator's arrival log, undici's socket write, the moment
  // the caller's code got its slot), and the bounds are counts per window, never durations. A
  // process whose event loop stalls records its sends late, but never earlier than it sent them:
  // a slot is stamped in Redis only after its answer started, and the next grant comes a window
  // after that stamp, so a stall can only spread these times apart, not bunch them.
  it('sessions in 3 processes, Redis restarted without persistence mid-run: never more than `limit` arrivals at the server, sends or grants on the client clock, or grants on the Redis clock, in any window', async () => {
    const limit = 5;
    const intervalMs = 1000;
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let redisServer = await startRedisOn(port);
    const url = `redis://127.0.0.1:${port}`;
    const sim = await startSimulatorProcess();
    const arrivals = async () => (await sim.control.requests()).map((r) => r.time);
    const worker = fileURLToPath(new URL('./helpers/redis-restart-worker.ts', import.meta.url));
    const children = Array.from({ length: 3 }, () =>
      spawn(process.execPath, ['--import', TSX, worker, sim.url, url, 'restart-sessions', String(limit), String(intervalMs), '2'], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    // Each child says when its first request went out and when its limiter reports a reset; on a
    // loaded machine one may start seconds after the others, and the run must cover all three.
    const lines = children.map(() => [] as string[]);
    const outputs = children.map(async (child, i) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        lines[i] = out.split('\n');
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      return JSON.parse(out.trimEnd().split('\n').at(-1)!) as { redisGrants: number[]; clientGrants: number[]; sends: number[]; resets: string[]; failures: number };
    });
    const all3 = (line: string) => lines.every((l) => l.includes(line));
    let atRestart = 0;
    try {
      // Well into the steady state, with every process taking part (each has seen the record).
      while (!all3('ready') || (await arrivals()).length < 3 * limit) await sleep(50);
      redisServer.kill('SIGKILL');
      await once(redisServer, 'exit');
      atRestart = (await arrivals()).length;
      await sleep(300);
      redisServer = await startRedisOn(port);
      // On until every process has asked again (and so met the lost record), counted in requests
      // rather than time: a process the machine starves for a while still gets its turn, and one
      // that never notices fails the check below once the others made 10 windows' worth.
      for (;;) {
        const after = (await arrivals()).length - atRestart;
        if (after >= 10 * limit || (after >= 2 * limit && all3('reset lost'))) break;
        await sleep(50);
      }
    } finally {
      for (const child of children) child.stdin!.end('stop\n');
      await Promise.allSettled(outputs);
      redisServer.kill('SIGKILL');
    }
    const reports = await Promise.all(outputs);
    const arrived = await arrivals();
    await sim.stop();
    const all = (pick: (r: (typeof reports)[number]) => number[]) => reports.flatMap(pick);

    expect(arrived.length).toBeGreaterThanOrEqual(atRestart + 2 * limit); // the run went on after the restart
    for (const report of reports) expect(report.resets).toContain('lost'); // every process noticed the loss
    expect(maxInAnyWindow(arrived, intervalMs)).toBeLessThanOrEqual(limit); // the server's clock
    expect(all((r) => r.sends).length).toBeGreaterThanOrEqual(arrived.length); // every arrival was seen leaving a process
    expect(maxInAnyWindow(all((r) => r.sends), intervalMs)).toBeLessThanOrEqual(limit); // the client clock, on the wire
    expect(maxInAnyWindow(all((r) => r.clientGrants), intervalMs)).toBeLessThanOrEqual(limit); // the client clock, in the caller's code
    expect(maxInAnyWindow(all((r) => r.redisGrants), intervalMs)).toBeLessThanOrEqual(limit); // the Redis clock
  }, 120_000);
});
