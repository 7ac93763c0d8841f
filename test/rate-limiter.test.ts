import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { CodeInterpreterSession, InvalidOptionsError, createRateLimiter, type SlidingWindowLimiter } from '../src/index.js';
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
    const limiter = createRateLimiter({ limit: 5, intervalMs: 100, marginMs: 0, onGrant: (at) => granted.push(at) });
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
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
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
    const limiter = createRateLimiter({ limit: 1, intervalMs: 100, marginMs: 0, now: () => Date.now() - lag });
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
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
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
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
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

describe('slots stamped when sent (reserve)', () => {
  const fake = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });

  it('by default holds a slot stamped when granted (acquire) 2% of the window longer, at most 500 ms', async () => {
    fake();
    for (const [intervalMs, marginMs] of [[1000, 20], [10_000, 200], [60_000, 500]] as const) {
      const granted: number[] = [];
      const limiter = createRateLimiter({ limit: 1, intervalMs, now: () => Date.now(), onGrant: (at) => granted.push(at) });
      const both = Promise.all([limiter.acquire(), limiter.acquire()]);
      await vi.advanceTimersByTimeAsync(intervalMs + marginMs);
      await both;
      expect(granted[1]! - granted[0]!).toBe(intervalMs + marginMs);
    }
  });

  it('by default holds a slot stamped by sent() (after its request was counted) exactly the window, no margin', async () => {
    fake();
    for (const intervalMs of [1000, 60_000]) {
      const granted: number[] = [];
      const limiter = createRateLimiter({ limit: 1, intervalMs, now: () => Date.now(), onGrant: (at) => granted.push(at) });
      const first = await limiter.reserve();
      await vi.advanceTimersByTimeAsync(30); // the request travels; its answer starts
      first.sent();
      const second = limiter.reserve();
      await vi.advanceTimersByTimeAsync(intervalMs);
      (await second).sent();
      expect(granted[1]! - granted[0]!).toBe(30 + intervalMs);
    }
  });

  it('an explicit `marginMs` holds every slot that much longer, however it was stamped', async () => {
    fake();
    const granted: number[] = [];
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 100, now: () => Date.now(), onGrant: (at) => granted.push(at) });
    (await limiter.reserve()).sent();
    const next = limiter.acquire();
    await vi.advanceTimersByTimeAsync(1100);
    await next;
    const last = limiter.acquire();
    await vi.advanceTimersByTimeAsync(1100);
    await last;
    expect(granted.map((t) => t - granted[0]!)).toEqual([0, 1100, 2200]);
  });

  it('slots with and without a margin leave the window each at its own time, in any order', async () => {
    fake();
    const start = Date.now();
    const granted: number[] = [];
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, now: () => Date.now(), onGrant: (at) => granted.push(at - start) });
    await limiter.acquire(); // stamped at 0, leaves at 1020
    const b = limiter.tryReserve()!;
    await vi.advanceTimersByTimeAsync(10);
    b.sent(); // stamped at 10, leaves at 1010: before the older slot
    const waiting = [limiter.reserve(), limiter.reserve()];
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toEqual([0, 0, 1010]);
    await vi.advanceTimersByTimeAsync(9);
    expect(granted).toEqual([0, 0, 1010]);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toEqual([0, 0, 1010, 1020]);
    for (const slot of await Promise.all(waiting)) slot.release();
  });

  it('a granted slot not yet sent holds its place however long it waits', async () => {
    fake();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
    const slot = await limiter.reserve();
    expect(limiter.unsent).toBe(1);
    let next = false;
    void limiter.acquire().then(() => (next = true));
    await vi.advanceTimersByTimeAsync(5000); // e.g. a slow connection
    expect(next).toBe(false);
    slot.sent(); // the window starts now, at 5000
    await vi.advanceTimersByTimeAsync(999);
    expect(next).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(next).toBe(true);
    expect(limiter.unsent).toBe(0);
  });

  it('the window of a slot runs from its send time, not its grant time', async () => {
    fake();
    const start = Date.now();
    const limiter = createRateLimiter({ limit: 2, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
    const [a, b] = [limiter.tryReserve()!, limiter.tryReserve()!];
    expect(limiter.tryReserve()).toBeUndefined();
    const times: number[] = [];
    const later = [limiter.acquire(), limiter.acquire()].map((p) => p.then(() => times.push(Date.now() - start)));
    await vi.advanceTimersByTimeAsync(300);
    a.sent();
    await vi.advanceTimersByTimeAsync(300);
    b.sent();
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(later);
    expect(times).toEqual([1300, 1600]);
  });

  it('sent(sinceArrivalMs): the window runs from that long before the stamp; a bad figure counts as 0', async () => {
    fake();
    const start = Date.now();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, now: () => Date.now() });
    const times: number[] = [];
    const next = async (sinceArrivalMs: number | undefined) => {
      const slot = await limiter.reserve();
      times.push(Date.now() - start);
      setTimeout(() => slot.sent(sinceArrivalMs), 300); // the answer starts 300 ms after the grant
    };
    const all = [250, Number.NaN, -50, Number.POSITIVE_INFINITY, 5000, undefined].map(next);
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    // 300 + 1000 - 250; then bad figures (NaN, negative, infinite) stamp at the answer: + 1300 each;
    // a figure longer than the window frees the slot as soon as it is stamped: + 300.
    expect(times).toEqual([0, 1050, 2350, 3650, 4950, 5250]);
  });

  it('a released slot is free at once for the next waiter', async () => {
    fake();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
    const slot = await limiter.reserve();
    let next = false;
    void limiter.acquire().then(() => (next = true));
    await vi.advanceTimersByTimeAsync(10);
    slot.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toBe(true);
  });

  it('only the first of sent() and release() counts', async () => {
    fake();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
    const sent = limiter.tryReserve()!;
    sent.sent();
    sent.release(); // too late: the request went out
    sent.sent(); // and a second stamp does not move it
    expect(limiter.tryReserve()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000);
    const released = limiter.tryReserve()!;
    released.release();
    released.release();
    released.sent(); // never went out
    expect(limiter.unsent).toBe(0);
    const again = limiter.tryReserve();
    expect(again).toBeDefined();
    expect(limiter.tryReserve()).toBeUndefined(); // one slot, not two
  });

  it('an aborted reserve() takes no slot', async () => {
    fake();
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1000, marginMs: 0, now: () => Date.now() });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.reserve({ signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(limiter.pending).toBe(0);
    expect(limiter.unsent).toBe(0);
    await expect(limiter.reserve({ signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('never more than `limit` sends in any window, whatever the order of grants, sends and releases', async () => {
    // Model-based: callers reserve, then after random delays send or release; the send times must
    // never put more than `limit` into any window of intervalMs + marginMs (simulated clock).
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.record({ arriveMs: fc.integer({ min: 0, max: 3000 }), sendAfterMs: fc.integer({ min: 0, max: 1500 }), release: fc.boolean() }), {
          minLength: 1,
          maxLength: 25,
        }),
        async (limit, marginMs, callers) => {
          const clock = vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
          try {
            const start = Date.now();
            const limiter = createRateLimiter({ limit, intervalMs: 1000, marginMs, now: () => Date.now() });
            const sends: number[] = [];
            const done = callers.map(async (c) => {
              await new Promise((r) => setTimeout(r, c.arriveMs));
              const slot = await limiter.reserve();
              await new Promise((r) => setTimeout(r, c.sendAfterMs));
              if (c.release) slot.release();
              else {
                slot.sent();
                sends.push(Date.now() - start);
              }
            });
            await clock.advanceTimersByTimeAsync(callers.length * 2600 + 5000);
            await Promise.all(done);
            expect(sends.length).toBe(callers.filter((c) => !c.release).length);
            expect(maxInAnyWindow(sends, 1000 + marginMs)).toBeLessThanOrEqual(limit);
            expect(limiter.unsent).toBe(0);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the default limiter', () => {
  it('is one per process, 100 per 60 s, used by every session not given one', async () => {
    const h = withMsw();
    try {
      const shared = defaultRateLimiter() as SlidingWindowLimiter;
      expect(defaultRateLimiter()).toBe(shared);
      const waited = vi.spyOn(shared, 'reserve');
      const immediate = vi.spyOn(shared, 'tryReserve');
      const a = new CodeInterpreterSession({ client: h.client, model: 'm' });
      const b = new CodeInterpreterSession({ client: h.client, model: 'm' });
      await a.start();
      await b.start();
      const slots = immediate.mock.results.filter((r) => r.value !== undefined).length + waited.mock.calls.length;
      expect(slots).toBe(h.sim.requests.length);
      expect(slots).toBeGreaterThan(0);
      await a.close();
      await b.close();
    } finally {
      h.close();
    }
  });
});
