import { setTimer } from '../timers.js';
import { callbackSchema, limiterOptionsSchema, validateFactoryOptions } from './options.js';
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
  resolve: (slot: RateLimitSlot & { stampAtGrant(): void }) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** The default `marginMs` of a slot stamped when granted (`acquire()`): 2% of the window, at most 500 ms. */
export function defaultMarginMs(intervalMs: number): number {
  return Math.min(500, intervalMs * 0.02);
}

/** What `createRateLimiter` accepts (unknown keys are refused). */
const SlidingWindowOptionsSchema = limiterOptionsSchema({
  now: callbackSchema('now', '() => number (a clock in milliseconds)').optional(),
  onGrant: callbackSchema('onGrant', '(at: number) => void').optional(),
});

/**
 * A strict sliding-window limiter: at most `limit` requests counted in ANY window of `intervalMs`
 * (plus the slot's margin, see {@link RateLimiterOptions.marginMs}).
 *
 * A slot is granted when fewer than `limit` slots are in use, where in use means granted but not
 * yet stamped (`reserve()`), or stamped less than `intervalMs` + its margin ago. A reserved slot is
 * stamped when its request has surely been counted (`slot.sent()`: the session's transport calls
 * it when the server's answer starts), not when it was granted, so a request that waited for a
 * connection cannot arrive bunched with the next window's; such a slot needs no margin.
 * `acquire()` is `reserve()` stamped at once, before its request can arrive: it keeps the default
 * margin. Timers may fire early, so a woken queue re-checks the clock rather than trusting the
 * timer. Waiters are served first come, first served; an aborted waiter leaves the queue.
 *
 * p-throttle was the planned base; it is not used because its default window is fixed (2x the
 * limit inside one sliding window), its strict mode trusts timers, it cannot drop a single
 * aborted call from its queue, and it has no notion of a slot stamped later.
 */
export function createRateLimiter(options: SlidingWindowOptions): SlidingWindowLimiter {
  validateFactoryOptions('createRateLimiter()', SlidingWindowOptionsSchema, options, '{ limit: 100, intervalMs: 60_000 }');
  const { limit, onGrant } = options;
  const holdMs = holdFor(options);
  const now = options.now ?? (() => performance.now());
  const leaveAt: number[] = []; // when each stamped slot still in the window leaves it, soonest first
  let unsent = 0;
  const queue: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const inUse = (t: number) => {
    while (leaveAt.length > 0 && leaveAt[0]! <= t) leaveAt.shift();
    return unsent + leaveAt.length;
  };

  /** Puts a slot stamped now into the window for `ms` (slots with different margins or ages may interleave). */
  const occupy = (ms: number) => {
    const until = now() + ms;
    let at = leaveAt.length;
    while (at > 0 && leaveAt[at - 1]! > until) at--;
    leaveAt.splice(at, 0, until);
  };

  const slot = (): RateLimitSlot & { stampAtGrant(): void } => {
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      unsent--;
      return true;
    };
    return {
      sent(sinceArrivalMs) {
        if (!close()) return;
        occupy(holdMs.afterArrival - sinceArrival(sinceArrivalMs));
        schedule();
      },
      stampAtGrant() {
        if (!close()) return;
        occupy(holdMs.atGrant);
        schedule();
      },
      release() {
        if (close()) drain();
      },
    };
  };

  const grant = (t: number) => {
    unsent++;
    onGrant?.(t);
    return slot();
  };

  /** Wakes the queue when the first stamped slot leaves the window; unstamped slots wake it themselves. */
  const schedule = () => {
    if (timer || queue.length === 0) return;
    const t = now();
    if (inUse(t) < limit) {
      drain();
      return;
    }
    if (leaveAt.length > 0) timer = setTimer(drain, Math.max(1, leaveAt[0]! - t));
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

  const tryTake = () => {
    const t = now();
    return queue.length > 0 || inUse(t) >= limit ? undefined : grant(t);
  };

  const take = (opts: { signal?: AbortSignal } = {}) => {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const free = tryTake();
    if (free) return Promise.resolve(free);
    return new Promise<ReturnType<typeof slot>>((resolve, reject) => {
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
    reserve: take,
    tryReserve: tryTake,
    tryAcquire() {
      const free = tryTake();
      free?.stampAtGrant();
      return free !== undefined;
    },
    acquire: async (opts) => (await take(opts)).stampAtGrant(),
  };
}

/**
 * How long a stamped slot stays in the window: `intervalMs` plus the margin, which by default is
 * none for a slot stamped after its request was counted (`sent()`) and {@link defaultMarginMs} for
 * one stamped when granted (`acquire()`), before its request can arrive. Shared with the Redis limiter.
 */
export function holdFor(options: RateLimiterOptions): { afterArrival: number; atGrant: number } {
  const { intervalMs, marginMs } = options;
  return { afterArrival: intervalMs + (marginMs ?? 0), atGrant: intervalMs + (marginMs ?? defaultMarginMs(intervalMs)) };
}

/** A slot's `sinceArrivalMs` as the limiters use it: 0 unless a finite number >= 0. Shared with the Redis limiter. */
export function sinceArrival(ms: number | undefined): number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/**
 * The tool's organisation limit, 100 requests per minute. No margin is set: the session's slots are
 * stamped when the server's answer starts, after the server counted the request, and
 * `acquire()`'s slots (stamped when granted) keep the default margin (docs/rate-limits.md).
 */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimiterOptions> = Object.freeze({ limit: 100, intervalMs: 60_000 });

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
