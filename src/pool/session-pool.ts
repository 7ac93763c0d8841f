import { addCostSummaries, emptyCostSummary, type CostSummary } from '../cost/types.js';
import { CodeInterpreterError, InvalidOptionsError, asError } from '../errors.js';
import { Emitter } from '../events.js';
import { CodeInterpreterSession } from '../session.js';
import { onCallsSettled } from '../session/settled-hook.js';
import { validatePoolOptions, type ResolvedPoolOptions } from './options.js';
import {
  PoolFullError,
  type EvictionReason,
  type PoolLease,
  type SessionPoolEvents,
  type SessionPoolOptions,
  type SessionPoolStats,
} from './types.js';

/** One pooled session: a few fields, no timer (the pool's one sweeper looks at them all). */
interface Entry {
  key: string;
  session: CodeInterpreterSession;
  /** Last `get()` / lease / release, epoch ms (the session's own `lastUsedAt` counts too). */
  touchedAt: number;
  leases: number;
  /** Stops listening for the session's calls settling. */
  unlisten: () => void;
}

interface Waiter {
  key: string;
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Sessions by key (a user, a conversation) for backends: `get(key)` returns the key's session,
 * made on first use with shared options; sessions idle for `idleMs` are closed by one sweeper; at
 * most `maxSessions` (and `maxLiveContainers`) are open, making room by closing the least recently
 * used idle session, or waiting, or failing (`whenFull`). Concurrent `get`s of one key share one
 * session. With a shared store (`RedisSessionStore`) and `end: 'detach'`, a key is one session
 * (one container) across every process.
 *
 * @example
 * ```ts
 * const pool = new SessionPool({ session: { model: 'gpt-5' }, idleMs: 15 * 60_000, maxSessions: 500 });
 * const answer = await pool.use(userId, (session) => session.run('Summarise the upload'));
 * process.once('SIGTERM', () => void pool.close());
 * ```
 */
export class SessionPool implements AsyncDisposable {
  private readonly options: ResolvedPoolOptions;
  private readonly events = new Emitter<SessionPoolEvents>();
  /** Open sessions; insertion order is least recently used first (moved to the end on use). */
  private readonly entries = new Map<string, Entry>();
  /** Keys whose session is being made (waiting for room). */
  private readonly making = new Map<string, Promise<Entry>>();
  /** Keys whose evicted session is still closing: a new session for the key waits for it. */
  private readonly ending = new Map<string, Promise<void>>();
  private readonly waiters: Waiter[] = [];
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  private made = 0;
  private readonly evicted: Record<EvictionReason, number> = { idle: 0, capacity: 0, containers: 0, manual: 0, shutdown: 0 };
  /** The cost of sessions that left the pool, summed when they left. */
  private endedCost: CostSummary = emptyCostSummary();
  /** Sessions that left the pool but whose containers are still counted (detached: still billed until expiry). */
  private readonly detached = new Set<CodeInterpreterSession>();

  constructor(options: SessionPoolOptions) {
    this.options = validatePoolOptions(options);
  }

  /** The key's session, made on first use. At a cap, room is made as `whenFull` says. */
  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<CodeInterpreterSession> {
    return (await this.entry(key, opts.signal)).session;
  }

  /**
   * Holds the key's session until `release()`: a held session is never evicted (idle or LRU),
   * so a request in progress is not cut off. `await using lease = await pool.acquire(key)`.
   */
  async acquire(key: string, opts: { signal?: AbortSignal } = {}): Promise<PoolLease> {
    const entry = await this.entry(key, opts.signal);
    entry.leases++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.leases--;
      this.touch(entry);
      this.wake();
    };
    return { key, session: entry.session, release, [Symbol.asyncDispose]: async () => release() };
  }

  /** Runs `fn` with the key's session held (see {@link acquire}); returns what `fn` returns. */
  async use<T>(key: string, fn: (session: CodeInterpreterSession) => Promise<T> | T, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const lease = await this.acquire(key, opts);
    try {
      return await fn(lease.session);
    } finally {
      lease.release();
    }
  }

  /** The key's open session, if there is one (does not make one, does not count as use). */
  peek(key: string): CodeInterpreterSession | undefined {
    return this.entries.get(key)?.session;
  }

  /** Whether the key has an open session. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Number of open sessions. */
  get size(): number {
    return this.entries.size;
  }

  /** Ends the key's session now (as `end` says: close, or detach), e.g. when the user signs out. */
  async evict(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) this.remove(entry, 'manual');
    await this.ending.get(key);
  }

  /** Closes idle sessions now (the sweeper does this every `sweepIntervalMs`); returns how many. */
  sweep(): number {
    const now = this.options.now();
    let count = 0;
    for (const entry of [...this.entries.values()]) {
      if (!this.inUse(entry) && now - this.lastUsed(entry) >= this.options.idleMs) {
        this.remove(entry, 'idle');
        count++;
      }
    }
    return count;
  }

  /**
   * Ends every session (as `end` says) and stops the sweeper; `get()` rejects afterwards.
   * Idempotent. Wire it to shutdown: `process.once('SIGTERM', () => pool.close())`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  on<K extends keyof SessionPoolEvents>(event: K, listener: (payload: SessionPoolEvents[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends keyof SessionPoolEvents>(event: K, listener: (payload: SessionPoolEvents[K]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  /** Sessions, leases, containers and their cost (open sessions counted up to now). */
  get stats(): SessionPoolStats {
    let leased = 0;
    let cost = this.endedCost;
    for (const entry of this.entries.values()) {
      if (entry.leases > 0) leased++;
      if (entry.session.containerId !== undefined || entry.session.stats.containersCreated > 0) cost = addCostSummaries(cost, entry.session.stats.cost);
    }
    for (const session of this.detached) {
      const own = session.stats.cost;
      cost = addCostSummaries(cost, own);
      if (own.liveContainers === 0) {
        // Its container has expired by now: its cost is final.
        this.detached.delete(session);
        this.endedCost = addCostSummaries(this.endedCost, own);
      }
    }
    return {
      sessions: this.entries.size,
      leased,
      liveContainers: this.liveContainers(),
      waiting: this.waiters.length,
      created: this.made,
      evicted: { ...this.evicted },
      cost,
    };
  }

  private async entry(key: string, signal: AbortSignal | undefined): Promise<Entry> {
    if (this.closing) throw new CodeInterpreterError(`SessionPool: get("${String(key)}") after pool.close(); make a new pool to go on.`);
    if (typeof key !== 'string' || key === '') {
      throw new InvalidOptionsError('SessionPool.get()', [{ path: 'key', message: 'expected a non-empty string (a user or conversation id)' }]);
    }
    const open = this.entries.get(key);
    if (open) {
      this.touch(open);
      return open;
    }
    let making = this.making.get(key);
    if (!making) {
      making = this.make(key, signal).finally(() => this.making.delete(key));
      this.making.set(key, making);
    }
    const entry = await making;
    this.touch(entry);
    return entry;
  }

  private async make(key: string, signal: AbortSignal | undefined): Promise<Entry> {
    await this.ending.get(key); // the key's previous session must finish closing before its id is reused
    // One deadline for the whole wait, however often the waiter is woken to look again.
    const deadline = this.options.now() + this.options.waitTimeoutMs;
    while (!this.hasRoom()) {
      if (this.closing) throw new CodeInterpreterError(`SessionPool: closed while get("${key}") waited for room.`);
      const victim = this.options.whenFull === 'evict' ? this.leastRecentlyUsedIdle() : undefined;
      if (victim) {
        this.remove(victim, this.entries.size + this.making.size > this.options.maxSessions ? 'capacity' : 'containers');
        continue;
      }
      if (this.options.whenFull === 'fail') throw new PoolFullError(key, this.fullDetail());
      await this.waitForRoom(key, signal, deadline);
    }
    if (this.closing) throw new CodeInterpreterError(`SessionPool: closed while get("${key}") waited for room.`);
    const session = new CodeInterpreterSession({ ...this.options.sessionOptions(key), sessionId: this.options.sessionId(key) });
    // A session whose last call ends may be the idle one a waiter evicts ('evict'): it looks again.
    const unlisten = this.options.whenFull === 'evict' ? session[onCallsSettled](() => this.wake()) : () => {};
    const entry: Entry = { key, session, touchedAt: this.options.now(), leases: 0, unlisten };
    this.entries.set(key, entry);
    this.made++;
    this.startSweeper();
    this.events.emit('session.created', { key, session });
    return entry;
  }

  /** Room for one more session (the one being made is counted in `making`). */
  private hasRoom(): boolean {
    const { maxSessions, maxLiveContainers } = this.options;
    if (this.entries.size + this.making.size > maxSessions) return false;
    return this.liveContainers() + this.making.size <= maxLiveContainers;
  }

  private liveContainers(): number {
    let n = 0;
    for (const entry of this.entries.values()) if (entry.session.containerId !== undefined) n++;
    return n;
  }

  private fullDetail(): string {
    const { maxSessions, maxLiveContainers } = this.options;
    return `${this.entries.size} of maxSessions ${maxSessions} open, ${this.liveContainers()} of maxLiveContainers ${maxLiveContainers === Infinity ? 'unlimited' : maxLiveContainers} holding a container, every one of them in use (leased or with a call in flight)`;
  }

  /** Leased, or with a call in flight (a run, a stream being read, a download body): not idle, never evicted or swept. */
  private inUse(entry: Entry): boolean {
    return entry.leases > 0 || entry.session.callsInFlight > 0;
  }

  /** The idle session used longest ago; for a container cap, one that holds a container. */
  private leastRecentlyUsedIdle(): Entry | undefined {
    const needContainer = this.entries.size + this.making.size <= this.options.maxSessions;
    let best: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (this.inUse(entry) || (needContainer && entry.session.containerId === undefined)) continue;
      if (!best || this.lastUsed(entry) < this.lastUsed(best)) best = entry;
    }
    return best;
  }

  private lastUsed(entry: Entry): number {
    return Math.max(entry.touchedAt, entry.session.lastUsedAt);
  }

  private touch(entry: Entry): void {
    entry.touchedAt = this.options.now();
    // Most recently used last: re-inserting keeps the map in LRU order for sweeps and stats.
    if (this.entries.get(entry.key) === entry) {
      this.entries.delete(entry.key);
      this.entries.set(entry.key, entry);
    }
  }

  /** Takes the session out of the pool now (room is free at once) and ends it in the background. */
  private remove(entry: Entry, reason: EvictionReason): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    entry.unlisten();
    this.evicted[reason]++;
    const idleMs = Math.max(0, this.options.now() - this.lastUsed(entry));
    const { session, key } = entry;
    const detach = this.options.end === 'detach';
    const ending = (detach ? session.close({ deleteContainer: false, deleteFiles: false }) : session.close())
      .catch((error: unknown) => {
        this.events.emit('error', { operation: `closing the session of "${key}" (${reason})`, error: asError(error), key });
      })
      .then(() => {
        if (detach && session.containerId !== undefined) this.detached.add(session);
        else this.endedCost = addCostSummaries(this.endedCost, session.stats.cost);
        this.events.emit('session.evicted', { key, reason, idleMs, cost: session.stats.cost });
      })
      .finally(() => {
        if (this.ending.get(key) === ending) this.ending.delete(key);
      });
    this.ending.set(key, ending);
    if (this.entries.size === 0) this.stopSweeper();
    this.wake();
  }

  private waitForRoom(key: string, signal: AbortSignal | undefined, deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        key,
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
        timer: setTimeout(
          () => waiter.reject(new PoolFullError(key, `waited ${this.options.waitTimeoutMs} ms (waitTimeoutMs); ${this.fullDetail()}`)),
          Math.max(0, deadline - this.options.now()),
        ),
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Room may have appeared (a removal, a release): the first waiter looks again. */
  private wake(): void {
    this.waiters[0]?.resolve();
  }

  private startSweeper(): void {
    if (this.sweeper || this.closing) return;
    this.sweeper = setInterval(() => {
      this.sweep();
      // Sessions holding containers may have dropped them (expiry) while others wait.
      if (this.waiters.length > 0 && this.hasRoom()) this.wake();
    }, this.options.sweepIntervalMs);
    this.sweeper.unref?.();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private async shutdown(): Promise<void> {
    this.stopSweeper();
    for (const waiter of [...this.waiters]) waiter.reject(new CodeInterpreterError(`SessionPool: closed while get("${waiter.key}") waited for room.`));
    await Promise.allSettled([...this.making.values()]);
    for (const entry of [...this.entries.values()]) this.remove(entry, 'shutdown');
    await Promise.all([...this.ending.values()]);
  }
}
