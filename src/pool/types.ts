import type { CostSummary } from '../cost/types.js';
import { CodeInterpreterError } from '../errors.js';
import type { SessionOptions } from '../options.js';
import type { CodeInterpreterSession, CloseOptions } from '../session.js';

/** What the pool does when `get()` needs a new session and the pool is at a cap. */
export type WhenFull =
  /**
   * Close the least recently used idle session: one neither leased nor with a call in flight (a
   * `run()`, a `stream()` being read, a `fetch` body). None idle: wait as with `'wait'`, and take
   * the first session whose calls end or that is released.
   */
  | 'evict'
  /** Wait (up to `waitTimeoutMs`) until a session is closed, released or swept. */
  | 'wait'
  /** Reject with `PoolFullError` at once. */
  | 'fail';

/** How the pool ends a session it evicts (idle, LRU, `pool.evict()`) or closes (`pool.close()`). */
export type EndMode =
  /** `session.close()`: the container and the session's Files API copies are deleted. */
  | 'close'
  /**
   * Stop the session in this process only (`close({ deleteContainer: false, deleteFiles: false })`):
   * its state stays in the store, so the next `get(key)` here or in another process sharing the
   * store continues it; an unused container expires on the server after its idle minutes. For
   * pools in several processes sharing a `RedisSessionStore`.
   */
  | 'detach';

/** Options of `new SessionPool(options)`. */
export interface SessionPoolOptions {
  /**
   * Options every session is made with (client, model, limiter, store, keep-alive, …); `sessionId`
   * comes from the key. A function gets the key, for per-key options.
   */
  session: Omit<SessionOptions, 'sessionId'> | ((key: string) => Omit<SessionOptions, 'sessionId'>);
  /**
   * Close a session once it has not been used (no `get()`, no method call, no lease) for this long;
   * a session with a call in flight is never closed by the sweeper.
   * The session's keep-alive stops at the same point unless `keepAlive.idleTimeoutMs` says otherwise.
   * @default 1_800_000 (30 minutes)
   */
  idleMs?: number;
  /** At most this many sessions open at once. @default 10_000 */
  maxSessions?: number;
  /**
   * At most this many sessions holding a container at once (each is billed per minute). A new
   * session counts as one, since its first call makes a container. At most `maxSessions` (each open
   * session holds at most one container, so a larger cap would never apply: refused).
   * @default no cap (every open session may hold one)
   */
  maxLiveContainers?: number;
  /** At a cap: evict the least recently used idle session, wait, or fail. @default 'evict' */
  whenFull?: WhenFull;
  /** How long `get()` waits for room (`whenFull: 'wait'`, or `'evict'` with every session in use) before `PoolFullError`. @default 30_000 */
  waitTimeoutMs?: number;
  /** How evicted sessions end, and how `pool.close()` ends them. @default 'close' */
  end?: EndMode;
  /** The session id for a key (the store key: the same id in two processes is the same session). @default the key itself */
  sessionId?: (key: string) => string;
  /** How often the one sweeper looks for idle sessions. @default min(idleMs, 60_000) */
  sweepIntervalMs?: number;
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

/** Why a session left the pool. */
export type EvictionReason = 'idle' | 'capacity' | 'containers' | 'manual' | 'shutdown';

/** The events a pool emits, by name. */
export interface SessionPoolEvents {
  'session.created': { key: string; session: CodeInterpreterSession };
  /** A session was closed (or detached) by the pool; `cost` is what it ran up. */
  'session.evicted': { key: string; reason: EvictionReason; idleMs: number; cost: CostSummary };
  error: { operation: string; error: Error; key?: string };
}

/** `pool.stats`. */
export interface SessionPoolStats {
  /** Sessions open now. */
  sessions: number;
  /** Open sessions held by `use()` / `acquire()` right now. */
  leased: number;
  /** Open sessions that hold a container. */
  liveContainers: number;
  /** `get()` calls waiting for room. */
  waiting: number;
  /** Sessions made since the pool was. */
  created: number;
  /** Sessions the pool ended, by reason. */
  evicted: Record<EvictionReason, number>;
  /** Containers and their estimated cost: every session the pool has made, open or ended. */
  cost: CostSummary;
}

/** A session held by `pool.acquire()`: not evicted until `release()`. */
export interface PoolLease extends AsyncDisposable {
  readonly key: string;
  readonly session: CodeInterpreterSession;
  release(): void;
}

/** The pool is at `maxSessions` / `maxLiveContainers` and no room was made in time. */
export class PoolFullError extends CodeInterpreterError {
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`SessionPool: no room for a session for key "${key}": ${detail}. Raise \`maxSessions\` / \`maxLiveContainers\`, lower \`idleMs\`, or use \`whenFull: 'evict'\`.`);
    this.key = key;
  }
}

export type { CloseOptions };
