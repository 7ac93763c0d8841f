import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { sleep } from '../abort.js';
import { asError, CodeInterpreterError, describeError } from '../errors.js';
import { callbackSchema, limiterOptionsSchema, rateLimiterSchema, validateFactoryOptions } from '../ratelimit/options.js';
import { holdFor, sinceArrival } from '../ratelimit/sliding-window.js';
import type { RateLimiter, RateLimiterOptions, RateLimitSlot } from '../ratelimit/types.js';
import { describeValue, durationMs } from '../timers.js';
import { BoundedRedis, redisLikeSchema, type RedisLike } from './connection.js';
import { RENEW_SCRIPT, RESERVE_SCRIPT, STAMP_SCRIPT } from './rate-limit-scripts.js';

export class RateLimiterUnavailableError extends CodeInterpreterError {}

/** Why a Redis limiter granted nothing for a window (see {@link RedisRateLimiterOptions.onReset}). */
export interface RateLimiterReset {
  /**
   * - `no-record`: Redis, started less than a window ago, had no record of this key: a restart may
   *   have lost it (this process had not used the key before, so it cannot tell).
   * - `lost`: Redis lost its data (restart without persistence, flush, eviction): this process had
   *   seen the record before, and finds it missing, or replaced by one another process made since.
   * - `rolled-back`: Redis's record is older than one this process saw (a failover to a replica
   *   that lagged, a restore from a snapshot): recent grants may be missing from the log.
   */
  reason: 'no-record' | 'lost' | 'rolled-back';
  /**
   * How long nothing is granted from now, by any process. For `lost`, until one window after the
   * new record was made (the latest the loss can have happened): a window when this process made
   * it, less when another process made it earlier, 0 when that window is already over. For
   * `no-record` one window; for `rolled-back` one window from the first process to notice.
   */
  quietMs: number;
}

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  /**
   * An ioredis client, or a URL for a connection the limiter makes. A connection made from a URL
   * never keeps the process alive while no call is in flight; `close()` frees it early. A client
   * you pass stays yours to close.
   */
  redis: RedisLike;
  /** The Redis key every process sharing the limit uses, e.g. `openai:code-interpreter:org-123`. */
  key: string;
  /** How long one Redis call may take before it counts as unreachable (at least 1 ms). @default 2_000 */
  redisTimeoutMs?: number;
  /**
   * Used while Redis cannot be reached. Without one, `acquire()` rejects with
   * `RateLimiterUnavailableError`: running unthrottled could exceed the organisation's limit.
   * @default none
   */
  fallback?: RateLimiter;
  /** Told each time Redis could not be reached (and the fallback, if any, was used). */
  onRedisError?: (error: Error) => void;
  /**
   * Told when this process finds that Redis lost the limit's log (or never had it): nothing is
   * granted, by any process, until one window after the loss could have happened (`quietMs`),
   * since requests sent in the window before it may have left no trace. See docs/rate-limits.md
   * for what is detected when, and the persistence settings that avoid it.
   */
  onReset?: (reset: RateLimiterReset) => void;
  /** Told the Redis server's time (ms, microsecond precision) of each grant this process got. */
  onGrant?: (at: number) => void;
}

export interface RedisRateLimiter extends RateLimiter {
  reserve(opts?: { signal?: AbortSignal }): Promise<RateLimitSlot>;
  /** Closes the connection if the limiter made it from a URL (not needed for the process to exit). */
  close(): Promise<void>;
}

const keyMessage = (issue: { input?: unknown }) =>
  `expected the Redis key every process sharing the limit uses, e.g. 'openai:code-interpreter:org-123', got ${describeValue(issue.input)}`;

/** What `createRedisRateLimiter` accepts (unknown keys are refused): every option checked here, not at the first call or outage. */
const RedisRateLimiterOptionsSchema = limiterOptionsSchema({
  redis: redisLikeSchema,
  key: z.string({ error: keyMessage }).refine((k) => k.trim() !== '', { error: keyMessage }),
  redisTimeoutMs: durationMs('redisTimeoutMs', { min: 1, integer: false }).optional(),
  fallback: rateLimiterSchema('a RateLimiter to use while Redis is unreachable').optional(),
  onRedisError: callbackSchema('onRedisError', '(error: Error) => void').optional(),
  onReset: callbackSchema('onReset', '(reset: { reason, quietMs }) => void').optional(),
  onGrant: callbackSchema('onGrant', '(at: number) => void').optional(),
});

/** Extra wait on top of what the script answers, so pollers do not all arrive in the same millisecond. */
const POLL_JITTER_MS = 3;
/**
 * How long past its last renewal a slot granted but not yet sent is scored (renewed every third of
 * it while the request waits): it counts as sent then, so the slot of a process that died
 * meanwhile leaves the log this plus one window after the last renewal.
 */
const UNSENT_LEASE_MS = 30_000;

/**
 * A sliding-window limiter shared by every process and host that uses the same Redis `key`: never
 * more than `limit` requests counted in any `intervalMs` (plus the slot's margin, see
 * {@link RateLimiterOptions.marginMs}), by the Redis server's clock.
 *
 * A slot is reserved in one atomic script and counts as inside the window from then; when the
 * request has been counted (`slot.sent()`, called by the session's transport when the server's
 * answer starts) it is re-stamped with the Redis time of that moment, less the time the server
 * says it spent on the request (`sinceArrivalMs`), which is no earlier than the arrival.
 * `acquire()` scores its slot at the grant plus the default margin. Waiters sleep for the wait the
 * script returns (no busy loop). After Redis loses the log it grants
 * nothing until one window after the loss could have happened (`onReset`).
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  validateFactoryOptions('createRedisRateLimiter()', RedisRateLimiterOptionsSchema, options, "{ redis, key: 'openai:code-interpreter:org-123', limit: 100, intervalMs: 60_000 }");
  const { key, limit, fallback, onRedisError, onReset, onGrant } = options;
  const hold = holdFor(options);
  const windowMs = hold.afterArrival;
  // A slot stamped when granted (acquire) is scored that much in the future: its margin.
  const grantMarginMs = hold.atGrant - hold.afterArrival;
  const timeoutMs = options.redisTimeoutMs ?? 2_000;
  const redis = new BoundedRedis(options.redis, 'createRedisRateLimiter()');
  const recordKey = `${key}:epoch`;
  const owner = randomUUID();
  let sequence = 0;
  let knownEpoch = '';
  let knownSeq = 0;
  let knownCreated = 0; // when the record this process knows was made, on the Redis clock (µs)
  let reported = ''; // concurrent attempts may all notice one reset: it is reported once

  const unavailable = (cause: unknown) => {
    const problem = asError(cause);
    return new RateLimiterUnavailableError(
      `The Redis rate limiter (key '${key}') could not reach Redis: ${describeError(problem)}. ` +
        'Check the connection, or pass `fallback: createRateLimiter({ limit, intervalMs })` to throttle in-process meanwhile.',
      { cause: problem },
    );
  };

  /** A call whose failure only loses precision on the safe side (a slot counted longer): reported, not thrown. */
  const background = (script: string, ...args: Array<string | number>) => {
    void redis
      .call((client) => client.eval(script, 1, key, ...args), { timeoutMs, unavailable })
      .catch((error: unknown) => onRedisError?.(error as Error));
  };

  /** Takes a slot out of the log (a release, or a reservation given up on); failures reported. */
  const remove = (member: string) => {
    void redis.call((client) => client.zrem(key, member), { timeoutMs, unavailable }).catch((error: unknown) => onRedisError?.(error as Error));
  };

  /** One try: 0 when granted (the slot is in the log), else how long to wait. */
  const attempt = async (member: string, leaseMs: number, signal: AbortSignal | undefined): Promise<number> => {
    const [granted, waitUs, nowUs, epoch, seq, reason, quietUs, created] = (await redis.call(
      (client) =>
        client.eval(RESERVE_SCRIPT, 2, key, recordKey, limit, windowMs, member, leaseMs, knownEpoch, knownSeq, randomUUID(), knownCreated) as Promise<
          [number, number, number, string, number, string, number, number]
        >,
      { timeoutMs, signal, unavailable },
    ))!;
    knownSeq = reason !== '' || epoch !== knownEpoch ? seq : Math.max(knownSeq, seq);
    knownEpoch = epoch;
    knownCreated = created;
    // One loss is one new epoch; a record rolled back within an epoch is told apart by its seq.
    const event = `${epoch}:${reason}:${reason === 'rolled-back' ? seq : ''}`;
    if (reason !== '' && reported !== event) {
      reported = event;
      onReset?.({ reason: reason as RateLimiterReset['reason'], quietMs: quietUs / 1000 });
    }
    if (granted !== 1) return Math.max(1, Math.ceil(waitUs / 1000));
    onGrant?.(nowUs / 1000);
    return 0;
  };

  /** Waits for a slot; `leaseMs` is how far past the grant it is scored (the unsent lease, or acquire's margin). */
  const take = async (leaseMs: number, opts: { signal?: AbortSignal }): Promise<{ member: string; heldBackMs: number } | RateLimitSlot> => {
    const { signal } = opts;
    signal?.throwIfAborted();
    const member = `${owner}:${sequence++}`;
    let heldBackMs = 0;
    for (;;) {
      let waitMs: number;
      try {
        waitMs = await attempt(member, leaseMs, signal);
      } catch (error) {
        // Given up on (aborted, timed out) the script may still run and grant: nobody would renew,
        // stamp or free that slot, so it would hold its place for the lease and a window. Sent on
        // the same connection, the removal runs after the script, whenever that is.
        remove(member);
        if (signal?.aborted && error === signal.reason) throw error;
        onRedisError?.(error as Error);
        if (!fallback) throw error;
        if (fallback.reserve) return fallback.reserve(opts);
        await fallback.acquire(opts);
        return { sent() {}, release() {} };
      }
      if (waitMs === 0) return { member, heldBackMs };
      const started = performance.now();
      await sleep(waitMs + Math.random() * POLL_JITTER_MS, signal);
      heldBackMs += performance.now() - started;
    }
  };

  const slotFor = (member: string, heldBackMs: number): RateLimitSlot => {
    let open = true;
    const renew = setInterval(() => background(RENEW_SCRIPT, member, UNSENT_LEASE_MS, windowMs), UNSENT_LEASE_MS / 3);
    renew.unref();
    const close = () => {
      const was = open;
      open = false;
      clearInterval(renew);
      return was;
    };
    return {
      heldBackMs,
      sent: (sinceArrivalMs) => void (close() && background(STAMP_SCRIPT, member, windowMs, sinceArrival(sinceArrivalMs))),
      release: () => void (close() && remove(member)),
    };
  };

  return {
    async reserve(opts = {}) {
      const taken = await take(UNSENT_LEASE_MS, opts);
      return 'member' in taken ? slotFor(taken.member, taken.heldBackMs) : taken;
    },
    async acquire(opts = {}) {
      const taken = await take(grantMarginMs, opts);
      if (!('member' in taken)) taken.sent();
    },
    close: () => redis.close(timeoutMs),
  };
}
