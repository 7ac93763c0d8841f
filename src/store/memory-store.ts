import { z } from 'zod';
import { raceSignal } from '../abort.js';
import { describeValue, durationMs } from '../timers.js';
import { parseWith } from '../validation.js';
import { applyStateChange, copyState, emptyState, type LeaseState, type SessionState, type SessionStore, type StateChange, type StateUpdate, type StoreCallOptions } from './types.js';

export interface MemorySessionStoreOptions {
  /**
   * How long a closed session's id stays closed: sessions sharing this store that use the id in
   * that time get `SessionClosedError` (ms, 0 or more). @default 3_600_000 (1 hour)
   */
  tombstoneTtlMs?: number;
  /** The clock, in ms. @default Date.now */
  now?: () => number;
}

/** What `new MemorySessionStore()` accepts (unknown keys are refused), checked at construction. */
const MemorySessionStoreOptionsSchema = z.strictObject(
  {
    tombstoneTtlMs: durationMs('tombstoneTtlMs', { max: Number.MAX_SAFE_INTEGER, integer: false }).optional(),
    now: z.custom<() => number>((v) => typeof v === 'function', { error: (issue) => `expected now as a function () => number (ms), e.g. Date.now, got ${describeValue(issue.input)}` }).optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `expected an options object such as { tombstoneTtlMs: 60_000 } (or none), got ${describeValue(issue.input)}` : undefined) },
);

/**
 * The default store: state lives in this process only, with the same semantics as
 * `RedisSessionStore` (atomic merging changes, a tombstone after close, a lock and a lease), so
 * sessions of one process that share a store and a `sessionId` behave like processes sharing
 * Redis. Callers get copies: nothing outside the store mutates its state.
 */
export class MemorySessionStore implements SessionStore {
  // Made on first write: every session without a store of its own has one of these, and an idle
  // pooled session never writes (four empty maps are ~0.7 KiB a session).
  private states: Map<string, SessionState> | undefined;
  private tombstones: Map<string, number> | undefined;
  private locks: Map<string, Promise<void>> | undefined;
  private leases: Map<string, { holder: string; until: number }> | undefined;
  private readonly tombstoneTtlMs: number;
  private readonly now: () => number;

  /** @throws InvalidOptionsError naming each bad option and what to pass instead. */
  constructor(options?: MemorySessionStoreOptions) {
    // Nothing to check without options: every session without a store of its own makes one of these.
    if (options !== undefined) parseWith(MemorySessionStoreOptionsSchema, options, 'new MemorySessionStore()');
    this.tombstoneTtlMs = options?.tombstoneTtlMs ?? 60 * 60_000;
    this.now = options?.now ?? Date.now;
  }

  private isClosed(sessionId: string): boolean {
    const until = this.tombstones?.get(sessionId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.tombstones!.delete(sessionId);
    return false;
  }

  async load(sessionId: string): Promise<SessionState | undefined> {
    if (this.isClosed(sessionId)) return { ...emptyState(), closed: true };
    const state = this.states?.get(sessionId);
    return state && copyState(state);
  }

  async update(sessionId: string, change: StateChange): Promise<StateUpdate> {
    if (this.isClosed(sessionId)) return { state: { ...emptyState(), closed: true }, applied: false };
    const states = (this.states ??= new Map());
    let state = states.get(sessionId);
    if (!state) states.set(sessionId, (state = emptyState()));
    const applied = applyStateChange(state, change);
    return { state: copyState(state), applied };
  }

  async delete(sessionId: string): Promise<SessionState | undefined> {
    if (this.isClosed(sessionId)) return { ...emptyState(), closed: true };
    const state = this.states?.get(sessionId);
    this.states?.delete(sessionId);
    (this.tombstones ??= new Map()).set(sessionId, this.now() + this.tombstoneTtlMs);
    return state && copyState(state);
  }

  /** One holder at a time per session and lock name, within this process. */
  async withLock<T>(sessionId: string, name: string, fn: () => Promise<T>, options: StoreCallOptions = {}): Promise<T> {
    const key = `${sessionId}\0${name}`;
    const locks = (this.locks ??= new Map());
    const before = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = before.then(() => mine);
    locks.set(key, chained);
    try {
      await raceSignal(before, options.signal);
    } catch (error) {
      // Gave up waiting: let the next in line through once our turn would have come and gone.
      release();
      throw error;
    } finally {
      void chained.then(() => {
        if (locks.get(key) === chained) locks.delete(key);
      });
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async lease(sessionId: string, name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    const key = `${sessionId}\0${name}`;
    const now = this.now();
    const leases = (this.leases ??= new Map());
    const current = leases.get(key);
    if (current && current.holder !== holder && current.until > now) return { held: false, remainingMs: current.until - now };
    leases.set(key, { holder, until: now + ttlMs });
    return { held: true, remainingMs: ttlMs };
  }
}
