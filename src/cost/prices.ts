import type { MemoryLimit } from '../container/types.js';
import type { PriceTable, PricingOptions } from './types.js';

/** OpenAI's container prices from 2026-06-02 (per 20 minutes, billed per minute, 5 minutes at least). */
export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  usdPer20Minutes: Object.freeze({ '1g': 0.03, '4g': 0.12, '16g': 0.48, '64g': 1.92 }),
  minimumBilledMinutes: 5,
});

/** The API's tier when none is asked for. */
export const DEFAULT_MEMORY_LIMIT: MemoryLimit = '1g';

export function resolvePrices(options: PricingOptions | undefined): PriceTable {
  return {
    usdPer20Minutes: { ...DEFAULT_PRICES.usdPer20Minutes, ...options?.usdPer20Minutes },
    minimumBilledMinutes: options?.minimumBilledMinutes ?? DEFAULT_PRICES.minimumBilledMinutes,
  };
}

/** USD per container-minute of `tier` (an unknown tier is priced as the default one). */
export function usdPerMinute(prices: PriceTable, tier: string | undefined): number {
  return (prices.usdPer20Minutes[(tier ?? DEFAULT_MEMORY_LIMIT) as MemoryLimit] ?? prices.usdPer20Minutes[DEFAULT_MEMORY_LIMIT]) / 20;
}

/** Minutes billed for a container alive `aliveMs`: whole minutes, rounded up, at least the minimum. */
export function billedMinutes(prices: PriceTable, aliveMs: number): number {
  return Math.max(prices.minimumBilledMinutes, Math.ceil(Math.max(0, aliveMs) / 60_000 - 1e-9));
}
