import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CodeInterpreterSession, InvalidOptionsError, PoolFullError, SessionPool, createRateLimiter, type SessionPoolEvents, type SessionPoolOptions } from '../src/index.js';
import { createGate } from './helpers/gate.js';
import { describeRedis, redisUrl } from './helpers/redis.js';
import { startSimulatorProcess } from './helpers/sim-process.js';
import { withMsw } from './helpers/sim.js';

const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
/** The `container` of the code_interpreter tool a logged `POST /responses` body named. */
const toolContainer = (body: unknown) =>
  (body as { tools?: Array<{ type?: string; container?: unknown }> } | undefined)?.tools?.find((t) => t.type === 'code_interpreter')?.container;

let h: ReturnType<typeof withMsw>;
afterEach(() => {
  h?.close();
  vi.useRealTimers();
});

function makePool(overrides: Partial<SessionPoolOptions> = {}, gate?: ReturnType<typeof createGate>) {
  h = withMsw();
  const pool = new SessionPool({
    session: { client: gate ? gate.client() : h.client, model: 'gpt-5', rateLimiter: createRateLimiter({ limit: 10_000, intervalMs: 1000 }), keepAlive: false },
    ...overrides,
  });
  const evictions: Array<SessionPoolEvents['session.evicted']> = [];
  pool.on('session.evicted', (e) => evictions.push(e));
  return { pool, evictions };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SessionPool', () => {
  it('concurrent get() of one key makes one session', async () => {
    const { pool } = makePool();
    const sessions = await Promise.all(Array.from({ length: 20 }, () => pool.get('alice')));
    expect(new Set(sessions).size).toBe(1);
    expect(sessions[0]).toBeInstanceOf(CodeInterpreterSession);
    expect(sessions[0]!.id).toBe('alice');
    await Promise.all(sessions.map((s) => s.start()));
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(pool.stats).toMatchObject({ sessions: 1, created: 1, liveContainers: 1 });
    await pool.close();
  });

  it('at maxSessions closes the least recently used idle session, and deletes its container', async () => {
    const { pool, evictions } = makePool({ maxSessions: 3 });
    for (const key of ['a', 'b', 'c']) await (await pool.get(key)).start();
    const containerOf = (key: string) => pool.peek(key)!.containerId!;
    const bContainer = containerOf('b');
    await pool.get('a'); // a is now more recent than b and c
    await (await pool.get('c')).listFiles(); // so is c (used through the session itself)
    await pool.get('d'); // b is the least recently used
    await flush();
    expect(pool.has('b')).toBe(false);
    expect(['a', 'c', 'd'].every((k) => pool.has(k))).toBe(true);
    await vi.waitFor(() => expect(evictions.map((e) => [e.key, e.reason])).toEqual([['b', 'capacity']]));
    expect(h.sim.containers.get(bContainer)!.status).toBe('deleted');
    await pool.get('e'); // then a
    await vi.waitFor(() => expect(evictions.map((e) => e.key)).toEqual(['b', 'a']));
    expect(pool.stats.evicted.capacity).toBe(2);
    await pool.close();
  });

  it('never evicts a leased session: whenFull "evict" with every session leased waits for a release', async () => {
    const { pool, evictions } = makePool({ maxSessions: 2 });
    const a = await pool.acquire('a');
    const b = await pool.acquire('b');
    let got = false;
    const c = pool.get('c').then((s) => ((got = true), s));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toBe(false);
    expect(pool.stats).toMatchObject({ waiting: 1, leased: 2 });
    b.release();
    expect((await c).id).toBe('c');
    await vi.waitFor(() => expect(evictions.map((e) => e.key)).toEqual(['b']));
    expect(pool.has('a')).toBe(true);
    a.release();
    await pool.close();
  });

  it('never evicts a session with a run in flight: get() waits for the run to end, then evicts it', async () => {
    const gate = createGate();
    const { pool, evictions } = makePool({ maxSessions: 1 }, gate);
    const a = await pool.get('a'); // not leased: only the run makes it busy
    const held = gate.hold({ method: 'POST', path: '/responses', phase: 'request' });
    const running = a.run('hello');
    await held.reached;
    expect(a.callsInFlight).toBe(1);
    let got = false;
    const b = pool.get('b').then((s) => ((got = true), s));
    await vi.waitFor(() => expect(pool.stats.waiting).toBe(1));
    expect(got).toBe(false);
    expect(a.closed).toBe(false);
    expect(evictions).toEqual([]);
    held.release();
    expect(typeof (await running).text).toBe('string'); // the run finished: not cut off by the eviction
    expect((await b).id).toBe('b'); // then a, idle now, made room
    await vi.waitFor(() => expect(evictions.map((e) => [e.key, e.reason])).toEqual([['a', 'capacity']]));
    expect(a.callsInFlight).toBe(0);
    expect(h.sim.requestsTo('/responses', 'POST')).toHaveLength(1);
    await pool.close();
  });

  it('whenFull "evict" with every session busy gives up after waitTimeoutMs, naming maxSessions', async () => {
    const gate = createGate();
    const { pool } = makePool({ maxSessions: 1, waitTimeoutMs: 50 }, gate);
    const a = await pool.get('a');
    const held = gate.hold({ method: 'POST', path: '/responses', phase: 'request' });
    const running = a.run('hello');
    await held.reached;
    const error = await pool.get('b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolFullError);
    expect((error as Error).message).toMatch(/waited 50 ms \(waitTimeoutMs\); 1 of maxSessions 1 open.*in use \(leased or with a call in flight\)/);
    held.release();
    await running;
    await pool.close();
  });

  it('the sweeper never closes a session with a call in flight, however long it runs', async () => {
    let clock = Date.now(); // the session's own lastUsedAt is on the real clock
    const gate = createGate();
    const { pool, evictions } = makePool({ idleMs: 1000, now: () => clock }, gate);
    const a = await pool.get('a');
    const held = gate.hold({ method: 'POST', path: '/responses', phase: 'request' });
    const running = a.run('hello');
    await held.reached;
    clock += 60_000;
    expect(pool.sweep()).toBe(0);
    held.release();
    await running;
    // A stream counts as in flight until it ends, the time between its events included.
    const events = a.stream('hello')[Symbol.asyncIterator]();
    await events.next();
    expect(a.callsInFlight).toBe(1);
    clock += 60_000;
    expect(pool.sweep()).toBe(0);
    await events.return?.();
    expect(a.callsInFlight).toBe(0);
    clock += 60_000;
    expect(pool.sweep()).toBe(1);
    await vi.waitFor(() => expect(evictions.map((e) => [e.key, e.reason])).toEqual([['a', 'idle']]));
    await pool.close();
  });

  it('use() holds the session while fn runs and returns its result', async () => {
    const { pool } = makePool({ maxSessions: 1, whenFull: 'fail' });
    const text = await pool.use('a', async (session) => {
      expect(pool.stats.leased).toBe(1);
      await expect(pool.get('b')).rejects.toBeInstanceOf(PoolFullError);
      return (await session.run('Summarise the data')).text;
    });
    expect(typeof text).toBe('string');
    expect(pool.stats.leased).toBe(0);
    // Not leased any more, but whenFull 'fail' does not evict.
    const error = await pool.get('b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolFullError);
    expect((error as Error).message).toMatch(/maxSessions 1.*Raise `maxSessions`/);
    await pool.close();
  });

  it('whenFull "wait" gives up after waitTimeoutMs with PoolFullError, and honours an abort', async () => {
    const { pool } = makePool({ maxSessions: 1, whenFull: 'wait', waitTimeoutMs: 50 });
    await pool.get('a');
    await expect(pool.get('b')).rejects.toThrow(/waited 50 ms \(waitTimeoutMs\)/);
    const controller = new AbortController();
    const waiting = pool.get('c', { signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(pool.stats.waiting).toBe(0);
    // A manual eviction makes room for a waiter.
    const d = pool.get('d');
    await pool.evict('a');
    expect((await d).id).toBe('d');
    await pool.close();
  });

  it('maxLiveContainers: a new session takes the container of the least recently used idle one', async () => {
    const { pool, evictions } = makePool({ maxLiveContainers: 2 });
    await (await pool.get('a')).start();
    await (await pool.get('b')).start();
    await pool.get('a');
    const c = await pool.get('c');
    await c.start();
    await vi.waitFor(() => expect(evictions.map((e) => [e.key, e.reason])).toEqual([['b', 'containers']]));
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(3);
    expect([...h.sim.containers.values()].filter((x) => x.status === 'running')).toHaveLength(2);
    expect(pool.stats.liveContainers).toBe(2);
    await pool.close();
  });

  it('closes sessions idle for idleMs with one sweeper timer, however many sessions there are', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { pool, evictions } = makePool({ idleMs: 10 * 60_000 });
    const before = vi.getTimerCount();
    for (let i = 0; i < 50; i++) await pool.get(`user-${i}`);
    await (await pool.get('user-0')).start();
    expect(vi.getTimerCount() - before).toBe(1); // the sweeper: no timer per idle session
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await pool.get('user-1'); // used: stays
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(pool.size).toBe(1);
    expect(pool.has('user-1')).toBe(true);
    await vi.waitFor(() => expect(evictions).toHaveLength(49));
    expect(evictions.every((e) => e.reason === 'idle' && e.idleMs >= 10 * 60_000)).toBe(true);
    expect([...h.sim.containers.values()].map((c) => c.status)).toEqual(['deleted']);
    await vi.advanceTimersByTimeAsync(11 * 60_000);
    expect(pool.size).toBe(0);
    expect(vi.getTimerCount() - before).toBe(0); // an empty pool keeps no timer
    await pool.close();
  });

  it('close() ends every session, deletes every container and rejects later get()s', async () => {
    const { pool, evictions } = makePool();
    const sessions = await Promise.all(['a', 'b', 'c'].map((k) => pool.get(k)));
    await Promise.all(sessions.map((s) => s.upload(new TextEncoder().encode('x,y\n1,2\n'), { filename: 'd.csv' })));
    await pool.close();
    expect(evictions.map((e) => e.reason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    expect([...h.sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true);
    expect([...h.sim.files.values()].every((f) => f.deleted)).toBe(true);
    expect(sessions.every((s) => s.closed)).toBe(true);
    await expect(pool.get('a')).rejects.toThrow(/after pool.close\(\)/);
    await pool.close(); // idempotent
  });

  it('a get() for a key whose session is still closing waits for it, then makes a fresh one', async () => {
    const { pool } = makePool();
    const first = await pool.get('a');
    await first.start();
    const evicting = pool.evict('a');
    const second = await pool.get('a');
    await evicting;
    expect(second).not.toBe(first);
    expect(first.closed).toBe(true);
    expect(second.containerId).toBeUndefined();
    await pool.close();
  });

  it('validates its options before anything is made', () => {
    h = withMsw();
    expect(() => new SessionPool({ session: { client: h.client, model: '' }, maxSessions: 0 })).toThrow(InvalidOptionsError);
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5' }, maxSessions: 0 })).toThrow(/`maxSessions`: .*>= 1/);
    // Each open session holds at most one container: a container cap above maxSessions never applies.
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5' }, maxSessions: 10, maxLiveContainers: 11 })).toThrow(
      /`maxLiveContainers`: 11 is more than maxSessions \(10\), and each open session holds at most one container, so it would never apply/,
    );
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5' }, maxLiveContainers: 10_001 })).toThrow(/maxSessions \(10000, the default\)/);
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5' }, maxSessions: 10, maxLiveContainers: 10 })).not.toThrow();
    // Session options are checked against each other too, named under `session.`.
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5', keepAlive: { intervalMs: 30 * 60_000 } } })).toThrow(/`session\.keepAlive\.intervalMs`: .*not less than the container's expiry/);
    expect(() => new SessionPool({ session: { client: h.client, model: '' } })).toThrow(/`session.model`/);
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5' }, whenFull: 'drop' as never })).toThrow(/`whenFull`/);
    expect(() => new SessionPool({ session: { client: h.client, model: 'gpt-5', sessionId: 'x' } as never })).toThrow(/sessionId: \(key\) => string/);
  });

  it('stats.cost sums the containers of open and ended sessions', async () => {
    const p = makePool();
    await (await p.pool.get('a')).start();
    await (await p.pool.get('b')).start();
    await p.pool.evict('a');
    const cost = p.pool.stats.cost;
    expect(cost.containersCreated).toBe(2);
    expect(cost.liveContainers).toBe(1);
    expect(cost.byTier['1g']).toMatchObject({ containers: 2, billedMinutes: 10 }); // the 5-minute minimum, twice
    expect(cost.estimatedUsd).toBeCloseTo(0.015, 10);
    await p.pool.close();
  });
});

describe('SessionPool memory', () => {
  it('10,000 idle sessions take under 100 MiB of heap and no timer', async () => {
    const child = fileURLToPath(new URL('./helpers/pool-heap.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', TSX, child, '10000', '0']);
    const figures = JSON.parse(stdout) as { idleTotalMiB: number; timers: number };
    console.log(`10,000 idle pooled sessions: ${figures.idleTotalMiB.toFixed(1)} MiB of heap`);
    expect(figures.idleTotalMiB).toBeLessThan(100);
    expect(figures.timers).toBe(0);
  }, 120_000);
});

describeRedis('SessionPool with a RedisSessionStore', () => {
  it('two processes started together map a key to one session and one container', async () => {
    // Real processes: the simulator in its own (answers 200 ms late, so the workers' calls overlap
    // at the server), two pool processes on one real redis-server, released at the same instant.
    const sim = await startSimulatorProcess({ latencyMs: 200 });
    const worker = fileURLToPath(new URL('./helpers/pool-worker.ts', import.meta.url));
    const prefix = `test:pool:${Math.random().toString(36).slice(2)}:`;
    const names = ['one', 'two'];
    const children = names.map((name) => spawn(process.execPath, ['--import', TSX, worker, sim.url, redisUrl, prefix, name], { stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const lines = children.map((child) => {
        const queue: string[] = [];
        const waiting: Array<(line: string) => void> = [];
        createInterface({ input: child.stdout! }).on('line', (line) => (waiting.length ? waiting.shift()!(line) : queue.push(line)));
        const exited = once(child, 'exit').then(([code]) => {
          throw new Error(`worker exited with ${String(code)} before it reported`);
        });
        return () => Promise.race([queue.length ? Promise.resolve(queue.shift()!) : new Promise<string>((resolve) => waiting.push(resolve)), exited]);
      });
      expect(await Promise.all(lines.map((next) => next()))).toEqual(['ready', 'ready']);
      for (const child of children) child.stdin!.write('go\n'); // both start now
      const results = (await Promise.all(lines.map((next) => next()))).map((line) => JSON.parse(line) as { containerId: string; sessionId: string; created: number; sessions: number });
      expect(await Promise.all(children.map((child) => (child.exitCode !== null ? child.exitCode : once(child, 'exit').then(([code]) => code))))).toEqual([0, 0]);

      // One session: the same id in both processes, each process holding one pooled session for the key.
      expect(results.map((r) => [r.sessionId, r.created, r.sessions])).toEqual([['alice', 1, 1], ['alice', 1, 1]]);
      // One container, made once, which both runs used and which holds both processes' uploads.
      const { containerId } = results[0]!;
      expect(results[1]!.containerId).toBe(containerId);
      // `client`: the sender's `x-client` header; `container`: the code_interpreter container a run named.
      const log = (await sim.control.requests()).map((r) => ({ ...r, client: r.headers['x-client'], container: toolContainer(r.body) }));
      expect(log.filter((r) => r.method === 'POST' && r.path === '/containers').map((r) => r.status)).toEqual([200]);
      const runs = log.filter((r) => r.method === 'POST' && r.path === '/responses');
      expect(runs.map((r) => [r.status, r.container])).toEqual([[200, containerId], [200, containerId]]);
      expect(runs.map((r) => r.client).sort()).toEqual(names);
      const files = await sim.control.containerFiles(containerId);
      expect(names.every((name) => files.some((f) => f.path.endsWith(`${name}.csv`)))).toBe(true);
      expect((await sim.control.container(containerId))?.status).toBe('running'); // detached, not deleted

      // Together, as the server saw it: each worker's first request arrived before the other's last.
      expect(log.every((r) => names.includes(r.client!))).toBe(true);
      const span = (name: string) => log.filter((r) => r.client === name).map((r) => r.time);
      const [a, b] = names.map(span) as [number[], number[]];
      expect(Math.max(a[0]!, b[0]!)).toBeLessThan(Math.min(a.at(-1)!, b.at(-1)!));
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await sim.stop();
    }
  }, 60_000);
});
