import { SessionClosedError } from '../errors.js';
import { rebuiltResponse } from '../transport/response.js';

/**
 * The session's calls in flight, so that `close()` can stop them and wait for them: after
 * `close()` resolves, no call of the session is still running, succeeds or writes state. A call
 * stopped by `close()` rejects with `SessionClosedError` (its cause the error it stopped with),
 * unless its own caller had aborted it first.
 */
export class InFlightCalls {
  private readonly controller = new AbortController();
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;
  private calls = 0;
  private readonly settledListeners = new Set<() => void>();

  /** Calls in flight now: public methods running, streams not yet finished, `fetch` and `downloadStream()` bodies not yet read. */
  get count(): number {
    return this.calls;
  }

  /**
   * Counts a call as in flight until the returned function is called (once; later calls do
   * nothing). When the count falls to 0, `onSettled` listeners run (a pool waiting for an idle
   * session to evict looks again).
   */
  enter(): () => void {
    this.calls++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.calls === 0) for (const listener of [...this.settledListeners]) listener();
    };
  }

  /** Calls `listener` each time the last call in flight ends; returns a function that stops it. */
  onSettled(listener: () => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  /** The signal a call runs with: the caller's (if any) or `close()`. */
  signalFor(caller: AbortSignal | undefined): AbortSignal {
    return caller ? AbortSignal.any([caller, this.controller.signal]) : this.controller.signal;
  }

  /**
   * Runs (one step of) call `method`; `close()` waits for it. Rejects with `SessionClosedError`
   * when the session is closed before it starts, or while it runs.
   */
  async run<T>(method: string, caller: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SessionClosedError(method);
    const work = fn();
    this.hold(work);
    let value: T;
    try {
      value = await work;
    } catch (error) {
      if (caller?.aborted) throw caller.reason;
      if (this.closed) throw new SessionClosedError(method, { cause: error, inFlight: true });
      throw error;
    }
    if (this.closed) throw new SessionClosedError(method, { inFlight: true });
    // A caller that aborted before the call settled gets its abort, as from any abortable API.
    if (caller?.aborted) throw caller.reason;
    return value;
  }

  /** Counts `work` as in flight until it settles: `close()` waits for it (e.g. a response body still being read). */
  hold(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
  }

  /**
   * Runs one `fetch` through the session as a call: `close()` aborts it and waits for it, its
   * response body included (until it is read to the end, cancelled, or aborted by `close()`).
   * After `close()` it rejects with `SessionClosedError`.
   */
  async fetch(fetchFn: (input: string | URL | Request, init: RequestInit) => Promise<Response>, input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const caller = init.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const signal = this.signalFor(caller);
    const leave = this.enter();
    let response: Response;
    try {
      response = await this.run('fetch', caller, () => fetchFn(input, { ...init, signal }));
    } catch (error) {
      leave();
      throw error;
    }
    if (!response.body) {
      leave();
      return response;
    }
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    void ended.then(leave);
    signal.addEventListener('abort', finish, { once: true });
    void ended.then(() => signal.removeEventListener('abort', finish));
    this.hold(ended);
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            finish();
          } else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          finish();
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return rebuiltResponse(response, body);
  }

  /** Stops every call in flight and waits until none runs. */
  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort(new SessionClosedError('a call', { inFlight: true }));
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
