import { setTimeout as delay } from 'node:timers/promises';
import { clampTimerMs } from './timers.js';

/** Rejects when `signal` aborts, without cancelling `promise` (others may share it). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** One signal for a caller's `signal` and `timeoutMs`, either of which may be absent. */
export function combineSignals(signal: AbortSignal | undefined, timeoutMs: number | undefined): AbortSignal | undefined {
  const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(clampTimerMs(timeoutMs))].filter((s): s is AbortSignal => !!s);
  if (signals.length <= 1) return signals[0];
  return AbortSignal.any(signals);
}

/**
 * Work shared by several callers (one container creation for many first calls). Each caller
 * waits with its own signal; the work itself is cancelled only when every caller that joined has
 * given up, so one caller's abort never fails the others, and work nobody waits for stops.
 */
export class SharedTask<T> {
  readonly promise: Promise<T>;
  private readonly controller = new AbortController();
  private waiting = 0;
  private committed = false;

  constructor(run: (signal: AbortSignal) => Promise<T>) {
    this.promise = run(this.controller.signal);
    this.promise.catch(() => {}); // each joiner sees the outcome; nothing is left unhandled
  }

  /** The work was told to stop (every caller gave up, or {@link cancel}); it may still finish. */
  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops the work's waits that have not sent anything yet (see `SendOptions.detached`). */
  cancel(reason: unknown): void {
    this.controller.abort(reason);
  }

  join(signal?: AbortSignal): Promise<T> {
    if (!signal) {
      this.committed = true; // a caller that cannot give up keeps the work going
      return this.promise;
    }
    this.waiting++;
    const leave = () => {
      this.waiting--;
      if (this.waiting === 0 && !this.committed) this.controller.abort(signal.reason);
    };
    if (signal.aborted) {
      leave();
      return Promise.reject(signal.reason);
    }
    signal.addEventListener('abort', leave, { once: true });
    return raceSignal(this.promise, signal).finally(() => signal.removeEventListener('abort', leave));
  }
}

/** Waits `ms`; an abort rejects with the signal's own reason (not a generic AbortError). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(clampTimerMs(ms), undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
