import { emptyState, type SessionState, type SessionStore } from './types.js';

/** The session's state and the store it is written through to. */
export class StateHolder {
  current: SessionState = emptyState();

  constructor(
    readonly store: SessionStore,
    readonly sessionId: string,
  ) {}

  /** Picks up what other processes sharing the store wrote. */
  async reload(): Promise<SessionState> {
    this.current = (await this.store.load(this.sessionId)) ?? this.current;
    return this.current;
  }

  async save(): Promise<void> {
    await this.store.save(this.sessionId, this.current);
  }

  /** Runs `fn` under the store's cross-process lock when it has one. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.store.withLock ? this.store.withLock(this.sessionId, name, fn) : fn();
  }
}
