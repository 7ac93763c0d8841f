import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';

/**
 * One request on its way out, told when it reaches the wire. Node's `fetch` (undici) publishes
 * `undici:request:create` when it dispatches a request (still inside the caller's async context)
 * and `undici:client:sendHeaders` when it writes the request's headers to the socket, after the
 * connection (and TLS) is ready. The first maps undici's request to the call that made it; the
 * second is the send time.
 */
export interface WireWatch {
  /** undici dispatched this call's request (so it went through Node's fetch, not a mock). */
  readonly dispatched: boolean;
  /** Its headers were written to a socket. */
  readonly onWire: boolean;
}

interface Watch extends WireWatch {
  dispatched: boolean;
  onWire: boolean;
  readonly origin: string;
  readonly path: string;
  readonly onSend: () => void;
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
    if (!watch || watch.onWire) return;
    watch.onWire = true;
    try {
      watch.onSend();
    } catch {
      // a limiter's bookkeeping must never break the request being written
    }
  });
}

/**
 * Runs `send` (which calls some `fetch` for `url`), calling `onSend` synchronously when the
 * request's headers are written to the socket, if it goes through Node's own fetch. The returned
 * watch says afterwards whether it was dispatched and put on the wire.
 */
export function watchWire<T>(url: URL | undefined, onSend: () => void, send: () => Promise<T>): { watch: WireWatch; result: Promise<T> } {
  listen();
  const watch: Watch = { dispatched: false, onWire: false, origin: url?.origin ?? '', path: url ? `${url.pathname}${url.search}` : '', onSend };
  return { watch, result: calls.run(watch, send) };
}
