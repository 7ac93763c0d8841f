import { z } from 'zod';
import { callbackSchema, rateLimiterSchema, validateFactoryOptions } from '../ratelimit/options.js';
import type { RateLimiter, RateLimitSlot } from '../ratelimit/types.js';
import { durationMs } from '../timers.js';
import { knownBodySize } from './body.js';
import { firstHop, type Hop, nextHop } from './redirects.js';
import { markRedirected } from './response.js';
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
  /**
   * How long after a request was written to the socket, body included, the server is taken to
   * have counted it when no answer has started by then. The slot is stamped when the answer's
   * headers are read (the server counted the request before it answered), or this long after the
   * last byte of the body was written, whichever comes first. Requests with a body over
   * 64 KiB, or a streamed one, are stamped only when the answer starts. A request that failed
   * after it was written, without an answer (an abort, a timeout), is stamped this long after it
   * failed: what it wrote may still arrive.
   * From 1 to 2_147_483_647 (the longest timer); 0 would stamp a slot before its request can have
   * arrived. Anything else is refused with `InvalidOptionsError` when the fetch is made.
   * @default 2_000
   */
  arrivalBoundMs?: number;
}

/** The default {@link LimitedFetchOptions.arrivalBoundMs}. */
export const DEFAULT_ARRIVAL_BOUND_MS = 2_000;

/**
 * The largest body for which `arrivalBoundMs` applies. Larger ones (and streams, whose size is not
 * known) keep their slot unstamped until the answer starts: what was written may still sit in the
 * kernel's socket buffers (several MiB) when undici says the body was sent.
 */
export const BOUNDED_BODY_BYTES = 64 * 1024;

/** What `createLimitedFetch` accepts (unknown keys are refused); checked before any request. */
const LimitedFetchOptionsSchema = z.strictObject({
  limiter: rateLimiterSchema(),
  fetch: callbackSchema('fetch', '(input, init) => Promise<Response>').optional(),
  onThrottled: callbackSchema('onThrottled', '({ method, url, waitedMs }) => void').optional(),
  onSending: callbackSchema('onSending', '() => void').optional(),
  // 0 would stamp the slot as the body's last byte leaves, before the request can have arrived:
  // the limiter's window would no longer contain the server's.
  arrivalBoundMs: durationMs('arrivalBoundMs', { min: 1, integer: false }).optional(),
});

/** A slot for a limiter without `reserve()`: stamped when granted, nothing to do afterwards. */
const GRANTED: RateLimitSlot = { sent() {}, release() {} };

/**
 * A `fetch` that takes a rate-limit slot for every request and stamps it with a time no earlier
 * than the request's arrival at the server (see docs/rate-limits.md):
 *
 * - the slot is reserved before the request is handed to `fetch`, and holds its place in the
 *   window while the request waits for a connection and travels;
 * - Node's fetch says when it writes the request's headers to the socket
 *   (`undici:client:sendHeaders`): the request arrives after that and before the server's answer
 *   starts. The slot is stamped when the answer's headers have been read
 *   (`undici:request:headers`, in the socket's callback, before the fetch promise reaches the
 *   caller), less the time the server says it spent on it (`openai-processing-ms`, capped at the
 *   time since the request was written: the server counted it before it started on it), or
 *   `arrivalBoundMs` after its body was written (`undici:request:bodySent`) if the
 *   server takes longer to answer and the body is small. So the window the limiter enforces
 *   contains the window the server counts, whatever delayed the request on its way, and needs no
 *   margin. An interim answer (1xx) is not the answer;
 * - redirects are followed here, one request and one slot at a time, with fetch's own rules
 *   (`redirects.ts`): left to fetch, a redirect is a second request the transport cannot see;
 * - a request that undici dispatched but never wrote (aborted, refused connection) gives its slot
 *   back; one that failed after it was written without an answer (or through a fetch undici does
 *   not see) may still arrive, and is stamped `arrivalBoundMs` after it failed; a request that did
 *   not go through Node's fetch (a mock, another HTTP stack) is stamped when its answer comes.
 *
 * A limiter without `reserve()` is used through `acquire()` (stamped when granted).
 */
export function createLimitedFetch(options: LimitedFetchOptions): Fetch {
  validateFactoryOptions('createLimitedFetch()', LimitedFetchOptionsSchema, options, '{ limiter: createRateLimiter({ limit, intervalMs }) }');
  const { limiter, onThrottled } = options;
  const arrivalBoundMs = options.arrivalBoundMs ?? DEFAULT_ARRIVAL_BOUND_MS;

  /** One request to the server, under one slot. */
  const send = async (input: string | URL | Request, init: RequestInit | undefined, url: URL | undefined): Promise<Response> => {
    const fetch = options.fetch ?? globalThis.fetch;
    const request = input instanceof Request ? input : undefined;
    const signal = init?.signal ?? request?.signal ?? undefined;
    const method = init?.method ?? request?.method ?? 'GET';
    const href = request ? request.url : String(input);
    // The bound applies to a body known to be small: the last byte of a large one is "sent" when it
    // is handed to the kernel, megabytes before the server has it (a slow uplink, a buffering proxy).
    const bodySize = init?.body !== undefined ? knownBodySize(init.body) : request?.body ? undefined : 0;
    const boundable = bodySize !== undefined && bodySize <= BOUNDED_BODY_BYTES;
    const slot = await takeSlot(limiter, signal, (waitedMs) => onThrottled?.({ method, url: href, waitedMs }));
    if (signal?.aborted) {
      slot.release();
      throw signal.reason;
    }
    try {
      options.onSending?.();
    } catch (error) {
      slot.release(); // nothing was sent
      throw error;
    }
    let bound: ReturnType<typeof setTimeout> | undefined;
    const onBodySent = () => {
      if (!boundable) return;
      bound = setTimeout(() => slot.sent(), arrivalBoundMs);
      bound.unref?.();
    };
    // The answer started: the server counted the request before now. Stamped in undici's socket
    // callback when the headers are parsed, or when the fetch settles for a fetch undici does not see.
    // When the server says how long it spent on the request, it counted it at least that long ago,
    // though never before the request was written (a proxy's or a broken clock's figure).
    const onAnswer = (processingMs: number | undefined) =>
      slot.sent(processingMs === undefined || watch.writtenAt === undefined ? 0 : Math.min(processingMs, performance.now() - watch.writtenAt));
    const { watch, result } = watchWire(url, { onBodySent, onAnswer }, async () => fetch(input, init));
    try {
      const response = await result;
      if (!watch.answered) slot.sent();
      return response;
    } catch (error) {
      // Dispatched by undici and never written: it did not reach the server. Anything else may have,
      // or may still: bytes that left before an abort can sit in a proxy or a paused server's queue.
      // Taken to arrive within `arrivalBoundMs` of failing, like a body's last byte, it keeps its
      // place in the window until then.
      if (watch.dispatched && watch.writtenAt === undefined) slot.release();
      else if (!watch.answered) setTimeout(() => slot.sent(), arrivalBoundMs).unref?.();
      throw error;
    } finally {
      clearTimeout(bound);
    }
  };

  return async (input, init) => {
    const href = input instanceof Request ? input.url : String(input);
    const url = URL.canParse(href) ? new URL(href) : undefined; // undefined: a relative URL only the given fetch understands
    // Not a request to a server (the OpenAI client probes `fetch("data:,")` before an upload): no slot.
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') return (options.fetch ?? globalThis.fetch)(input, init);
    let hop = firstHop(input, init, url);
    if (!hop) return send(input, init, url);
    for (let hops = 0; ; hops++) {
      const response = await send(hop.input, hop.init, hop.url);
      let next: Hop | undefined;
      try {
        next = nextHop(response, hop, hops);
      } catch (error) {
        await response.body?.cancel().catch(() => {});
        throw error;
      }
      if (!next) return hops > 0 ? markRedirected(response) : response;
      await response.body?.cancel().catch(() => {}); // frees the connection for the next hop
      hop = next;
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
