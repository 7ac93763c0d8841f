/**
 * A slot taken before a request is sent, whose place in the window is set when the request goes
 * out. Until then it counts as occupying the window (so nothing can overtake it). Exactly one of
 * `sent()` and `release()` takes effect; later calls do nothing.
 */
export interface RateLimitSlot {
  /**
   * How long the limiter held the request back before granting the slot, when the limiter knows
   * better than the caller's clock (a Redis round trip is not throttling). Optional.
   */
  readonly heldBackMs?: number;
  /**
   * The request has been counted by the server by now (the session's transport calls it when the
   * server's answer starts, or when a request that failed after it was written can no longer
   * arrive): the slot occupies the window from this moment, or from `sinceArrivalMs` before it.
   * @param sinceArrivalMs How long ago, at least, the server counted the request: the transport
   * passes the time the server says it spent on it (`openai-processing-ms`), never more than the
   * time since the request was written. Anything but a finite number >= 0 counts as 0.
   * @default 0
   */
  sent(sinceArrivalMs?: number): void;
  /** The request was never sent (aborted or failed before it left): the slot is free again. */
  release(): void;
}

/** Anything that hands out request slots. Every request a session makes takes one first. */
export interface RateLimiter {
  /**
   * Resolves when a request may be sent, the slot stamped with the time it was granted. Rejects
   * with the signal's reason if `signal` aborts while waiting; an aborted waiter takes no slot.
   */
  acquire(opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Takes a slot only if one is free right now, without waiting (optional). Lets the session tell
   * a request that was held back from one that merely awaited a settled promise.
   */
  tryAcquire?(): boolean;
  /**
   * Like `acquire()`, but the slot's place in the window is set when the request is really sent
   * (`slot.sent()`), or freed if it never is (`slot.release()`). The session's transport uses this
   * when the limiter has it, so that the window the limiter enforces is the one the server sees.
   */
  reserve?(opts?: { signal?: AbortSignal }): Promise<RateLimitSlot>;
  /** Like `tryAcquire()`, for `reserve()`: a slot if one is free right now and nobody waits. */
  tryReserve?(): RateLimitSlot | undefined;
}

export interface RateLimiterOptions {
  /** Most requests in any window of `intervalMs`. */
  limit: number;
  /** The window length. */
  intervalMs: number;
  /**
   * Extra time each slot is held past `intervalMs`. A slot stamped when its request has been
   * counted (`slot.sent()`, which the session's transport calls when the server's answer starts)
   * needs none: its window already contains the one the server counts. A slot stamped when granted
   * (`acquire()`, `tryAcquire()`) is stamped before its request can arrive, and requests delayed
   * less than the one before them would arrive closer to it: those get 2% of `intervalMs`, at most
   * 500. Set it to hold every slot longer, e.g. behind a proxy that holds requests for seconds.
   * See docs/rate-limits.md.
   * @default 0 for slots stamped by `sent()`; 2% of `intervalMs`, at most 500, for slots stamped when granted
   */
  marginMs?: number;
}

/** Options of the in-process limiter. */
export interface SlidingWindowOptions extends RateLimiterOptions {
  /** The clock, in ms; must not go backwards. @default performance.now */
  now?: () => number;
  /** Told the limiter-clock time of each grant, e.g. for metrics (the send time may come later). */
  onGrant?: (at: number) => void;
}
