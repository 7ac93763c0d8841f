import type { MemoryLimit } from '../container/types.js';
import { billedMinutes, DEFAULT_MEMORY_LIMIT, usdPerMinute } from './prices.js';
import { emptyCostSummary, tidy, type CostSummary, type PriceTable } from './types.js';

/** One container's life as the library saw it (times in epoch ms). */
interface ContainerLife {
  tier: MemoryLimit;
  idleExpiryMs: number;
  createdAt: number;
  /** Deleted, or found expired: then the end of its life. */
  endedAt?: number;
  /** The last request that used it for work (a touch is not work). */
  lastWorkAt: number;
  /** The last request of any kind, touches included: its server idle clock restarted then. */
  lastActiveAt: number;
  /** A touch came since the last work: the container lives on only because of keep-alive. */
  touchedSinceWork: boolean;
  touches: number;
  /** Closed idle stretches: time alive past `lastWorkAt + idleExpiryMs` thanks to touches. */
  keptAliveMs: number;
}

/** How a container's life ended. */
export type ContainerEnd = 'expired' | 'deleted';

/** The cost of one container whose life ended (on `container.ended`). */
export interface ContainerCost {
  containerId: string;
  memoryLimit: MemoryLimit;
  reason: ContainerEnd;
  /** Alive from creation to expiry or delete. */
  aliveMs: number;
  billedMinutes: number;
  estimatedUsd: number;
  /** Of `aliveMs`, what keep-alive touches added. */
  keptAliveMs: number;
}

/**
 * Follows the life of every container a session makes — creation, work, keep-alive touches,
 * expiry, delete — and prices it. The server's idle clock restarts on every request that uses the
 * container, so a container nobody used for its idle minutes is counted as expired then, even
 * before the library notices. Times come from `now` (a simulated clock in tests).
 */
export class CostTracker {
  private readonly lives = new Map<string, ContainerLife>();

  constructor(
    private readonly prices: PriceTable,
    private readonly now: () => number = Date.now,
  ) {}

  created(containerId: string, tier: string | undefined, idleExpiryMinutes: number): void {
    const at = this.now();
    this.lives.set(containerId, {
      tier: (tier ?? DEFAULT_MEMORY_LIMIT) as MemoryLimit,
      idleExpiryMs: idleExpiryMinutes * 60_000,
      createdAt: at,
      lastWorkAt: at,
      lastActiveAt: at,
      touchedSinceWork: false,
      touches: 0,
      keptAliveMs: 0,
    });
  }

  /** A request used the container: for work, or as a keep-alive touch. */
  active(containerId: string | undefined, kind: 'work' | 'touch'): void {
    const life = containerId === undefined ? undefined : this.lives.get(containerId);
    if (!life || life.endedAt !== undefined) return;
    const at = this.now();
    if (at > life.lastActiveAt + life.idleExpiryMs) return; // it had expired already: this request did not revive it
    life.lastActiveAt = at;
    if (kind === 'touch') {
      life.touches++;
      life.touchedSinceWork = true;
      return;
    }
    // Work after touches: without them the container would have died at lastWork + idle expiry.
    if (life.touchedSinceWork) life.keptAliveMs += Math.max(0, at - (life.lastWorkAt + life.idleExpiryMs));
    life.touchedSinceWork = false;
    life.lastWorkAt = at;
  }

  /** The container was deleted, or found expired. Returns its cost, or undefined if it is not one of ours. */
  ended(containerId: string, reason: ContainerEnd): ContainerCost | undefined {
    const life = this.lives.get(containerId);
    if (!life) return undefined;
    if (life.endedAt === undefined) {
      const end = this.endOf(life, this.now());
      if (life.touchedSinceWork) life.keptAliveMs += Math.max(0, end - (life.lastWorkAt + life.idleExpiryMs));
      life.touchedSinceWork = false;
      life.endedAt = end;
    }
    const aliveMs = life.endedAt - life.createdAt;
    const minutes = billedMinutes(this.prices, aliveMs);
    return {
      containerId,
      memoryLimit: life.tier,
      reason,
      aliveMs,
      billedMinutes: minutes,
      estimatedUsd: tidy(minutes * usdPerMinute(this.prices, life.tier)),
      keptAliveMs: life.keptAliveMs,
    };
  }

  /** The idle stretch keep-alive may still cover for `containerId` under a USD budget, in ms. */
  idleBudgetMs(containerId: string | undefined, budgetUsd: number): number {
    const life = containerId === undefined ? undefined : this.lives.get(containerId);
    return (budgetUsd / usdPerMinute(this.prices, life?.tier)) * 60_000;
  }

  /** Everything so far; containers still alive are counted up to now. */
  summary(): CostSummary {
    const now = this.now();
    const out = emptyCostSummary();
    for (const life of this.lives.values()) {
      const end = life.endedAt ?? this.endOf(life, now);
      const aliveMs = end - life.createdAt;
      const minutes = billedMinutes(this.prices, aliveMs);
      const perMinute = usdPerMinute(this.prices, life.tier);
      const usd = minutes * perMinute;
      const keptMs = life.keptAliveMs + (life.endedAt === undefined && life.touchedSinceWork ? Math.max(0, end - (life.lastWorkAt + life.idleExpiryMs)) : 0);
      out.containersCreated++;
      if (life.endedAt === undefined && end === now) out.liveContainers++;
      out.containerMinutes += aliveMs / 60_000;
      out.billedMinutes += minutes;
      out.estimatedUsd += usd;
      const tier = (out.byTier[life.tier] ??= { containers: 0, minutes: 0, billedMinutes: 0, usd: 0 });
      tier.containers++;
      tier.minutes += aliveMs / 60_000;
      tier.billedMinutes += minutes;
      tier.usd += usd;
      out.keepAlive.touches += life.touches;
      out.keepAlive.minutes += keptMs / 60_000;
      out.keepAlive.usd += (keptMs / 60_000) * perMinute;
    }
    out.containerMinutes = tidy(out.containerMinutes);
    out.estimatedUsd = tidy(out.estimatedUsd);
    out.keepAlive.minutes = tidy(out.keepAlive.minutes);
    out.keepAlive.usd = tidy(out.keepAlive.usd);
    for (const tier of Object.values(out.byTier)) {
      tier.minutes = tidy(tier.minutes);
      tier.usd = tidy(tier.usd);
    }
    return out;
  }

  /** When a container still counted alive dies: now, or its idle expiry if nothing used it since. */
  private endOf(life: ContainerLife, now: number): number {
    return Math.min(now, life.lastActiveAt + life.idleExpiryMs);
  }
}
