import { isRedirectFailure } from '../transport/redirects.js';
import { httpErrorOf, isBrokenAnswer, isConnectionFailure, isUserAbort } from './error-shape.js';

/** What the session does when a request fails. */
export interface RetryOptions {
  /** Retries after the first attempt (so `retries + 1` attempts at most). @default 5 */
  retries?: number;
  /** First backoff delay, doubled each retry, with jitter. @default 500 */
  minTimeoutMs?: number;
  /** Largest backoff delay. A server's `retry-after` may ask for more and wins, up to 60 s. @default 8_000 */
  maxTimeoutMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { retries: 5, minTimeoutMs: 500, maxTimeoutMs: 8_000 };

/** The longest server-requested wait honoured; past it the backoff bound applies. */
export const MAX_SERVER_WAIT_MS = 60_000;

/**
 * Whether a failed request may succeed if sent again: connection errors, answers that broke off
 * after their headers or are not what was asked for (a cut or malformed body: `isBrokenAnswer`;
 * what a create may have made is looked for first), 408, 409, 429 (except
 * `insufficient_quota`, which will not clear by waiting) and 5xx. The server's `x-should-retry`
 * header overrides. Aborts never retry; 400/401/403/404/422 never do (expiry is recovery's job).
 */
export function isRetryable(error: unknown): boolean {
  if (isUserAbort(error) || isRedirectFailure(error)) return false; // a redirect refused is refused again
  if (isConnectionFailure(error) || isBrokenAnswer(error)) return true; // includes timeouts
  const http = httpErrorOf(error); // by shape: errors of another copy of openai count too
  if (!http) return false;
  const hint = http.header('x-should-retry');
  if (hint === 'true') return true;
  if (hint === 'false') return false;
  const status = http.status;
  if (status === 429) return http.code !== 'insufficient_quota';
  return status === 408 || status === 409 || status >= 500;
}

/** The wait a server asked for, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function serverRequestedWaitMs(error: unknown, nowMs = Date.now()): number | undefined {
  const http = httpErrorOf(error);
  if (!http) return undefined;
  const ms = Number.parseFloat(http.header('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const header = http.header('retry-after');
  if (header === null) return undefined;
  const secondsValue = Number.parseFloat(header);
  if (Number.isFinite(secondsValue) && secondsValue >= 0) return secondsValue * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The delay before retry number `retry` (1-based): the server's wait when it gave one within
 * {@link MAX_SERVER_WAIT_MS}, else exponential backoff from `minTimeoutMs`, capped at
 * `maxTimeoutMs`, less up to 25% jitter so that many clients do not retry in step.
 */
export function retryDelayMs(error: unknown, retry: number, options: Required<RetryOptions>, random = Math.random): number {
  const server = serverRequestedWaitMs(error);
  if (server !== undefined && server <= MAX_SERVER_WAIT_MS) return server;
  const backoff = Math.min(options.maxTimeoutMs, options.minTimeoutMs * 2 ** (retry - 1));
  return Math.round(backoff * (1 - 0.25 * random()));
}
