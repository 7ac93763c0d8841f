/** Anything that hands out request slots. Every request a session makes awaits `acquire()` first. */
export interface RateLimiter {
  /**
   * Resolves when a request may be sent. Rejects with the signal's reason if `signal` aborts while
   * waiting; an aborted waiter takes no slot.
   */
  acquire(opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Takes a slot only if one is free right now, without waiting (optional). Lets the session tell
   * a request that was held back from one that merely awaited a settled promise.
   */
  tryAcquire?(): boolean;
}

export interface RateLimiterOptions {
  /** Most acquisitions in any window of `intervalMs`. */
  limit: number;
  /** The window length. */
  intervalMs: number;
}

/** Options of the in-process limiter. */
export interface SlidingWindowOptions extends RateLimiterOptions {
  /**
   * Extra time each slot is held past `intervalMs`. The limiter's guarantee is about when it grants;
   * a request reaches the server a little later, by a delay that varies (event loop, network). A
   * margin keeps bursts that arrive compressed under the server's limit.
   * @default 0
   */
  marginMs?: number;
  /** The clock, in ms; must not go backwards. @default performance.now */
  now?: () => number;
  /** Told the limiter-clock time of each grant, e.g. for metrics. */
  onGrant?: (at: number) => void;
}
