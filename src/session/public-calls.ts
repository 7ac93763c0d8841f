import { raceSignal } from '../abort.js';
import type { KeepAlive } from '../container/keep-alive.js';
import { CodeInterpreterError, ContainerExpiredError, FileNotFoundError, SessionClosedError, toLibraryError, type RequestFacts } from '../errors.js';
import type { SecretScrubber } from '../secrets.js';
import type { StateHolder } from '../store/state-holder.js';
import { InFlightCalls } from './in-flight.js';

/**
 * The way in and out of every public method of a session: its input validated first (nothing is
 * sent for bad input), refused after `close()`, the session's state loaded once, its result
 * scrubbed of secrets, and any error turned into a `CodeInterpreterError` (see {@link error}).
 * Calls run as {@link InFlightCalls}: `close()` stops them and waits for them.
 */
export class PublicCalls {
  readonly inFlight = new InFlightCalls();
  private closing: Promise<void> | undefined;
  private loaded: Promise<unknown> | undefined;
  private usedAt = Date.now();

  constructor(
    /** The runner's scrubber cleans results and errors; the state is loaded on first use; keep-alive is told of each use. */
    private readonly deps: { readonly state: StateHolder; readonly keepAlive: KeepAlive | undefined; readonly runner: { readonly scrubber: SecretScrubber } },
  ) {}

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** When a method was last called (epoch ms). */
  get lastUsedAt(): number {
    return this.usedAt;
  }

  /** Runs public method `method`: `prepare` validates and answers the caller's signal, `fn` does the work. */
  async call<T>(method: string, prepare: () => AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let caller: AbortSignal | undefined;
    try {
      caller = prepare(); // validation: bad input is refused before anything is sent
    } catch (error) {
      throw this.error(method, error, undefined, false);
    }
    // The call runs with the caller's signal and close()'s (see InFlightCalls): close() stops it and waits for it.
    const signal = this.inFlight.signalFor(caller);
    let started = false;
    const leave = this.inFlight.enter();
    try {
      return await this.inFlight.run(method, caller, async () => {
        await this.begin(method, signal);
        started = true;
        return this.deps.runner.scrubber.value(await fn(signal));
      });
    } catch (error) {
      throw this.error(method, error, caller, started);
    } finally {
      leave();
    }
  }

  /**
   * Like {@link call}, for a method that yields: each step counts as a call in flight for
   * `close()` (not the time the caller spends between events), and each value is scrubbed.
   */
  async *stream<T>(method: string, prepare: () => AbortSignal | undefined, fn: (signal: AbortSignal) => AsyncGenerator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
    let caller: AbortSignal | undefined;
    try {
      caller = prepare(); // bad input is refused before anything is sent
    } catch (error) {
      throw this.error(method, error, undefined, false);
    }
    const signal = this.inFlight.signalFor(caller);
    let started = false;
    const steps = fn(signal);
    // In flight from the first step until the generator ends, the caller's time between events included.
    const leave = this.inFlight.enter();
    try {
      let step = await this.inFlight.run(method, caller, async () => {
        await this.begin(method, signal);
        started = true;
        return steps.next();
      });
      while (!step.done) {
        yield this.deps.runner.scrubber.value(step.value);
        step = await this.inFlight.run(method, caller, () => steps.next());
      }
    } catch (error) {
      throw this.error(method, error, caller, started);
    } finally {
      try {
        await steps.return();
      } finally {
        leave();
      }
    }
  }

  /**
   * Runs `close()` once: `prepare` validates its options (a bad option closes nothing and the
   * session stays open), `shutdown` does the work; a second call returns the same outcome.
   */
  close<O>(prepare: () => O, shutdown: (options: O) => Promise<void>): Promise<void> {
    let options: O;
    try {
      options = prepare();
    } catch (error) {
      return Promise.reject(this.error('close', error, undefined, false));
    }
    this.closing ??= shutdown(options).catch((error: unknown) => {
      throw toLibraryError(error, { operation: 'close()', scrubber: this.deps.runner.scrubber });
    });
    return this.closing;
  }

  /** Marks a use of the session, refused after `close()`; its state is loaded from the store once. */
  async begin(method: string, signal?: AbortSignal): Promise<void> {
    if (this.closing) throw new SessionClosedError(method);
    this.usedAt = Date.now();
    this.deps.keepAlive?.noteSessionUse();
    if (!this.loaded) {
      // Loaded once; a failed load (store unreachable) is tried again by the next call.
      const loading = this.deps.state.reload();
      this.loaded = loading;
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
    }
    await raceSignal(this.loaded, signal);
  }

  /**
   * The error a public method rejects with: an abort rejects with the caller's `signal.reason`;
   * a failure caused by close() running meanwhile is a `SessionClosedError` naming the method;
   * anything else is a `CodeInterpreterError` with the original as `cause`, scrubbed of secrets.
   */
  error(method: string, error: unknown, signal: AbortSignal | undefined, started: boolean, request?: RequestFacts): unknown {
    const { scrubber } = this.deps.runner;
    if (signal?.aborted) return toLibraryError(error, { operation: `${method}()`, signal, scrubber });
    const closedMeanwhile =
      started &&
      this.closing !== undefined &&
      (!(error instanceof CodeInterpreterError) || error instanceof SessionClosedError || error instanceof ContainerExpiredError || error instanceof FileNotFoundError);
    if (closedMeanwhile) {
      if (error instanceof SessionClosedError && error.method === method) return scrubber.error(error); // already says so
      return scrubber.error(new SessionClosedError(method, { cause: error, inFlight: true }));
    }
    if (error instanceof SessionClosedError && error.method !== method) {
      // Closed elsewhere (another process sharing the store): its message, the right method.
      return scrubber.error(new SessionClosedError(method, { message: error.message, cause: error }));
    }
    return toLibraryError(error, { operation: `${method}()`, scrubber, ...(request && { request }) });
  }
}
