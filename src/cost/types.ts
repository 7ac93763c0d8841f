import type { MemoryLimit } from '../container/types.js';

/**
 * Container prices. OpenAI bills container sessions per minute with a minimum (from 2026-06-02:
 * 1g $0.03, 4g $0.12, 16g $0.48, 64g $1.92 per 20 minutes, 5 minutes at least). Override when
 * prices change or you have a different rate.
 */
export interface PriceTable {
  /** USD per 20 container-minutes, by memory tier. @default { '1g': 0.03, '4g': 0.12, '16g': 0.48, '64g': 1.92 } */
  usdPer20Minutes: Record<MemoryLimit, number>;
  /** A container is billed at least this many minutes. @default 5 */
  minimumBilledMinutes: number;
}

/** `pricing` option: any part of the {@link PriceTable} to override. */
export interface PricingOptions {
  /** USD per 20 container-minutes for the tiers to override. @default DEFAULT_PRICES.usdPer20Minutes */
  usdPer20Minutes?: Partial<Record<MemoryLimit, number>>;
  /** @default 5 */
  minimumBilledMinutes?: number;
}

/** One memory tier's share of a {@link CostSummary}. */
export interface TierCost {
  /** Containers of this tier. */
  containers: number;
  /** Minutes they were (or have been so far) alive: from creation to expiry or delete. */
  minutes: number;
  /** Minutes billed: each container's minutes rounded up, at least the minimum. */
  billedMinutes: number;
  /** Estimated cost in USD. */
  usd: number;
}

/**
 * What containers cost: an estimate from the library's own view of each container's life (made,
 * used, touched, expired or deleted), priced with the {@link PriceTable}. Not an invoice.
 */
export interface CostSummary {
  /** Containers made (re-creations included). */
  containersCreated: number;
  /** Containers still alive (not deleted, not expired by the library's clock). */
  liveContainers: number;
  /** Container-minutes alive, all tiers. */
  containerMinutes: number;
  /** Billed minutes, all tiers. */
  billedMinutes: number;
  /** Estimated cost in USD, all tiers. */
  estimatedUsd: number;
  /** By memory tier (only tiers used). */
  byTier: Partial<Record<MemoryLimit, TierCost>>;
  /** What keep-alive touches added: containers kept alive past the point where they would have expired. */
  keepAlive: { touches: number; minutes: number; usd: number };
}

export function emptyCostSummary(): CostSummary {
  return { containersCreated: 0, liveContainers: 0, containerMinutes: 0, billedMinutes: 0, estimatedUsd: 0, byTier: {}, keepAlive: { touches: 0, minutes: 0, usd: 0 } };
}

/** Rounds a USD or minute figure for reporting (floating point noise off: 7 × 0.0015 is 0.0105). */
export function tidy(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** `a + b`, tier by tier (pool totals). */
export function addCostSummaries(a: CostSummary, b: CostSummary): CostSummary {
  const byTier: CostSummary['byTier'] = { ...a.byTier };
  for (const [tier, cost] of Object.entries(b.byTier) as Array<[MemoryLimit, TierCost]>) {
    const mine = byTier[tier];
    byTier[tier] = mine
      ? { containers: mine.containers + cost.containers, minutes: tidy(mine.minutes + cost.minutes), billedMinutes: mine.billedMinutes + cost.billedMinutes, usd: tidy(mine.usd + cost.usd) }
      : { ...cost };
  }
  return {
    containersCreated: a.containersCreated + b.containersCreated,
    liveContainers: a.liveContainers + b.liveContainers,
    containerMinutes: tidy(a.containerMinutes + b.containerMinutes),
    billedMinutes: a.billedMinutes + b.billedMinutes,
    estimatedUsd: tidy(a.estimatedUsd + b.estimatedUsd),
    byTier,
    keepAlive: {
      touches: a.keepAlive.touches + b.keepAlive.touches,
      minutes: tidy(a.keepAlive.minutes + b.keepAlive.minutes),
      usd: tidy(a.keepAlive.usd + b.keepAlive.usd),
    },
  };
}
