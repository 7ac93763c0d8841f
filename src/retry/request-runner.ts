import type OpenAI from 'openai';
import pRetry from 'p-retry';
import { sleep } from '../abort.js';
import { RetriesExhaustedError, describeError, redactError } from '../errors.js';
import type { TypedEmitter } from '../events.js';
import type { RateLimiter } from '../ratelimit/types.js';
import { statusOf } from './error-shape.js';
import { isRetryable, retryDelayMs, type RetryOptions } from './policy.js';

/** Counters a session exposes as `session.stats`. */
export interface SessionStats {
  /** HTTP requests sent (every attempt, touches and retries included). */
  requests: number;
  retries: number;
  /** Time spent waiting for the rate limiter. */
  throttledMs: number;
  containersCreated: number;
  recreations: number;
  touches: number;
  uploads: number;
  downloads: number;
}

export function emptyStats(): SessionStats {
  return { requests: 0, retries: 0, throttledMs: 0, containersCreated: 0, recreations: 0, touches: 0, uploads: 0, downloads: 0 };
}

/** One retry-less copy per client, shared by every session on it (a copy costs ~6 KiB of heap). */
const retryless = new WeakMap<OpenAI, OpenAI>();

/** The client with its own retries off: retries inside the client would bypass the limiter. */
function withoutRetries(client: OpenAI): OpenAI {
  let copy = retryless.get(client);
  if (!copy) retryless.set(client, (copy = client.withOptions({ maxRetries: 0 })));
  return copy;
}

export interface SendOptions<T = unknown> {
  signal?: AbortSignal;
  /** False for a request whose body cannot be sent twice (a one-shot stream upload): it gets one attempt. */
  replayable?: boolean;
  /** False for a best-effort request that should get one attempt whatever the session's retry policy. */
  retry?: false;
  /**
   * Asked before each retry: did the failed attempt take effect after all (the answer was lost)?
   * A value returned is used as the result instead of sending the request again.
   */
  reconcile?: () => Promise<T | undefined>;
}

/**
 * The one road every API request takes: rate limiter slot, then the call, then on a retryable
 * failure a wait (the server's `retry-after`, else backoff) and another slot. The client's own
 * retries are off, so each attempt is counted by the limiter. Errors leave here with API keys
 * scrubbed.
 */
export class RequestRunner {
  readonly client: OpenAI;
  private readonly apiKey: string | undefined;

  constructor(
    client: OpenAI,
    private readonly limiter: RateLimiter,
    private readonly retry: Required<RetryOptions> | false,
    private readonly events: TypedEmitter,
    readonly stats: SessionStats,
    /** Values to scrub from every error besides the API key (the container's domain secrets). */
    private readonly secrets: readonly string[] = [],
  ) {
    this.client = withoutRetries(client);
    this.apiKey = client.apiKey ?? undefined;
  }

  async send<T>(operation: string, call: (client: OpenAI, signal: AbortSignal | undefined) => PromiseLike<T>, options: SendOptions<T> = {}): Promise<T> {
    const { signal } = options;
    const retries = this.retry && options.replayable !== false && options.retry !== false ? this.retry.retries : 0;
    let attempts = 0;
    const attempt = async (): Promise<T> => {
      attempts++;
      await this.acquire(operation, signal);
      this.stats.requests++;
      try {
        return await call(this.client, signal);
      } catch (error) {
        throw redactError(error, this.apiKey, this.secrets);
      }
    };
    // The first attempt runs outside p-retry: the common case, success, pays nothing for the
    // retry machinery. A retryable failure enters p-retry as its attempt 1.
    let first: unknown;
    try {
      return await attempt();
    } catch (error) {
      if (retries === 0 || !isRetryable(error) || signal?.aborted) throw error;
      first = error;
    }
    try {
      return await pRetry(
        async (n) => {
          if (n === 1) throw first;
          const settled = await options.reconcile?.();
          return settled !== undefined ? settled : attempt();
        },
        {
          retries,
          // Delays are ours (server wait or backoff), slept in onFailedAttempt: p-retry's own timer stays at 0.
          minTimeout: 0,
          factor: 1,
          signal,
          shouldRetry: ({ error }) => isRetryable(error),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft === 0 || !isRetryable(error) || !this.retry) return;
            const delayMs = retryDelayMs(error, attemptNumber, this.retry);
            this.stats.retries++;
            this.events.emit('request.retry', {
              operation,
              attempt: attemptNumber,
              delayMs,
              status: statusOf(error),
              message: describeError(error),
            });
            await sleep(delayMs, signal);
          },
        },
      );
    } catch (error) {
      if (attempts > retries && isRetryable(error)) throw new RetriesExhaustedError(operation, attempts, { cause: error });
      throw error;
    }
  }

  private async acquire(operation: string, signal: AbortSignal | undefined): Promise<void> {
    if (!signal?.aborted && this.limiter.tryAcquire?.()) return; // a free slot: not throttled
    const started = performance.now();
    await this.limiter.acquire(signal ? { signal } : {});
    const waitedMs = performance.now() - started;
    if (waitedMs >= 1) {
      this.stats.throttledMs += waitedMs;
      this.events.emit('request.throttled', { operation, waitedMs });
    }
  }
}
