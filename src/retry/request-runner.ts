import { AsyncLocalStorage } from 'node:async_hooks';
import type OpenAI from 'openai';
import pRetry from 'p-retry';
import { raceSignal, sleep } from '../abort.js';
import { RetriesExhaustedError, describeError, markSentOnce } from '../errors.js';
import { SecretScrubber } from '../secrets.js';
import type { TypedEmitter } from '../events.js';
import type { RateLimiter } from '../ratelimit/types.js';
import { httpErrorOf, isBrokenAnswer, isConnectionFailure, isUserAbort, MalformedAnswerError, statusOf } from './error-shape.js';
import { createLimitedFetch, type Fetch, type ThrottledRequest } from '../transport/limited-fetch.js';
import { isRetryable, retryDelayMs, type RetryOptions } from './policy.js';

/** Counters a session exposes as `session.stats`. */
export interface SessionStats {
  /**
   * HTTP requests sent to the API: each one handed to the network under its own rate-limit slot,
   * so every attempt, retry, touch and redirect hop counts (one that could not connect too).
   * Requests of a client that would not take the session's transport (x509 workload identity)
   * count once per attempt: their redirects are followed out of sight.
   */
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

/** The request the runner is sending: what the transport reports throttling to. */
interface Sending {
  operation: string;
  runner: RequestRunner;
  /** Told when the transport hands the request to fetch. */
  onSending?: () => void;
}
const sending = new AsyncLocalStorage<Sending>();

interface LimitedClient {
  client: OpenAI;
  transport: Fetch;
  /** False when the client would not take the transport (x509 workload identity): the runner then takes slots per attempt. */
  onWire: boolean;
}

/**
 * One limited, retry-less copy per client and limiter, shared by every session on both (a copy
 * costs ~6 KiB of heap). Its transport reports throttling to whichever session is sending.
 */
const limitedClients = new WeakMap<OpenAI, WeakMap<RateLimiter, LimitedClient>>();

function limitedClient(client: OpenAI, limiter: RateLimiter): LimitedClient {
  let byLimiter = limitedClients.get(client);
  if (!byLimiter) limitedClients.set(client, (byLimiter = new WeakMap()));
  let limited = byLimiter.get(limiter);
  if (!limited) {
    const transport = createLimitedFetch({
      limiter,
      fetch: clientFetch(client),
      onThrottled: (request) => sending.getStore()?.runner.throttled(request),
      // Each request the transport sends (every attempt and redirect hop) counts for the sending session.
      onSending: () => {
        const store = sending.getStore();
        if (!store) return;
        store.runner.stats.requests++;
        store.onSending?.();
      },
    });
    // Retries inside the client would bypass the limiter.
    const copy = client.withOptions({ maxRetries: 0, fetch: transport });
    byLimiter.set(limiter, (limited = { client: copy, transport, onWire: clientFetch(copy) === transport }));
  }
  return limited;
}

/** What a create makes, as the API names it in the answer's `object`. */
export type CreatedObject = 'container' | 'file' | 'container.file' | 'response';

/**
 * `answer` when it is the object a create of `kind` makes: a non-empty string `id`, and `object`
 * equal to `kind` when the answer names one. Anything else (a list from a redirect followed as a
 * `GET`, a proxy's page, an empty body) throws {@link MalformedAnswerError}, which counts as a lost
 * answer: the create may have been carried out.
 */
export function checkCreated<T>(operation: string, kind: CreatedObject, answer: T): T {
  const value = answer as { id?: unknown; object?: unknown } | null | undefined;
  if (typeof value === 'object' && value !== null && typeof value.id === 'string' && value.id !== '' && (value.object === undefined || value.object === kind)) return answer;
  throw new MalformedAnswerError(operation, kind, answer);
}

export interface SendOptions<T = unknown> {
  signal?: AbortSignal;
  /**
   * The kind of object the request makes. Its answer is checked ({@link checkCreated}) as part of
   * the attempt: one that is not that object fails the attempt like a lost answer, so `reconcile`
   * looks for what it made before it is sent again, and it never passes for success.
   */
  creates?: CreatedObject;
  /** False for a request whose body cannot be sent twice (a one-shot stream upload): it gets one attempt. */
  replayable?: boolean;
  /** False for a best-effort request that should get one attempt whatever the session's retry policy. */
  retry?: false;
  /**
   * False for a request that may make something nothing here can look for (a create sent through
   * `session.fetch` by a client of the user's): a failure after which it may have taken effect
   * ({@link mayHaveTakenEffect}: a dropped connection after sending, a 5xx, an answer that broke
   * off) is not retried, so nothing is made twice; refusals (429, a connection never made) are.
   */
  idempotent?: false;
  /**
   * Asked before each retry: did the failed attempt take effect after all (the answer was lost)?
   * A value returned is used as the result instead of sending the request again.
   */
  reconcile?: () => Promise<T | undefined>;
  /**
   * For a request that makes something on the server (a container, a file): once sent, `signal`
   * no longer aborts it, since an aborted request may still have taken effect and its answer would
   * be lost. `signal` still cancels the wait for a limiter slot and the wait between retries, and
   * `send()` still rejects as soon as it aborts; what the request made then goes to `abandoned`
   * (keep it or delete it). A last attempt whose answer was lost is reconciled even then.
   * Every such request is waited for by {@link RequestRunner.drain}.
   */
  detached?: {
    /**
     * Given what the request made when the caller had stopped waiting. Without it, `send()` waits
     * for a request in flight even after `signal` aborted, and returns its result.
     */
    abandoned?: (value: T) => Promise<void>;
    /**
     * While this says true, an abort still cancels the request in flight: e.g. an upload whose
     * body has not been sent whole cannot have made a file yet.
     */
    abortable?: () => boolean;
  };
}

/** Whether a failed request may have taken effect on the server anyway (its answer was lost, not the work). */
export function mayHaveTakenEffect(error: unknown): boolean {
  if (isUserAbort(error)) return false;
  if (isConnectionFailure(error)) return !neverConnected(error); // a reset or timeout after sending: unknown
  if (isBrokenAnswer(error)) return true; // an answer came (cut, malformed, not the object made): the request arrived
  const status = httpErrorOf(error)?.status;
  return status !== undefined && status >= 500;
}

/** Socket errors that mean no connection was made, so nothing was sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a connection failure happened before any connection was made (its cause chain says so). */
function neverConnected(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    if ((e as { message?: unknown }).message === 'bad port') return true; // fetch refuses blocked ports before connecting
    const inner = (e as { errors?: unknown }).errors; // AggregateError of every address tried
    if (Array.isArray(inner) && inner.length > 0 && inner.every((x) => neverConnected(x))) return true;
  }
  return false;
}

/**
 * The one road every API request takes: the call, through the session's transport (a fetch that
 * takes a rate-limit slot when the request is sent), then on a retryable failure a wait (the
 * server's `retry-after`, else backoff) and another attempt, which takes its own slot. The
 * client's own retries are off, so each attempt is counted by the limiter. Errors leave here with
 * API keys scrubbed.
 */
export class RequestRunner {
  readonly client: OpenAI;
  /**
   * The transport: the client's own fetch with a slot of the session's limiter taken for every
   * request at send time (see src/transport/limited-fetch.ts). Every request the session's client
   * sends goes through it; throttling is reported to the session whose `send()` it is in.
   */
  readonly transport: Fetch;
  /** False when the client would not take the transport (x509 workload identity): slots are then taken per attempt here. */
  readonly onWire: boolean;
  /**
   * The session's secrets (the client's API key first). Other parts register more with
   * `runner.scrubber.add(secret)`; everything that leaves the session is scrubbed with it.
   */
  readonly scrubber: SecretScrubber;
  /** Detached requests still running (see {@link SendOptions.detached}). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    client: OpenAI,
    private readonly limiter: RateLimiter,
    private readonly retry: Required<RetryOptions> | false,
    private readonly events: TypedEmitter,
    readonly stats: SessionStats,
    /** Values to scrub besides the API key (the container's domain secrets), whatever their length. */
    secrets: readonly string[] = [],
  ) {
    const limited = limitedClient(client, limiter);
    this.client = limited.client;
    this.transport = limited.transport;
    this.onWire = limited.onWire;
    this.scrubber = new SecretScrubber([client.apiKey]);
    for (const secret of secrets) this.scrubber.add(secret, { anyLength: true });
  }

  /** Waits until every detached request has finished and handed over what it made. */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  send<T>(operation: string, call: (client: OpenAI, signal: AbortSignal | undefined) => PromiseLike<T>, options: SendOptions<T> = {}): Promise<T> {
    const { detached, signal, creates } = options;
    if (creates) {
      const make = call;
      call = (client, s) => Promise.resolve(make(client, s)).then((answer) => checkCreated(operation, creates, answer));
    }
    if (!detached) return this.sendAttached(operation, call, options);
    // Unsure: the last attempt failed in a way that may have taken effect, and nobody has looked since.
    let unsure = false;
    // The attempt's own signal: aborted with the caller's while the attempt has not been handed to
    // fetch yet (it waits for its rate-limit slot), or while `abortable` says nothing can have been made.
    const inFlight = new AbortController();
    let handedOver = false;
    const onAbort = () => {
      if (!handedOver || detached.abortable?.()) inFlight.abort(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const work = (async () => {
      try {
        return await this.sendAttached(
          operation,
          (client) =>
            Promise.resolve(((handedOver = false), call(client, inFlight.signal))).then(
              (value) => ((unsure = false), value),
              (error: unknown) => {
                unsure = mayHaveTakenEffect(error);
                throw error;
              },
            ),
          {
            ...options,
            reconcile: options.reconcile && (async () => {
              if (!unsure) return undefined; // the failure was a refusal (429, 400...): nothing was made
              const found = await options.reconcile!();
              unsure = false;
              return found;
            }),
            cancelInFlight: false,
            onSending: () => (handedOver = true),
          },
        );
      } catch (error) {
        if (unsure && options.reconcile) {
          const found = await options.reconcile();
          if (found !== undefined) return found;
        }
        throw error;
      }
    })();
    const { abandoned } = detached;
    const tracked = work
      .then(
        async (value) => {
          if (signal?.aborted) await abandoned?.(value);
        },
        () => {},
      )
      .catch(() => {}) // `abandoned` reports its own failures
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        this.background.delete(tracked);
      });
    this.background.add(tracked);
    return abandoned ? raceSignal(work, signal) : work;
  }

  private async sendAttached<T>(
    operation: string,
    call: (client: OpenAI, signal: AbortSignal | undefined) => PromiseLike<T>,
    options: SendOptions<T> & { cancelInFlight?: false; onSending?: () => void },
  ): Promise<T> {
    const { signal } = options;
    const retries = this.retry && options.replayable !== false && options.retry !== false ? this.retry.retries : 0;
    const retryable = (error: unknown) => isRetryable(error) && (options.idempotent !== false || !mayHaveTakenEffect(error));
    let attempts = 0;
    const attempt = async (): Promise<T> => {
      attempts++;
      if (!this.onWire) {
        await this.acquire(operation, signal);
        this.stats.requests++; // otherwise counted by the transport, per request on the wire
      }
      try {
        const onSending = options.onSending;
        if (!this.onWire) onSending?.(); // the slot was taken above
        return await sending.run({ operation, runner: this, ...(onSending && { onSending }) }, () => call(this.client, signal));
      } catch (error) {
        throw this.scrubber.error(error);
      }
    };
    // The first attempt runs outside p-retry: the common case, success, pays nothing for the
    // retry machinery. A retryable failure enters p-retry as its attempt 1.
    let first: unknown;
    try {
      return await attempt();
    } catch (error) {
      // Retries were allowed but not for this body (a one-shot stream): the error says so.
      if (options.replayable === false && options.retry !== false && this.retry && this.retry.retries > 0 && isRetryable(error)) markSentOnce(error);
      if (retries === 0 || !retryable(error) || signal?.aborted) throw error;
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
          // p-retry's signal rejects at once, dropping the answer of an attempt in flight; a
          // detached request is only cancelled between attempts (the sleep below).
          ...(options.cancelInFlight !== false && { signal }),
          shouldRetry: ({ error }) => retryable(error),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft === 0 || !retryable(error) || !this.retry) return;
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

  /** Told by the transport about a request of this runner that waited for its slot. */
  throttled({ method, url, waitedMs }: ThrottledRequest): void {
    this.stats.throttledMs += waitedMs;
    this.events.emit('request.throttled', { operation: sending.getStore()?.operation ?? `${method} ${URL.canParse(url) ? new URL(url).pathname : url}`, waitedMs });
  }

  /** Only for a client that would not take the transport: a slot stamped when granted. */
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

/** The fetch an openai client sends with (its `fetch` option, or the global one it captured). */
function clientFetch(client: OpenAI): Fetch | undefined {
  const own = (client as unknown as { fetch?: unknown }).fetch;
  return typeof own === 'function' ? (own as Fetch) : undefined;
}
