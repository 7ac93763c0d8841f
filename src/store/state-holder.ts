import { raceSignal } from '../abort.js';
import { SessionClosedError } from '../errors.js';
import { emptyState, type LeaseState, type SessionState, type SessionStore, type StateChange } from './types.js';

/**
 * The session's view of its state, and the only way it writes it: every write is one
 * {@link StateChange} the store applies atomically, after which `current` is the store's answer
 * (this process's change merged with everything other processes wrote). Every call gives up when
 * the caller's signal aborts, even with a store that ignores signals.
 */
export class StateHolder {
  current: SessionState = emptyState();

  constructor(
    readonly store: SessionStore,
    readonly sessionId: string,
    /** Called when the store says another process closed the session (its tombstone). */
    private readonly onClosedElsewhere: () => void = () => {},
  ) {}

  /** Picks up what other processes sharing the store wrote. Rejects with `SessionClosedError` if the session was closed. */
  async reload(signal?: AbortSignal): Promise<SessionState> {
    const loaded = await raceSignal(this.store.load(this.sessionId, { signal }), signal);
    if (loaded?.closed) throw this.closedElsewhere();
    if (loaded) this.current = loaded;
    return this.current;
  }

  /** Applies one change; answers whether it applied (see `replaceContainer`). */
  async update(change: StateChange, signal?: AbortSignal): Promise<boolean> {
    const { state, applied } = await raceSignal(this.store.update(this.sessionId, change, { signal }), signal);
    if (state.closed) throw this.closedElsewhere();
    this.current = state;
    return applied;
  }

  /** Ends the session in the store for every process; answers the state it had (undefined if none). */
  async delete(signal?: AbortSignal): Promise<SessionState | undefined> {
    const last = await raceSignal(this.store.delete(this.sessionId, { signal }), signal);
    return last?.closed ? undefined : last;
  }

  /** Runs `fn` under the store's cross-process lock when it has one. */
  withLock<T>(name: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.store.withLock) return fn();
    return raceSignal(this.store.withLock(this.sessionId, name, fn, { signal }), signal);
  }

  /** Takes or renews the named lease; a store without leases gives it to everyone. */
  async lease(name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    if (!this.store.lease) return { held: true, remainingMs: ttlMs };
    return this.store.lease(this.sessionId, name, holder, ttlMs);
  }

  private closedElsewhere(): SessionClosedError {
    this.onClosedElsewhere();
    return new SessionClosedError(
      'this',
      `Session ${this.sessionId} was closed (by close() in this or another process sharing its store); ` +
        'create a session with a new sessionId to go on.',
    );
  }
}
