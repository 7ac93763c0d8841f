// Child process sharing one session (state in Redis) with other processes, for test/redis-processes.test.ts.
// argv[2] is a JSON job; the process prints one JSON line per report on stdout.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, type SessionStore } from '../../src/index.js';
import { RedisSessionStore } from '../../src/redis/index.js';

interface Job {
  mode: 'share' | 'close' | 'late' | 'stall' | 'keepalive' | 'exit';
  baseURL: string;
  redisUrl: string;
  prefix: string;
  sessionId: string;
  /** share: files to upload and turns to run; every process waits at a Redis barrier of `processes` first. */
  uploads?: number;
  turns?: number;
  processes?: number;
  keepAliveMs?: number;
  /** The store's `redisTimeoutMs` (its default when absent). */
  redisTimeoutMs?: number;
  /** stall: the run's `timeoutMs`. */
  runTimeoutMs?: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const report = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const errorOf = (error: unknown) => ({ name: (error as Error).name, message: (error as Error).message, cause: ((error as Error).cause as Error | undefined)?.name });

/** What happened, in order, in this process (stall mode): calls started and how they settled. */
const trace: string[] = [];
const settled = (what: string, error: unknown) => trace.push(`${what} ${error === undefined ? 'ok' : (error as Error).name}`);

/** The store with every call traced: which calls a session waits on, and what ended each one. */
function traced(inner: RedisSessionStore): SessionStore {
  const call = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    trace.push(`store.${name} start`);
    try {
      const value = await fn();
      settled(`store.${name}`, undefined);
      return value;
    } catch (error) {
      settled(`store.${name}`, error);
      throw error;
    }
  };
  return {
    load: (id, o) => call('load', () => inner.load(id, o)),
    update: (id, change, o) => call(`update ${change.type}`, () => inner.update(id, change, o)),
    delete: (id, o) => call('delete', () => inner.delete(id, o)),
    withLock: (id, name, fn, o) => call(`withLock ${name}`, () => inner.withLock(id, name, fn, o)),
    lease: (id, name, holder, ttlMs, o) => call(`lease ${name}`, () => inner.lease(id, name, holder, ttlMs, o)),
  };
}

const redisStore = new RedisSessionStore({ redis: job.redisUrl, prefix: job.prefix, ...(job.redisTimeoutMs && { redisTimeoutMs: job.redisTimeoutMs }) });
const store = job.mode === 'stall' ? traced(redisStore) : redisStore;
const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-worker', baseURL: job.baseURL, maxRetries: 0 }),
  model: 'gpt-5',
  sessionId: job.sessionId,
  store,
  rateLimiter: createRateLimiter({ limit: 10_000, intervalMs: 1000 }),
  keepAlive: job.keepAliveMs ? { intervalMs: job.keepAliveMs } : false,
});

/** The next line from the parent on stdin (read only by modes that wait for the parent: stdin keeps a process up). */
let lines: AsyncIterator<string> | undefined;
const nextLine = async () => {
  lines ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  return (await lines.next()).value as string;
};

async function barrier(n: number): Promise<void> {
  const redis = new Redis(job.redisUrl);
  const key = `${job.prefix}barrier:${job.sessionId}`;
  await redis.incr(key);
  while (Number(await redis.get(key)) < n) await new Promise((r) => setTimeout(r, 5));
  await redis.quit();
}

switch (job.mode) {
  case 'share': {
    await barrier(job.processes!);
    const uploaded: string[] = [];
    const containers = new Set<string>();
    for (let i = 0; i < job.uploads!; i++) {
      const file = await session.upload(new TextEncoder().encode(`a,b\n${process.pid},${i}\n`), { filename: `p${process.pid}-${i}.csv` });
      uploaded.push(file.fileId);
      if (session.containerId) containers.add(session.containerId);
    }
    const texts: string[] = [];
    for (let i = 0; i < job.turns!; i++) {
      const result = await session.run(`turn ${i} of process ${process.pid}`);
      containers.add(result.containerId);
      texts.push(`turn ${i} of process ${process.pid}`);
    }
    await session.close({ deleteContainer: false, deleteFiles: false }); // hand the session on
    report({ pid: process.pid, uploaded, containers: [...containers], prompts: texts, stats: session.stats });
    break;
  }
  case 'close': {
    // A process that never used the session closes it: it must load the shared state first.
    await session.close();
    report({ closed: true });
    break;
  }
  case 'late': {
    const error = await session.run('anyone there?').then(
      () => undefined,
      (e: unknown) => e,
    );
    report({ error: error && errorOf(error) });
    break;
  }
  case 'stall': {
    await session.start();
    report({ ready: true, containerId: session.containerId });
    await nextLine(); // the parent stops Redis (SIGSTOP), then says go
    let started = performance.now();
    trace.push('run start');
    const runError = await session.run('while Redis is stopped', { timeoutMs: job.runTimeoutMs! }).then(
      () => undefined,
      (e: unknown) => e,
    );
    settled('run', runError);
    const runMs = performance.now() - started;
    started = performance.now();
    trace.push('close start');
    const closeError = await session.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    settled('close', closeError);
    const closeMs = performance.now() - started;
    report({ runMs, runError: runError && errorOf(runError), closeMs, closeError: closeError && errorOf(closeError), trace });
    process.exit(0); // the parent resumes Redis only after this
    break;
  }
  case 'keepalive': {
    await session.start();
    session.on('keepalive', () => report({ touch: performance.now() }));
    report({ ready: true, pid: process.pid, containerId: session.containerId });
    await nextLine(); // stays up (keep-alive timers are unref'ed) until the parent says stop or kills it
    await session.close({ deleteContainer: false, deleteFiles: false });
    process.exit(0);
    break;
  }
  case 'exit': {
    // A script as users write it: uses the session, closes it, and never closes the store.
    await session.upload(new TextEncoder().encode('x,y\n1,2\n'), { filename: 'data.csv' });
    await session.run('sum of y');
    await session.close();
    report({ done: true });
    break;
  }
}
