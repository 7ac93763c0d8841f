import OpenAI from 'openai';
import { TEST_API_KEY } from './sim.js';

/** Where a held request waits: before the server sees it, or after it answered (the answer not yet delivered). */
export type HoldPhase = 'request' | 'response';

export interface HoldSpec {
  method?: string;
  /** Tested against the API path without `/v1` (e.g. `/containers`, `/containers/cntr_1/files`). */
  path: string | RegExp;
  phase: HoldPhase;
  /** Hold the nth matching request (1-based). @default 1 */
  nth?: number;
}

export interface Hold {
  /** Resolves when the request is held. */
  reached: Promise<void>;
  /** Lets it go on. */
  release(): void;
}

function pathOf(input: Parameters<typeof fetch>[0]): string {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const at = url.pathname.indexOf('/v1/');
  return at === -1 ? url.pathname : url.pathname.slice(at + 3);
}

function matches(path: string | RegExp, actual: string): boolean {
  return typeof path === 'string' ? actual === path : path.test(actual);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A `fetch` for the OpenAI client that can hold chosen requests at a pause point, to put an abort
 * or a `close()` exactly there. A held request honours its abort signal, as a real one would.
 * Also counts every request by position (`seen`), and runs hooks after answers (`after`).
 */
export function createGate(inner: typeof fetch = (...args) => globalThis.fetch(...args)) {
  const holds: Array<HoldSpec & { count: number; reachedResolve: () => void; released: Promise<void> }> = [];
  const afterHooks: Array<{ method?: string; path: string | RegExp; fn: (response: Response) => void | Promise<void> }> = [];
  const seen: Array<{ method: string; path: string }> = [];

  const wait = async (phase: HoldPhase, method: string, path: string, signal: AbortSignal | null | undefined) => {
    for (const hold of holds) {
      if (hold.phase !== phase || (hold.method && hold.method.toUpperCase() !== method) || !matches(hold.path, path)) continue;
      hold.count++;
      if (hold.count !== (hold.nth ?? 1)) continue;
      hold.reachedResolve();
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(abortError(signal));
        const onAbort = () => reject(abortError(signal!));
        signal?.addEventListener('abort', onAbort, { once: true });
        void hold.released.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  };

  const gated: typeof fetch = async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = pathOf(input);
    seen.push({ method, path });
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    await wait('request', method, path, signal);
    // The server sees the request whole even if the client gives up meanwhile (its answer is then lost).
    const response = await inner(input, init ? { ...init, signal: undefined } : init);
    for (const hook of afterHooks) if ((!hook.method || hook.method.toUpperCase() === method) && matches(hook.path, path)) await hook.fn(response.clone());
    await wait('response', method, path, signal);
    if (signal?.aborted) {
      await response.body?.cancel();
      throw abortError(signal);
    }
    return response;
  };

  return {
    fetch: gated,
    seen,
    hold(spec: HoldSpec): Hold {
      let reachedResolve!: () => void;
      const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ ...spec, count: 0, reachedResolve, released });
      return { reached, release };
    },
    /** Runs `fn` with each answer to a matching request, before the client gets it. */
    after(spec: { method?: string; path: string | RegExp }, fn: (response: Response) => void | Promise<void>): void {
      afterHooks.push({ ...spec, fn });
    },
    /** An OpenAI client whose requests go through this gate. */
    client(baseURL?: string): OpenAI {
      return new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0, fetch: gated, ...(baseURL && { baseURL }) });
    },
  };
}
