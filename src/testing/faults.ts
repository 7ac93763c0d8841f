/** What the simulator refuses before routing: the org rate limit and injected faults. */
import { errorResponse } from './api-error.js';
import { dropConnectionAfterBody } from './http-server.js';
import type { SimState } from './state.js';
import type { FaultSpec } from './types.js';
import { matchesPath } from './util.js';

const DEFAULT_FAULT_MESSAGES: Record<number, string> = {
  408: 'Request timed out.',
  409: 'The request conflicted with another request. Please retry.',
  429: 'Rate limit reached for requests. Please try again in a moment.',
  500: 'The server had an error while processing your request. Sorry about that!',
  502: 'Bad gateway.',
  503: 'The engine is currently overloaded, please try again later.',
};

/** The org limit, on arrival times (a slow upload body does not move a request in the window). */
export function applyRateLimit(state: SimState, now: number): Response | undefined {
  const limit = state.options.rateLimit;
  if (!limit) return undefined;
  const admitted = state.admitted;
  while (admitted.length > 0 && admitted[0]! <= now - limit.intervalMs) admitted.shift();
  if (admitted.length < limit.limit) {
    admitted.push(now);
    return undefined;
  }
  const waitMs = Math.max(1, admitted[0]! + limit.intervalMs - now);
  return errorResponse(429, `Rate limit reached for requests: Limit ${limit.limit}, Used ${limit.limit}. Please try again in ${waitMs}ms.`, {
    type: 'requests',
    code: 'rate_limit_exceeded',
    headers: { 'retry-after': String(Math.ceil(waitMs / 1000)), 'retry-after-ms': String(waitMs) },
  });
}

export type TakenFault =
  | Response
  | { cutStreamAfterEvents: number }
  | { cutBodyAfterBytes: number; cutStreamAfterEvents?: undefined }
  | { lost: Response; cutStreamAfterEvents?: undefined }
  | undefined;

/** The first injected fault matching this request, used up by one. */
export function takeFault(state: SimState, method: string, path: string, streaming: boolean): TakenFault {
  const fault = state.faults.find(
    (f) =>
      f.remaining > 0 &&
      (!f.method || f.method.toUpperCase() === method) &&
      (f.path === undefined || matchesPath(f.path, path)) &&
      (f.cutStreamAfterEvents === undefined || streaming),
  );
  if (!fault) return undefined;
  fault.remaining--;
  if (fault.remaining === 0) state.faults.splice(state.faults.indexOf(fault), 1);
  if (fault.cutStreamAfterEvents !== undefined) return { cutStreamAfterEvents: fault.cutStreamAfterEvents };
  if (fault.cutBodyAfterBytes !== undefined) return { cutBodyAfterBytes: fault.cutBodyAfterBytes };
  const answer = faultResponse(fault);
  return fault.lostResponse ? { lost: answer } : answer;
}

function faultResponse(fault: FaultSpec): Response {
  if (fault.status === 'reset') return Response.error();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (fault.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(fault.retryAfterSeconds);
    headers['retry-after-ms'] = String(Math.round(fault.retryAfterSeconds * 1000));
  }
  if (fault.body !== undefined) return new Response(JSON.stringify(fault.body), { status: fault.status, headers });
  return errorResponse(fault.status, DEFAULT_FAULT_MESSAGES[fault.status] ?? `Simulated error ${fault.status}.`, {
    code: fault.status === 429 ? 'rate_limit_exceeded' : null,
    headers,
  });
}

/**
 * `response` with its body cut after `afterBytes` bytes: the status and headers go out, then that
 * much of the body, then the connection drops (the loopback server destroys it instead of ending
 * the answer). Through msw, which has no connection to drop (an erroring body makes its interceptor
 * fail the whole fetch, as if nothing had been answered), the body just ends short.
 */
export function cutBody(response: Response, afterBytes: number): Response {
  const reader = response.body?.getReader();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = sent < afterBytes && reader ? await reader.read() : undefined;
      if (!next || next.done) {
        await reader?.cancel().catch(() => {});
        return controller.close();
      }
      const part = next.value.subarray(0, afterBytes - sent);
      sent += part.byteLength;
      controller.enqueue(part);
    },
    cancel(reason) {
      return reader?.cancel(reason);
    },
  });
  // Copied entry by entry: `new Headers(headers)` of a `Response.json()` whose headers were set
  // since drops its content-type (undici).
  const headers = new Headers([...response.headers].filter(([name]) => name !== 'content-length'));
  return dropConnectionAfterBody(new Response(body, { status: response.status, statusText: response.statusText, headers }));
}
