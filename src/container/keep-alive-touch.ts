import { randomBytes } from 'node:crypto';
import type { CostTracker } from '../cost/tracker.js';
import { toLibraryError } from '../errors.js';
import type { TypedEmitter } from '../events.js';
import type { SecretScrubber } from '../secrets.js';
import type { StateHolder } from '../store/state-holder.js';
import { KeepAlive, KEEP_ALIVE_IDLE_TIMEOUT_MS, defaultTouchIntervalMs, keepAliveLeaseMs, type KeepAliveOptions } from './keep-alive.js';
import type { ContainerLifecycle } from './lifecycle.js';

/** What the session's keep-alive reads of the session's parts. */
export interface KeepAliveParts {
  readonly options: { readonly keepAlive?: KeepAliveOptions | false | undefined };
  readonly lifecycle: ContainerLifecycle;
  readonly state: StateHolder;
  readonly cost: CostTracker;
  readonly events: TypedEmitter;
  readonly runner: { readonly scrubber: SecretScrubber };
  /** Read when a touch fails (it is made after this function returns). */
  readonly calls: { readonly closed: boolean };
  /** What this function returned. */
  readonly keepAlive: KeepAlive | undefined;
}

/**
 * The session's {@link KeepAlive} (none with `keepAlive: false`): it touches after the interval
 * its options or the container's expiry give, stops at `idleTimeoutMs` or at the idle cost budget
 * (`maxIdleCostUsd`), and, with a shared store, touches only while it holds the store's
 * `keepalive` lease. A touch that fails is reported on the `error` event (unless the session is
 * closing) and tried again next interval.
 */
export function sessionKeepAlive(parts: KeepAliveParts): KeepAlive | undefined {
  if (parts.options.keepAlive === false) return undefined;
  /**
   * This session object's name for the store's keep-alive lease. From one native call: a
   * `randomUUID()` is built by concatenation and kept as ~20 string pieces (~600 bytes a session).
   */
  const leaseHolder = `${process.pid}-${randomBytes(16).toString('hex')}`;
  return new KeepAlive({ intervalMs: () => touchIntervalMs(parts), idleTimeoutMs: () => idleTimeoutMs(parts) }, (idleMs) => touch(parts, leaseHolder, idleMs));
}

const DEFAULTS: KeepAliveOptions = {};

function touchIntervalMs({ options, lifecycle }: KeepAliveParts): number {
  return (options.keepAlive || DEFAULTS).intervalMs ?? defaultTouchIntervalMs(lifecycle.expiresAfterMinutes);
}

function idleTimeoutMs({ options, cost, lifecycle }: KeepAliveParts): number {
  const given = options.keepAlive || DEFAULTS;
  const timeMs = given.idleTimeoutMs ?? KEEP_ALIVE_IDLE_TIMEOUT_MS;
  const budget = given.maxIdleCostUsd;
  return budget === undefined ? timeMs : Math.min(timeMs, cost.idleBudgetMs(lifecycle.containerId, budget));
}

async function touch(parts: KeepAliveParts, leaseHolder: string, idleMs: number): Promise<void> {
  try {
    // With a shared store, one process touches: the holder of a lease that lives about one
    // interval, so a holder that died is replaced before the container expires.
    const lease = await parts.state.lease('keepalive', leaseHolder, keepAliveLeaseMs(touchIntervalMs(parts)));
    if (!lease.held) {
      parts.keepAlive?.retryAfter(lease.remainingMs + Math.random() * Math.min(1000, lease.remainingMs / 10));
      return;
    }
    const containerId = await parts.lifecycle.touch();
    if (containerId) parts.events.emit('keepalive', { containerId, idleMs });
  } catch (error) {
    if (!parts.calls.closed) {
      const reported = toLibraryError(error, { operation: 'keep-alive touch', hint: 'It is tried again next interval.', scrubber: parts.runner.scrubber }) as Error;
      parts.events.emit('error', { operation: 'keepalive', error: reported });
    }
    throw error;
  }
}
