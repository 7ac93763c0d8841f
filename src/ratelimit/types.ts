/** Anything that hands out request slots. Every request a session makes awaits `acquire()` first. */
export interface RateLimiter {
  /**
   * Resolves when a request may be sent. Rejects with the signal's reason if `signal` aborts while
   * waiting; an aborted waiter takes no slot.
   */
  acquire(opts?: { signal?: AbortSignal }): Promise<void>;
}

export interface RateLimiterOptions {
  /** Most acquisitions in any window of `intervalMs`. */
  limit: number;
  /** The window length. */
  intervalMs: number;
}
