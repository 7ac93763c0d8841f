import { SessionClosedError } from '../errors.js';

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
    const settled = work.then(
      () => {},
      () => {},
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    let value: T;
    try {
      value = await work;
    } catch (error) {
      if (this.closed && !caller?.aborted) throw new SessionClosedError(method, { cause: error, inFlight: true });
      throw error;
    }
    if (this.closed) throw new SessionClosedError(method, { inFlight: true });
    // A caller that aborted before the call settled gets its abort, as from any abortable API.
    if (caller?.aborted) throw caller.reason;
    return value;
  }

  /** Stops every call in flight and waits until none runs. */
  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort(new SessionClosedError('a call', { inFlight: true }));
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
