import { z } from 'zod';

/**
 * The longest delay a Node timer can hold: 2^31 - 1 ms (about 24.8 days). A longer (or
 * non-finite) delay makes Node print a `TimeoutOverflowWarning` and fire after 1 ms instead.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay a timer can actually wait: a whole number of milliseconds in `[0, MAX_TIMER_MS]`.
 * Negative and `NaN` become 0, anything longer (Infinity included) becomes {@link MAX_TIMER_MS}.
 * Every timer in the library goes through this, so none ever overflows; code that needs a longer
 * wait re-checks its clock when the timer fires and sleeps again.
 */
export function clampTimerMs(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  if (ms >= MAX_TIMER_MS) return MAX_TIMER_MS;
  return Math.ceil(ms);
}

/** `setTimeout` with the delay clamped; `unref: true` lets the process exit while it waits. */
export function setTimer(callback: () => void, ms: number, options: { unref?: boolean } = {}): ReturnType<typeof setTimeout> {
  const timer = setTimeout(callback, clampTimerMs(ms));
  if (options.unref) timer.unref?.();
  return timer;
}

/**
 * The zod schema of a duration option in milliseconds: a finite number (`Infinity`, `NaN` and
 * strings are refused) within `[min, max]`. The message names the option and the bounds, so the
 * `InvalidOptionsError` says what to change.
 */
export function durationMs(name: string, bounds: { min?: number; max?: number; integer?: boolean } = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? MAX_TIMER_MS;
  const expected = `expected ${name} as a number of milliseconds from ${min} to ${max}`;
  let schema = z.number({ error: (issue) => `${expected}, got ${describeValue(issue.input)}` });
  if (bounds.integer !== false) schema = schema.int({ error: (issue) => `${expected} (a whole number), got ${describeValue(issue.input)}` });
  return schema
    .min(min, { error: (issue) => `${expected}, got ${describeValue(issue.input)}` })
    .max(max, { error: (issue) => `${expected}, got ${describeValue(issue.input)}` });
}

/** A short, safe rendering of an option value for messages (never the value of a long string). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : typeof value;
}
