import { InvalidOptionsError } from '../errors.js';
import type { RateLimiter, RateLimiterOptions, SlidingWindowOptions } from './types.js';

export interface SlidingWindowLimiter extends RateLimiter {
  /** Waiters queued now. */
  readonly pending: number;
  /** Takes a slot if one is free right now and nobody is queued; never waits. */
  tryAcquire(): boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export function validateLimiterOptions(where: string, options: RateLimiterOptions): void {
  const issues: Array<{ path: string; message: string }> = [];
  if (!Number.isInteger(options?.limit) || options.limit < 1) issues.push({ path: 'limit', message: `expected a whole number >= 1, got ${options?.limit}` });
  if (!Number.isFinite(options?.intervalMs) || options.intervalMs <= 0) {
    issues.push({ path: 'intervalMs', message: `expected a number of milliseconds > 0, got ${options?.intervalMs}` });
  }
  if (issues.length) throw new InvalidOptionsError(where, issues);
}

/**
 * A strict sliding-window limiter: at most `limit` acquisitions in ANY window of `intervalMs`.
 *
 * It keeps the times of the last `limit` grants (a sliding log) on the monotonic clock and grants
 * the next one only when the oldest of them is `intervalMs` old. Timers may fire early, so a
 * woken queue re-checks the clock and sleeps again rather than trusting the timer: no margin is
 * needed for correctness. Waiters are served first come, first served.
 *
 * p-throttle was the planned base; it is not used because its default window is fixed (2x the
 * limit inside one sliding window), its strict mode trusts timers, and it cannot drop a single
 * aborted call from its queue.
 */
export function createRateLimiter(options: SlidingWindowOptions): SlidingWindowLimiter {
  validateLimiterOptions('createRateLimiter()', options);
  if (options.marginMs !== undefined && !(options.marginMs >= 0)) {
    throw new InvalidOptionsError('createRateLimiter()', [{ path: 'marginMs', message: `expected milliseconds >= 0, got ${options.marginMs}` }]);
  }
  const { limit, onGrant } = options;
  const intervalMs = options.intervalMs + (options.marginMs ?? 0);
  const now = options.now ?? (() => performance.now());
  const grants: number[] = []; // ring of the last `limit` grant times, oldest first
  const queue: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const nextFreeAt = (t: number) => (grants.length < limit ? t : grants[0]! + intervalMs);

  const grant = (t: number) => {
    grants.push(t);
    if (grants.length > limit) grants.shift();
    onGrant?.(t);
  };

  const drain = () => {
    timer = undefined;
    let t = now();
    while (queue.length > 0 && nextFreeAt(t) <= t) {
      const waiter = queue.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      grant(t);
      waiter.resolve();
      t = now();
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, Math.ceil(nextFreeAt(t) - t)));
  };

  const tryAcquire = () => {
    const t = now();
    if (queue.length > 0 || nextFreeAt(t) > t) return false;
    grant(t);
    return true;
  };

  return {
    get pending() {
      return queue.length;
    },
    tryAcquire,
    acquire(opts = {}) {
      const { signal } = opts;
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (tryAcquire()) return Promise.resolve();
      const t = now();
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const at = queue.indexOf(waiter);
            if (at !== -1) queue.splice(at, 1);
            reject(signal!.reason);
            if (queue.length === 0 && timer) {
              clearTimeout(timer);
              timer = undefined;
            }
          },
        };
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        queue.push(waiter);
        if (!timer) timer = setTimeout(drain, Math.max(1, Math.ceil(nextFreeAt(t) - t)));
      });
    },
  };
}

let processLimiter: SlidingWindowLimiter | undefined;

/**
 * The tool's organisation limit, 100 requests per minute, with half a second of margin (0.8% of
 * throughput) so that requests delayed on their way out do not arrive bunched over the limit.
 */
export const DEFAULT_RATE_LIMIT: SlidingWindowOptions = { limit: 100, intervalMs: 60_000, marginMs: 500 };

/** The one limiter shared by every session in this process that was not given its own. */
export function defaultRateLimiter(): SlidingWindowLimiter {
  processLimiter ??= createRateLimiter(DEFAULT_RATE_LIMIT);
  return processLimiter;
}
