import { setTimer } from '../timers.js';

export interface KeepAliveOptions {
  /**
   * Touch the container after it has been idle this long. Must be shorter than the container's
   * expiry (`container.expiresAfterMinutes`, 20 by default), or it would expire between touches.
   * @default 80% of the container's expiry (16 min for the API's 20)
   */
  intervalMs?: number;
  /**
   * Stop touching once the session itself has not been used for this long; the container may then
   * expire, and the next call brings it back.
   * @default 3_600_000 (1 hour)
   */
  idleTimeoutMs?: number;
  /**
   * Stop touching once keeping the idle container alive would cost more than this (USD, at the
   * session's `pricing` for its memory tier): e.g. 0.05 stops a 1g container's touches after about
   * 33 idle minutes, a 16g one's after about 2. The earlier of this and `idleTimeoutMs` wins.
   * @default no cost cap (only `idleTimeoutMs`)
   */
  maxIdleCostUsd?: number;
}

export const KEEP_ALIVE_IDLE_TIMEOUT_MS = 60 * 60_000;

/** The touch interval for a container that expires after `expiresAfterMinutes` idle minutes. */
export function defaultTouchIntervalMs(expiresAfterMinutes: number): number {
  return Math.round(expiresAfterMinutes * 60_000 * 0.8);
}

/**
 * How long the keep-alive lease lasts (sessions sharing a store let one holder touch): one touch
 * interval plus slack for the touch itself and a late timer (a quarter of the interval, between
 * 1 s and 30 s), so a live holder renews it before it lapses. A holder that died is replaced that
 * long after its last touch: 16.5 min for the default 16-min interval, before the 20-min expiry.
 */
export function keepAliveLeaseMs(intervalMs: number): number {
  return Math.round(intervalMs + Math.min(Math.max(intervalMs / 4, 1_000), 30_000));
}

/**
 * Keeps a container from expiring while its session is in use. Two clocks: when the container was
 * last used by any request (which refreshes its expiry on the server, so a busy session never
 * needs a touch), and when the session was last used by its caller (past `idleTimeoutMs`, touching
 * stops). The timer is `unref`ed: a forgotten session does not keep the process alive.
 */
export class KeepAlive {
  private containerActiveAt = 0;
  private sessionUsedAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private touching: Promise<void> | undefined;

  constructor(
    private readonly settings: { intervalMs: () => number; idleTimeoutMs: () => number },
    /** Touches the container; told how long it had been idle. */
    private readonly touch: (idleMs: number) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The caller used the session. */
  noteSessionUse(): void {
    this.sessionUsedAt = this.now();
  }

  /** A request used the container (so the server restarted its idle clock). */
  noteContainerActivity(): void {
    this.containerActiveAt = this.now();
    this.schedule();
  }

  /** Checks again in `ms` (another holder has the lease until then) instead of one interval from now. */
  retryAfter(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), Math.max(0, ms));
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no touch is in flight (after {@link stop}, none starts). */
  async idle(): Promise<void> {
    while (this.touching) await this.touching;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const due = this.containerActiveAt + this.settings.intervalMs();
    // Clamped: an interval past a timer's range fires early, finds the container not yet due, and sleeps again.
    this.timer = setTimer(() => void this.fire(), due - this.now(), { unref: true });
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.now();
    if (now - this.sessionUsedAt > this.settings.idleTimeoutMs()) return; // not in use (or over its idle budget): let it expire
    if (now - this.containerActiveAt < this.settings.intervalMs()) return this.schedule(); // used meanwhile
    const touching = this.touch(now - this.containerActiveAt).then(
      () => {}, // the touch noted container activity, which schedules the next round
      () => this.noteContainerActivity(), // it reported its failure (an `error` event); try again next interval
    );
    this.touching = touching;
    await touching;
    if (this.touching === touching) this.touching = undefined;
  }
}
