import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';

/**
 * One request on its way out, told when it reaches the wire. Node's `fetch` (undici) publishes
 * `undici:request:create` when it dispatches a request (still inside the caller's async context),
 * `undici:client:sendHeaders` when it writes the request's headers to the socket, after the
 * connection (and TLS) is ready, `undici:request:bodySent` when it has written the whole body (at
 * once after the headers for a request without one), and `undici:request:headers` when it has read
 * the answer's status line and headers. The first maps undici's request to the call that made it;
 * the second and third are when it started and finished leaving; the last is the earliest moment
 * this process can know the server counted the request (and the answer may say how long the
 * server spent on it).
 */
export interface WireWatch {
  /** undici dispatched this call's request (so it went through Node's fetch, not a mock). */
  readonly dispatched: boolean;
  /** When its headers were written to a socket (`performance.now()`); undefined until they are. */
  readonly writtenAt: number | undefined;
  /** Its whole body was written. */
  readonly bodySent: boolean;
  /** The server's answer started (its status line and headers were read). */
  readonly answered: boolean;
}

interface Watch extends WireWatch {
  dispatched: boolean;
  writtenAt: number | undefined;
  bodySent: boolean;
  answered: boolean;
  readonly origin: string;
  readonly path: string;
  readonly onBodySent: () => void;
  readonly onAnswer: (processingMs: number | undefined) => void;
}

interface UndiciRequest {
  origin?: unknown;
  path?: unknown;
}

const calls = new AsyncLocalStorage<Watch>();
const requests = new WeakMap<object, Watch>();
let subscribed = false;

function listen(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:request:create', (message) => {
    const watch = calls.getStore();
    const request = (message as { request?: UndiciRequest }).request;
    // Only the call's own request: a custom fetch may send others first (a token, a redirect).
    if (!watch || !request || watch.dispatched || !watch.origin || String(request.origin) !== watch.origin || request.path !== watch.path) return;
    watch.dispatched = true;
    requests.set(request, watch);
  });
  subscribe('undici:client:sendHeaders', (message) => {
    const watch = requests.get((message as { request: object }).request);
    if (!watch || watch.writtenAt !== undefined) return;
    watch.writtenAt = performance.now();
  });
  subscribe('undici:request:bodySent', (message) => {
    const watch = requests.get((message as { request: object }).request);
    if (!watch || watch.writtenAt === undefined || watch.bodySent) return;
    watch.bodySent = true;
    notify(watch.onBodySent);
  });
  // Published as soon as undici has parsed the answer's headers, in the socket's own callback:
  // earlier than the fetch promise settles (that waits for the event loop to reach the caller).
  subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: object; response?: { statusCode?: number; headers?: unknown } };
    const watch = requests.get(request);
    // An interim answer (100 Continue, 103 Early Hints) can come before the server has the request.
    if (!watch || watch.answered || (response?.statusCode ?? 200) < 200) return;
    watch.answered = true;
    notify(() => watch.onAnswer(processingMsOf(response?.headers)));
  });
}

const PROCESSING_HEADER = 'openai-processing-ms';

/**
 * The time the server says it spent on the request (OpenAI's `openai-processing-ms`), from undici's
 * raw headers (`[name, value, name, value, ...]`, Buffers or strings); undefined if absent or not
 * a decimal number of milliseconds.
 */
function processingMsOf(headers: unknown): number | undefined {
  if (!Array.isArray(headers)) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() !== PROCESSING_HEADER) continue;
    const text = String(headers[i + 1]).trim();
    // Decimal digits only: Number() would also read '0x3e8', '1e3' or ' ' as numbers.
    return /^\d{1,15}(\.\d+)?$/.test(text) ? Number(text) : undefined;
  }
  return undefined;
}

function notify(callback: () => void): void {
  try {
    callback();
  } catch {
    // a limiter's bookkeeping must never break the request being written or read
  }
}

/** What {@link watchWire} tells as the request goes out and its answer comes back. */
export interface WireEvents {
  /** The request's whole body was written (at once after the headers when it has none). */
  onBodySent: () => void;
  /**
   * The answer's headers were read (before the fetch promise settles), with the time the server
   * says it spent on the request (`openai-processing-ms`), if it said.
   */
  onAnswer: (processingMs: number | undefined) => void;
}

/**
 * Runs `send` (which calls some `fetch` for `url`), calling `events.onBodySent` synchronously when
 * the request's headers and body have been written to the socket and `events.onAnswer` when the
 * answer's headers have been read, if it goes through Node's own fetch. The returned watch says
 * afterwards whether it was dispatched, put on the wire and answered.
 */
export function watchWire<T>(url: URL | undefined, events: WireEvents, send: () => Promise<T>): { watch: WireWatch; result: Promise<T> } {
  listen();
  const watch: Watch = {
    dispatched: false,
    writtenAt: undefined,
    bodySent: false,
    answered: false,
    origin: url?.origin ?? '',
    path: url ? `${url.pathname}${url.search}` : '',
    ...events,
  };
  return { watch, result: calls.run(watch, send) };
}
