import { z } from 'zod';
import { InvalidOptionsError } from '../errors.js';
import { describeValue, MAX_TIMER_MS } from '../timers.js';
import { parseWith } from '../validation.js';
import type { RateLimiter } from './types.js';

/**
 * The zod schemas of the rate-limit factories' options (`createRateLimiter`,
 * `createRedisRateLimiter`, `createLimitedFetch`), checked at construction like the session's:
 * unknown keys are refused, and the `InvalidOptionsError` names the option and what to pass, so a
 * bad option fails before the first request rather than at it (or only when Redis is down).
 */

const OPTIONAL_LIMITER_METHODS = ['tryAcquire', 'reserve', 'tryReserve'] as const;

/** A {@link RateLimiter}: `acquire()`, and the optional methods functions when present. */
export const rateLimiterSchema = (what = 'a RateLimiter') =>
  z.custom<RateLimiter>(
    (v) => {
      const limiter = v as Record<string, unknown> | null | undefined;
      return typeof limiter?.acquire === 'function' && OPTIONAL_LIMITER_METHODS.every((m) => limiter[m] === undefined || typeof limiter[m] === 'function');
    },
    { error: (issue) => `expected ${what} ({ acquire() }), e.g. createRateLimiter({ limit, intervalMs }), got ${describeLimiter(issue.input)}` },
  );

function describeLimiter(value: unknown): string {
  if (typeof value !== 'object' || value === null) return describeValue(value);
  const limiter = value as Record<string, unknown>;
  const bad = ['acquire', ...OPTIONAL_LIMITER_METHODS].find((m) => (m === 'acquire' || limiter[m] !== undefined) && typeof limiter[m] !== 'function');
  return bad ? `an object whose ${bad} is ${describeValue(limiter[bad])}` : describeValue(value);
}

/** An optional listener or hook: a function, described in the message by its signature. */
export const callbackSchema = (name: string, signature: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
    error: (issue) => `expected ${name} as a function ${signature}, got ${describeValue(issue.input)}`,
  });

const limit = z
  .number({ error: (issue) => `expected a whole number >= 1, got ${describeValue(issue.input)}` })
  .int({ error: (issue) => `expected a whole number >= 1, got ${describeValue(issue.input)}` })
  .min(1, { error: (issue) => `expected a whole number >= 1, got ${describeValue(issue.input)}` });

const intervalMessage = (issue: { input?: unknown }) =>
  `expected a number of milliseconds > 0 and at most ${MAX_TIMER_MS} (about 24.8 days), got ${describeValue(issue.input)}`;
const intervalMs = z
  .number({ error: intervalMessage })
  .gt(0, { error: intervalMessage })
  .max(MAX_TIMER_MS, { error: intervalMessage });

/** `limit`, `intervalMs`, `marginMs` (within the window): the options every limiter shares. */
export function limiterOptionsSchema<Extra extends z.core.$ZodLooseShape>(extra: Extra) {
  const marginOk = (options: Record<string, unknown>) => {
    const { marginMs, intervalMs: window } = options;
    const upTo = typeof window === 'number' && window > 0 ? window : Infinity; // a bad intervalMs has its own issue
    return marginMs === undefined || (typeof marginMs === 'number' && Number.isFinite(marginMs) && marginMs >= 0 && marginMs <= upTo);
  };
  return z.strictObject({ limit, intervalMs, marginMs: z.unknown().optional(), ...extra }).refine((options) => marginOk(options as Record<string, unknown>), {
    path: ['marginMs'],
    // Checked even when another option is bad, so every problem is listed at once.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    error: (issue) => {
      const options = issue.input as Record<string, unknown>;
      return `expected milliseconds from 0 to intervalMs (${describeValue(options.intervalMs)}), got ${describeValue(options.marginMs)}`;
    },
  });
}

/**
 * Checks a factory's options (`where` is the factory, e.g. `createRateLimiter()`): every problem
 * at once, each named by its option. `example` says what to pass when there is no options object.
 */
export function validateFactoryOptions(where: string, schema: z.ZodType, options: unknown, example: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(where, [{ path: '', message: `expected an options object such as ${example}, got ${describeValue(options)}` }]);
  }
  parseWith(schema, options, where);
}
