import { isReplayable, type RequestBody } from './body.js';

/**
 * Redirects followed one request at a time, so that each takes its own rate-limit slot. Left to
 * Node's fetch (`redirect: 'follow'`), a redirect is a second request to the server inside one
 * `fetch` call, which the transport could neither hold back nor count. The rules are fetch's own
 * (WHATWG Fetch, "HTTP-redirect fetch"): at most 20, 303 (and 301/302 after a POST) become a GET
 * without a body, a body that cannot be sent again (a stream) ends the chain with the redirect
 * answer, and credentials are not carried to another origin.
 */

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** Headers that carry credentials or describe a dropped body: not sent to another origin, or with no body. */
const CREDENTIAL_HEADERS = ['authorization', 'api-key', 'proxy-authorization', 'cookie'];
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];

/** One request of a chain: what to pass to `fetch`, and where it went. */
export interface Hop {
  input: string | URL | Request;
  init: RequestInit;
  url: URL;
}

/**
 * The first request of a chain, with `redirect: 'manual'` so that fetch hands redirects back, or
 * undefined when the caller did not ask fetch to follow them (then its answer is the caller's).
 * Cheap on purpose: every request goes through it, and few are redirected.
 */
export function firstHop(input: string | URL | Request, init: RequestInit | undefined, url: URL | undefined): Hop | undefined {
  const request = input instanceof Request ? input : undefined;
  if (!url || (init?.redirect ?? request?.redirect ?? 'follow') !== 'follow') return undefined;
  return { input, init: { ...init, redirect: 'manual' }, url };
}

/**
 * The request to send next when `response` redirects `hop` (the `hops`-th redirect so far), or
 * undefined when the answer is final and goes back to the caller.
 */
export function nextHop(response: Response, hop: Hop, hops: number): Hop | undefined {
  if (!REDIRECT_STATUSES.has(response.status)) return undefined;
  const location = response.headers.get('location');
  if (location === null || !URL.canParse(location, hop.url.href)) return undefined;
  const url = new URL(location, hop.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (hops >= MAX_REDIRECTS) throw new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects (last to ${url.origin}${url.pathname})`);
  const request = hop.input instanceof Request ? hop.input : undefined;
  const headers = new Headers(request?.headers);
  for (const [name, value] of new Headers(hop.init.headers)) headers.set(name, value);
  let method = hop.init.method ?? request?.method ?? 'GET';
  // A Request's own body is a stream (read once): it cannot be sent again.
  let body: RequestBody = hop.init.body !== undefined ? hop.init.body : request?.body;
  if ((response.status === 303 && method !== 'GET' && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (!isReplayable(body)) {
    return undefined;
  }
  if (url.origin !== hop.url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  const signal = hop.init.signal ?? request?.signal;
  const init: RequestInit = { ...hop.init, method, headers, body: body ?? null, ...(signal ? { signal } : {}) };
  return { input: url.href, init, url };
}
