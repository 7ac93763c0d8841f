import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PRICES, InvalidOptionsError, type ContainerCost } from '../src/index.js';
import { billedMinutes, resolvePrices } from '../src/cost/prices.js';
import { CostTracker } from '../src/cost/tracker.js';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

const MINUTE = 60_000;

let h: ReturnType<typeof withMsw>;
afterEach(() => {
  h?.close();
  vi.useRealTimers();
});

/** A simulated clock: timers, Date and the simulator's idle expiry all follow it. */
function simulatedClock() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  h = withMsw();
}

async function pass(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += MINUTE) await vi.advanceTimersByTimeAsync(Math.min(MINUTE, ms - t));
}

describe('container cost on a simulated clock', () => {
  it('a 1g container alive 7 minutes costs $0.0105', async () => {
    simulatedClock();
    const session = makeSession(h.client, { keepAlive: false });
    const ended: ContainerCost[] = [];
    session.on('container.ended', (c) => ended.push(c));
    await session.start();
    await pass(3 * MINUTE);
    await session.listFiles(); // used at 3 minutes: its idle clock restarts
    await pass(4 * MINUTE);
    expect(session.stats.cost).toMatchObject({ containersCreated: 1, liveContainers: 1, containerMinutes: 7, billedMinutes: 7, estimatedUsd: 0.0105 });
    await session.close();
    expect(ended).toEqual([
      { containerId: expect.stringMatching(/^cntr_/), memoryLimit: '1g', reason: 'deleted', aliveMs: 7 * MINUTE, billedMinutes: 7, estimatedUsd: 0.0105, keptAliveMs: 0 },
    ]);
    expect(session.stats.cost).toMatchObject({ liveContainers: 0, estimatedUsd: 0.0105, byTier: { '1g': { containers: 1, minutes: 7, billedMinutes: 7, usd: 0.0105 } } });
  });

  it('a container alive 2 minutes is billed the 5-minute minimum', async () => {
    simulatedClock();
    const session = makeSession(h.client, { keepAlive: false });
    await session.start();
    await pass(2 * MINUTE);
    await session.close();
    expect(session.stats.cost).toMatchObject({ containerMinutes: 2, billedMinutes: 5, estimatedUsd: 0.0075 });
  });

  it('prices each memory tier, and takes a price table override', async () => {
    simulatedClock();
    const big = makeSession(h.client, { keepAlive: false, container: { memoryLimit: '16g' } });
    const custom = makeSession(h.client, { keepAlive: false, pricing: { usdPer20Minutes: { '1g': 0.06 }, minimumBilledMinutes: 1 } });
    await Promise.all([big.start(), custom.start()]);
    await pass(2 * MINUTE);
    await Promise.all([big.close(), custom.close()]);
    expect(big.stats.cost.byTier).toEqual({ '16g': { containers: 1, minutes: 2, billedMinutes: 5, usd: 0.12 } }); // 5 × 0.48 / 20
    expect(custom.stats.cost).toMatchObject({ billedMinutes: 2, estimatedUsd: 0.006 }); // 2 × 0.06 / 20
  });

  it('a container that expires is counted until its idle expiry, and the re-created one from its creation', async () => {
    simulatedClock();
    const session = makeSession(h.client, { keepAlive: false });
    const ended: ContainerCost[] = [];
    session.on('container.ended', (c) => ended.push(c));
    await session.start();
    await pass(30 * MINUTE); // expired on the server at 20 minutes
    expect(session.stats.cost).toMatchObject({ liveContainers: 0, containerMinutes: 20, estimatedUsd: 0.03 });
    await session.listFiles(); // finds it expired, re-creates it
    expect(ended).toMatchObject([{ reason: 'expired', aliveMs: 20 * MINUTE, estimatedUsd: 0.03 }]);
    await pass(6 * MINUTE);
    await session.close();
    expect(session.stats.cost).toMatchObject({ containersCreated: 2, liveContainers: 0, containerMinutes: 26, billedMinutes: 26, estimatedUsd: 0.039 });
  });

  it('reports what keep-alive added: the default idleTimeoutMs keeps an idle 1g container 48 minutes longer ($0.072)', async () => {
    simulatedClock();
    const session = makeSession(h.client); // keep-alive on, idleTimeoutMs 1 hour
    await session.start();
    await pass(3 * 60 * MINUTE);
    // Touched at 16, 32 and 48 minutes; expired at 68 instead of 20.
    expect(session.stats.touches).toBe(3);
    expect(session.stats.cost).toMatchObject({
      liveContainers: 0,
      containerMinutes: 68,
      estimatedUsd: 0.102,
      keepAlive: { touches: 3, minutes: 48, usd: 0.072 },
    });
    await session.close();
  });

  it('keep-alive touches followed by work count the stretch the touches bridged', async () => {
    simulatedClock();
    const session = makeSession(h.client);
    await session.start();
    await pass(40 * MINUTE); // touched at 16 and 32
    await session.listFiles(); // work at 40: without the touches it would have died at 20
    await pass(5 * MINUTE);
    await session.close();
    expect(session.stats.cost).toMatchObject({ containerMinutes: 45, keepAlive: { touches: 2, minutes: 20, usd: 0.03 } });
  });

  it('keepAlive.maxIdleCostUsd stops touching once an idle stretch would cost more than the budget', async () => {
    simulatedClock();
    // $0.03 buys 20 idle minutes of a 1g container: touched at 16, not at 32.
    const small = makeSession(h.client, { keepAlive: { maxIdleCostUsd: 0.03 } });
    // The same budget buys 1.25 minutes of a 16g container: never touched.
    const big = makeSession(h.client, { keepAlive: { maxIdleCostUsd: 0.03 }, container: { memoryLimit: '16g' } });
    await Promise.all([small.start(), big.start()]);
    await pass(2 * 60 * MINUTE);
    expect(small.stats.touches).toBe(1);
    expect(small.stats.cost.keepAlive).toEqual({ touches: 1, minutes: 16, usd: 0.024 });
    expect(small.stats.cost.keepAlive.usd).toBeLessThanOrEqual(0.03);
    expect(big.stats.touches).toBe(0);
    expect(big.stats.cost).toMatchObject({ containerMinutes: 20, keepAlive: { touches: 0, minutes: 0, usd: 0 } });
    await Promise.all([small.close(), big.close()]);
  });

  it('rejects bad pricing and budgets before anything is sent', () => {
    h = withMsw();
    expect(() => makeSession(h.client, { pricing: { usdPer20Minutes: { '2g': 1 } as never } })).toThrow(/`pricing.usdPer20Minutes`: unknown option '2g'/);
    expect(() => makeSession(h.client, { pricing: { minimumBilledMinutes: -1 } })).toThrow(InvalidOptionsError);
    expect(() => makeSession(h.client, { keepAlive: { maxIdleCostUsd: -0.01 } })).toThrow(/`keepAlive.maxIdleCostUsd`/);
    expect(h.sim.requests).toHaveLength(0);
  });
});

describe('price table', () => {
  it("is OpenAI's from 2026-06-02 by default", () => {
    expect(DEFAULT_PRICES).toEqual({ usdPer20Minutes: { '1g': 0.03, '4g': 0.12, '16g': 0.48, '64g': 1.92 }, minimumBilledMinutes: 5 });
    expect(resolvePrices({ usdPer20Minutes: { '4g': 0.2 } }).usdPer20Minutes).toEqual({ '1g': 0.03, '4g': 0.2, '16g': 0.48, '64g': 1.92 });
  });

  it('bills whole minutes, rounded up, at least the minimum', () => {
    const prices = resolvePrices(undefined);
    expect([0, 1, 2 * MINUTE, 5 * MINUTE, 5 * MINUTE + 1, 7 * MINUTE, 7 * MINUTE + 30_000].map((ms) => billedMinutes(prices, ms))).toEqual([5, 5, 5, 5, 6, 7, 8]);
  });

  it('a request after the idle expiry does not revive a container in the accounts', () => {
    let now = 0;
    const tracker = new CostTracker(resolvePrices(undefined), () => now);
    tracker.created('c1', '64g', 20);
    now = 25 * MINUTE;
    tracker.active('c1', 'touch');
    expect(tracker.summary()).toMatchObject({ liveContainers: 0, containerMinutes: 20, estimatedUsd: 1.92, keepAlive: { touches: 0 } });
    expect(tracker.ended('c1', 'expired')).toMatchObject({ aliveMs: 20 * MINUTE, estimatedUsd: 1.92 });
    expect(tracker.ended('unknown', 'deleted')).toBeUndefined();
  });
});
