import { afterEach, describe, expect, it, vi } from 'vitest';
import { CodeInterpreterSession, InvalidOptionsError, createRateLimiter } from '../src/index.js';
import { defaultRateLimiter } from '../src/ratelimit/sliding-window.js';
import { withMsw } from './helpers/sim.js';
import { maxInAnyWindow } from './helpers/windows.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('createRateLimiter', () => {
  it('never grants more than `limit` in any sliding window, on a real clock', async () => {
    // Grant times as the limiter takes them (onGrant): when a caller resumes after its grant is the
    // event loop's business, which the margin option is for.
    const granted: number[] = [];
    const limiter = createRateLimiter({ limit: 5, intervalMs: 100, onGrant: (at) => granted.push(at) });
    await Promise.all(Array.from({ length: 23 }, () => limiter.acquire()));
    expect(granted).toHaveLength(23);
    expect(maxInAnyWindow(granted, 100)).toBe(5);
  });

  it('holds each slot `marginMs` longer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const granted: number[] = [];
    const limiter = createRateLimiter({ limit: 1, intervalMs: 100, marginMs: 20, now: () => Date.now(), onGrant: (at) => granted.push(at) });
    const all = Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    await vi.advanceTimersByTimeAsync(300);
    await all;
    expect(granted.map((t) => t - granted[0]!)).toEqual([0, 120, 240]);
  });

  it('grants in limit-sized waves on a simulated clock, first come first served', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const start = Date.now();
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, now: () => Date.now() });
    const order: Array<[number, number]> = [];
    const all = Array.from({ length: 5 }, (_, i) => limiter.acquire().then(() => order.push([i, Date.now() - start])));
    await vi.advanceTimersByTimeAsync(2500);
    await Promise.all(all);
    expect(order).toEqual([
      [0, 0],
      [1, 0],
      [2, 1000],
      [3, 1000],
      [4, 2000],
    ]);
  });

  it('a timer that fires early does not let an extra request through', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let lag = 0; // the limiter's clock reads `lag` ms behind the timers: as if every timer fired early
    const limiter = createRateLimiter({ limit: 1, intervalMs: 100, now: () => Date.now() - lag });
    const grants: number[] = [];
    await limiter.acquire();
    grants.push(Date.now() - lag);
    lag = 3;
    const next = limiter.acquire().then(() => grants.push(Date.now() - lag));
    await vi.advanceTimersByTimeAsync(100); // the timer fires at 100 but the limiter's clock says 97
    expect(grants).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5);
    await next;
    expect(grants[1]! - grants[0]!).toBeGreaterThanOrEqual(100);
  });

  it('an aborted waiter leaves the queue, takes no slot and rejects with the reason', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, now: () => Date.now() });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire({ signal: controller.signal });
    const after = limiter.acquire();
    expect(limiter.pending).toBe(2);
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect(limiter.pending).toBe(1);
    let done = false;
    void after.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true); // it got the slot the aborted waiter would have had
    await expect(limiter.acquire({ signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
    expect(limiter.pending).toBe(0);
  });

  it('tryAcquire takes a free slot without waiting, and never jumps the queue', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, now: () => Date.now() });
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const waiting = limiter.acquire();
    await vi.advanceTimersByTimeAsync(1000);
    await waiting;
    expect(limiter.tryAcquire()).toBe(true); // the second slot of the new window
    expect(limiter.tryAcquire()).toBe(false);
  });

  it('rejects bad options naming the option to change', () => {
    expect(() => createRateLimiter({ limit: 0, intervalMs: 1000 })).toThrow(InvalidOptionsError);
    expect(() => createRateLimiter({ limit: 0, intervalMs: 1000 })).toThrow(/`limit`: expected a whole number >= 1, got 0/);
    expect(() => createRateLimiter({ limit: 1, intervalMs: -5 })).toThrow(/`intervalMs`/);
    expect(() => createRateLimiter({ limit: 1, intervalMs: 5, marginMs: -1 })).toThrow(/`marginMs`/);
  });
});

describe('the default limiter', () => {
  it('is one per process, 100 per 60 s, used by every session not given one', async () => {
    const h = withMsw();
    try {
      const shared = defaultRateLimiter();
      expect(defaultRateLimiter()).toBe(shared);
      const waited = vi.spyOn(shared, 'acquire');
      const immediate = vi.spyOn(shared, 'tryAcquire');
      const a = new CodeInterpreterSession({ client: h.client, model: 'm' });
      const b = new CodeInterpreterSession({ client: h.client, model: 'm' });
      await a.start();
      await b.start();
      const slots = immediate.mock.results.filter((r) => r.value === true).length + waited.mock.calls.length;
      expect(slots).toBe(h.sim.requests.length);
      expect(slots).toBeGreaterThan(0);
      await a.close();
      await b.close();
    } finally {
      h.close();
    }
  });
});
