import { InvalidOptionsError } from '../errors.js';
import { MAX_TIMER_MS, setTimer } from '../timers.js';
import type { RateLimiter, RateLimiterOptions, RateLimitSlot, SlidingWindowOptions } from './types.js';

export interface SlidingWindowLimiter extends RateLimiter {
  /** Waiters queued now. */
  readonly pending: number;
  /** Slots granted whose request has not been sent (nor released) yet. */
  readonly unsent: number;
  /** Takes a slot, stamped now, if one is free right now and nobody is queued; never waits. */
  tryAcquire(): boolean;
  reserve(opts?: { signal?: AbortSignal }): Promise<RateLimitSlot>;
  tryReserve(): RateLimitSlot | undefined;
}

interface Waiter {
  resolve: (slot: RateLimitSlot) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** The default `marginMs`: 2% of the window, at most 500 ms. */
export function defaultMarginMs(intervalMs: number): number {
  return Math.min(500, intervalMs * 0.02);
}

export function validateLimiterOptions(where: string, options: RateLimiterOptions): void {
  const issues: Array<{ path: string; message: string }> = [];
  if (!Number.isInteger(options?.limit) || options.limit < 1) issues.push({ path: 'limit', message: `expected a whole number >= 1, got ${options?.limit}` });
  if (!Number.isFinite(options?.intervalMs) || options.intervalMs <= 0 || options.intervalMs > MAX_TIMER_MS) {
    issues.push({ path: 'intervalMs', message: `expected a number of milliseconds > 0 and at most ${MAX_TIMER_MS} (about 24.8 days), got ${options?.intervalMs}` });
  }
  if (options?.marginMs !== undefined && !(Number.isFinite(options.marginMs) && options.marginMs >= 0 && options.marginMs <= options.intervalMs)) {
    issues.push({ path: 'marginMs', message: `expected milliseconds from 0 to intervalMs (${options.intervalMs}), got ${options.marginMs}` });
  }
  if (issues.length) throw new InvalidOptionsError(where, issues);
}

/**
 * A strict sliding-window limiter: at most `limit` requests sent in ANY window of
 * `intervalMs + marginMs`.
 *
 * A slot is granted when fewer than `limit` slots are in use, where in use means granted but not
 * yet sent (`reserve()`), or sent less than `intervalMs + marginMs` ago. A slot's window starts
 * when its request is sent (`slot.sent()`), not when it was granted: a request that waited for a
 * connection cannot arrive bunched with the next window's. `acquire()` is `reserve()` stamped at
 * once. Timers may fire early, so a woken queue re-checks the clock rather than trusting the
 * timer. Waiters are served first come, first served; an aborted waiter leaves the queue.
 *
 * p-throttle was the planned base; it is not used because its default window is fixed (2x the
 * limit inside one sliding window), its strict mode trusts timers, it cannot drop a single
 * aborted call from its queue, and it has no notion of a slot stamped later.
 */
export function createRateLimiter(options: SlidingWindowOptions): SlidingWindowLimiter {
  validateLimiterOptions('createRateLimiter()', options);
  const { limit, onGrant } = options;
  const holdMs = options.intervalMs + (options.marginMs ?? defaultMarginMs(options.intervalMs));
  const now = options.now ?? (() => performance.now());
  const sentAt: number[] = []; // send times of slots still in the window, oldest first
  let unsent = 0;
  const queue: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const inUse = (t: number) => {
    while (sentAt.length > 0 && sentAt[0]! + holdMs <= t) sentAt.shift();
    return unsent + sentAt.length;
  };

  const slot = (): RateLimitSlot => {
    let open = true;
    return {
      sent() {
        if (!open) return;
        open = false;
        unsent--;
        sentAt.push(now());
        schedule();
      },
      release() {
        if (!open) return;
        open = false;
        unsent--;
        drain();
      },
    };
  };

  const grant = (t: number): RateLimitSlot => {
    unsent++;
    onGrant?.(t);
    return slot();
  };

  /** Wakes the queue when the oldest sent slot leaves the window; unsent slots wake it themselves. */
  const schedule = () => {
    if (timer || queue.length === 0) return;
    const t = now();
    if (inUse(t) < limit) {
      drain();
      return;
    }
    if (sentAt.length > 0) timer = setTimer(drain, Math.max(1, sentAt[0]! + holdMs - t));
  };

  function drain() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    let t = now();
    while (queue.length > 0 && inUse(t) < limit) {
      const waiter = queue.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(grant(t));
      t = now();
    }
    schedule();
  }

  const tryReserve = () => {
    const t = now();
    return queue.length > 0 || inUse(t) >= limit ? undefined : grant(t);
  };

  const reserve = (opts: { signal?: AbortSignal } = {}) => {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const free = tryReserve();
    if (free) return Promise.resolve(free);
    return new Promise<RateLimitSlot>((resolve, reject) => {
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
      schedule();
    });
  };

  return {
    get pending() {
      return queue.length;
    },
    get unsent() {
      return unsent;
    },
    reserve,
    tryReserve,
    tryAcquire() {
      const free = tryReserve();
      free?.sent();
      return free !== undefined;
    },
    acquire: async (opts) => (await reserve(opts)).sent(),
  };
}

/**
 * The tool's organisation limit, 100 requests per minute, with half a second of margin (0.8% of
 * throughput) for what delays some requests more than others after they leave the process.
 */
export const DEFAULT_RATE_LIMIT: Readonly<Required<RateLimiterOptions>> = Object.freeze({ limit: 100, intervalMs: 60_000, marginMs: 500 });

/**
 * Where the process-wide default limiter lives: a registered symbol on `globalThis`, so every copy
 * of this library in the process (the ESM and the CJS build, or two installed versions) finds the
 * same one and the process stays under one organisation limit.
 */
const DEFAULT_LIMITER_KEY = Symbol.for('code-interpreter-session.default-rate-limiter');

/**
 * The one limiter shared by every session in this process that was not given its own
 * ({@link DEFAULT_RATE_LIMIT}), whichever copy of the library made it. Use it to put your own
 * requests to the tool under the same budget.
 */
export function defaultRateLimiter(): RateLimiter {
  const global = globalThis as { [DEFAULT_LIMITER_KEY]?: RateLimiter };
  global[DEFAULT_LIMITER_KEY] ??= createRateLimiter(DEFAULT_RATE_LIMIT);
  return global[DEFAULT_LIMITER_KEY];
}
