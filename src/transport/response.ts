/**
 * Responses the transport hands back in place of fetch's own: marked as fetch marks them, or
 * rebuilt around a new body (a tapped stream, a body read for an error) keeping what fetch set.
 */

/** `response` marked as the end of a followed chain of redirects, as fetch marks it (`redirected`). */
export function markRedirected(response: Response): Response {
  Object.defineProperty(response, 'redirected', { value: true, configurable: true });
  return response;
}

/** Statuses whose responses have no body (a `new Response()` with one throws). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A response rebuilt around a new body keeps what fetch set on the original: its final URL and
 * whether it was redirected (a `new Response()` has neither). A status without a body gets none.
 */
export function rebuiltResponse(original: Pick<Response, 'status' | 'statusText' | 'headers' | 'url' | 'redirected'>, body: ConstructorParameters<typeof Response>[0]): Response {
  const response = new Response(NULL_BODY_STATUSES.has(original.status) ? null : body, { status: original.status, statusText: original.statusText, headers: original.headers });
  if (original.url) Object.defineProperty(response, 'url', { value: original.url, configurable: true });
  if (original.redirected) markRedirected(response);
  return response;
}
