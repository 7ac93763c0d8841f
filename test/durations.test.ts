import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep, combineSignals } from '../src/abort.js';
import { KeepAlive } from '../src/container/keep-alive.js';
import { CodeInterpreterSession, InvalidOptionsError, MAX_TIMER_MS, createRateLimiter } from '../src/index.js';
import { withTimeout } from '../src/redis/connection.js';
import { clampTimerMs, setTimer } from '../src/timers.js';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

/** Every `TimeoutOverflowWarning` Node prints while a test runs. */
let overflowWarnings: Error[] = [];
const onWarning = (warning: Error) => {
  if (warning.name === 'TimeoutOverflowWarning') overflowWarnings.push(warning);
};
beforeEach(() => {
  overflowWarnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
/** Warnings are emitted on a later tick. */
const warningsSettled = () => new Promise((r) => setImmediate(r));

describe('every timer is clamped below 2^31-1 ms', () => {
  it('clampTimerMs keeps any number in [0, 2^31-1]', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    expect(clampTimerMs(Infinity)).toBe(MAX_TIMER_MS);
    expect(clampTimerMs(3e9)).toBe(MAX_TIMER_MS);
    expect(clampTimerMs(-5)).toBe(0);
    expect(clampTimerMs(-Infinity)).toBe(0);
    expect(clampTimerMs(Number.NaN)).toBe(0);
    expect(clampTimerMs(1.2)).toBe(2);
    expect(clampTimerMs(MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
  });

  it('no TimeoutOverflowWarning from sleep, timeouts, the keep-alive, the limiter or a Redis call, however long the wait', async () => {
    const controller = new AbortController();
    const sleeping = sleep(5e9, controller.signal).catch((e: unknown) => e);
    const timed = combineSignals(undefined, 1e12)!;
    const timer = setTimer(() => {}, Infinity, { unref: true });
    clearTimeout(timer);
    const racing = withTimeout(new Promise(() => {}), 1e15, 'Redis');
    racing.catch(() => {});
    // A container that expires after 50_000 minutes: the touch interval is 2.4e9 ms.
    let touched = 0;
    const keepAlive = new KeepAlive({ intervalMs: () => 50_000 * 60_000 * 0.8, idleTimeoutMs: () => MAX_TIMER_MS }, async () => void touched++);
    keepAlive.noteSessionUse();
    keepAlive.noteContainerActivity();
    // The longest interval the limiter accepts, with a waiter queued behind the one slot.
    const limiter = createRateLimiter({ limit: 1, intervalMs: MAX_TIMER_MS, marginMs: 0 });
    await limiter.acquire();
    const queued = limiter.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    await warningsSettled();
    expect(overflowWarnings).toEqual([]);
    expect(timed.aborted).toBe(false);
    expect(touched).toBe(0); // the clamped timer did not fire early and touch
    controller.abort(new Error('done'));
    expect(((await sleeping) as Error).message).toBe('done');
    expect(((await queued) as Error).message).toBe('done');
    keepAlive.stop();
  });
});

describe('every duration option is bounded', () => {
  it('createRateLimiter refuses marginMs Infinity/NaN/negative/over the interval and intervalMs past a timer\'s range', () => {
    for (const marginMs of [Infinity, Number.NaN, -1, 1001]) {
      expect(() => createRateLimiter({ limit: 1, intervalMs: 1000, marginMs }), String(marginMs)).toThrow(/`marginMs`: expected milliseconds from 0 to intervalMs/);
    }
    for (const intervalMs of [3e9, Infinity, 0, -1, Number.NaN]) {
      expect(() => createRateLimiter({ limit: 1, intervalMs }), String(intervalMs)).toThrow(/`intervalMs`: expected a number of milliseconds > 0 and at most 2147483647/);
    }
    expect(() => createRateLimiter({ limit: 1, intervalMs: MAX_TIMER_MS, marginMs: 0 })).not.toThrow();
  });

  it.each([
    [{ retry: { minTimeoutMs: 5e9, maxTimeoutMs: 5e9 } }, /`retry\.minTimeoutMs`: expected retry\.minTimeoutMs as a number of milliseconds from 0 to 3600000, got 5000000000/],
    [{ retry: { maxTimeoutMs: Infinity } }, /`retry\.maxTimeoutMs`: expected retry\.maxTimeoutMs as a number of milliseconds from 0 to 3600000, got Infinity/],
    [{ retry: { retries: 1e6 } }, /`retry\.retries`: at most 100/],
    [{ keepAlive: { intervalMs: 3e9 } }, /`keepAlive\.intervalMs`: expected keepAlive\.intervalMs as a number of milliseconds from 1 to 2147483647, got 3000000000/],
    [{ keepAlive: { idleTimeoutMs: Infinity } }, /`keepAlive\.idleTimeoutMs`: .* got Infinity/],
    [{ keepAlive: { intervalMs: '100' } }, /`keepAlive\.intervalMs`: .* got "100"/],
    [{ keepAlive: { intervalMs: 20 * 60_000 } }, /`keepAlive\.intervalMs`: 1200000 ms is not less than the container's expiry \(20 idle minutes = 1200000 ms, the default\), so the container would expire between touches/],
    [{ container: { expiresAfterMinutes: 1 }, keepAlive: { intervalMs: 5 * 60_000 } }, /`keepAlive\.intervalMs`: 300000 ms is not less than the container's expiry \(1 idle minutes = 60000 ms, `container\.expiresAfterMinutes`\)/],
  ])('new CodeInterpreterSession(%j) is refused, naming the option and its bounds', (options, message) => {
    const h = withMsw();
    try {
      const make = () => makeSession(h.client, options as never);
      expect(make).toThrow(InvalidOptionsError);
      expect(make).toThrow(message);
      expect(h.sim.requests).toEqual([]);
    } finally {
      h.close();
    }
  });

  it('a session with the largest bounds works and prints no overflow warning', async () => {
    const h = withMsw();
    try {
      const session = new CodeInterpreterSession({
        client: h.client,
        model: 'gpt-5',
        rateLimiter: createRateLimiter({ limit: 100, intervalMs: 60_000 }),
        // intervalMs: the longest a touch may wait is just under the container's expiry (longer is refused).
        keepAlive: { intervalMs: 20 * 60_000 - 1, idleTimeoutMs: MAX_TIMER_MS },
        retry: { retries: 100, minTimeoutMs: 3_600_000, maxTimeoutMs: 3_600_000 },
      });
      await session.start();
      await session.run('hello', { timeoutMs: MAX_TIMER_MS });
      await session.close();
      await warningsSettled();
      expect(overflowWarnings).toEqual([]);
    } finally {
      h.close();
    }
  });
});
