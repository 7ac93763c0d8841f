import type { RateLimiter, RateLimitSlot } from '../ratelimit/types.js';
import { watchWire } from './wire.js';

/** The `fetch` signature the transport takes and returns (what `new OpenAI({ fetch })` accepts). */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What `onThrottled` is told about a request that waited for its slot. */
export interface ThrottledRequest {
  method: string;
  url: string;
  /** Time spent waiting for the slot. */
  waitedMs: number;
}

export interface LimitedFetchOptions {
  /** Where each request takes its slot. */
  limiter: RateLimiter;
  /**
   * The fetch that sends the request. When omitted, `globalThis.fetch` is read on every call, so a
   * fetch patched later (msw) is used.
   * @default globalThis.fetch
   */
  fetch?: Fetch;
  /** Told about each request that was held back for a slot, when it gets one (before it is sent). */
  onThrottled?: (request: ThrottledRequest) => void;
  /**
   * Told when a request has its slot and is handed to `fetch` (from then on it may reach the
   * server). A request that creates something uses it to stop honouring aborts from that point.
   */
  onSending?: () => void;
}

/** A slot for a limiter without `reserve()`: stamped when granted, nothing to do afterwards. */
const GRANTED: RateLimitSlot = { sent() {}, release() {} };

/**
 * A `fetch` that takes a rate-limit slot for every request and times the slot as close to the wire
 * as it can (see docs/rate-limits.md):
 *
 * - the slot is reserved before the request is handed to `fetch`, and holds its place in the
 *   window while the request waits for a connection;
 * - it is stamped when Node's fetch writes the request's headers to the socket
 *   (`undici:client:sendHeaders`), so the window the limiter enforces is the one the server sees;
 * - a request that undici dispatched but never wrote (aborted, refused connection) gives its slot
 *   back; a request that did not go through Node's fetch (a mock such as msw, another HTTP stack)
 *   is stamped when its fetch settles, a time no earlier than its arrival.
 *
 * A limiter without `reserve()` is used through `acquire()` (stamped when granted).
 */
export function createLimitedFetch(options: LimitedFetchOptions): Fetch {
  const { limiter, onThrottled } = options;
  return async (input, init) => {
    const fetch = options.fetch ?? globalThis.fetch;
    const request = input instanceof Request ? input : undefined;
    const signal = init?.signal ?? request?.signal ?? undefined;
    const method = init?.method ?? request?.method ?? 'GET';
    const href = request ? request.url : String(input);
    const url = URL.canParse(href) ? new URL(href) : undefined; // undefined: a relative URL only the given fetch understands
    const slot = await takeSlot(limiter, signal, (waitedMs) => onThrottled?.({ method, url: href, waitedMs }));
    if (signal?.aborted) {
      slot.release();
      throw signal.reason;
    }
    options.onSending?.();
    const { watch, result } = watchWire(url, () => slot.sent(), async () => fetch(input, init));
    try {
      const response = await result;
      slot.sent(); // no-op when stamped on the wire; otherwise now, which is after it arrived
      return response;
    } catch (error) {
      // Dispatched by undici and never written: it did not reach the server. Anything else may have.
      if (watch.dispatched && !watch.onWire) slot.release();
      else slot.sent();
      throw error;
    }
  };
}

async function takeSlot(limiter: RateLimiter, signal: AbortSignal | undefined, onWaited: (ms: number) => void): Promise<RateLimitSlot> {
  if (signal?.aborted) throw signal.reason;
  const free = limiter.reserve ? limiter.tryReserve?.() : limiter.tryAcquire?.() ? GRANTED : undefined;
  if (free) return free;
  const started = performance.now();
  const opts = signal ? { signal } : {};
  const slot = limiter.reserve ? await limiter.reserve(opts) : (await limiter.acquire(opts), GRANTED);
  const waitedMs = slot.heldBackMs ?? performance.now() - started;
  if (waitedMs >= 1) {
    try {
      onWaited(waitedMs);
    } catch {
      // a listener's failure must not cost the slot
    }
  }
  return slot;
}
