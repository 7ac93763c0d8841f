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

/** Methods fetch writes in upper case whatever case they were given in (WHATWG Fetch, "normalize"). */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * A redirect that cannot be followed (a loop, a Location that is not an http(s) URL,
 * `redirect: 'error'`): a `TypeError` like fetch's own, marked so that retries leave it alone
 * (sending the request again gets the same answer).
 */
export class RedirectError extends TypeError {
  readonly redirectFailure = true;
  constructor(reason: string) {
    super('fetch failed', { cause: new Error(reason) });
  }
}

/** Whether `error` (or what caused it) is a {@link RedirectError}. */
export function isRedirectFailure(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if ((cause as { redirectFailure?: unknown }).redirectFailure === true) return true;
  }
  return false;
}

/** One request of a chain: what to pass to `fetch`, and where it went. */
export interface Hop {
  input: string | URL | Request;
  init: RequestInit;
  url: URL;
  /** `'error'`: the caller wants a failure rather than a redirect. */
  mode: 'follow' | 'error';
}

/**
 * The first request of a chain, with `redirect: 'manual'` so that fetch hands redirects back, or
 * undefined when the caller asked for them back (`'manual'`) or the URL is one only the given
 * fetch understands. Cheap on purpose: every request goes through it, and few are redirected.
 */
export function firstHop(input: string | URL | Request, init: RequestInit | undefined, url: URL | undefined): Hop | undefined {
  const request = input instanceof Request ? input : undefined;
  const mode = init?.redirect ?? request?.redirect ?? 'follow';
  if (!url || mode === 'manual') return undefined;
  return { input, init: { ...init, redirect: 'manual' }, url, mode };
}

/**
 * The request to send next when `response` redirects `hop` (the `hops`-th redirect so far), or
 * undefined when the answer is final and goes back to the caller. Throws a {@link RedirectError}
 * where fetch would fail.
 */
export function nextHop(response: Response, hop: Hop, hops: number): Hop | undefined {
  if (!REDIRECT_STATUSES.has(response.status)) return undefined;
  const raw = response.headers.get('location');
  if (raw === null) return undefined;
  if (hop.mode === 'error') throw new RedirectError('unexpected redirect');
  const location = Buffer.from(raw, 'latin1').toString('utf8'); // header bytes are UTF-8, as fetch reads them
  if (!URL.canParse(location, hop.url.href)) throw new RedirectError(`invalid redirect URL: ${location}`);
  const url = new URL(location, hop.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RedirectError('URL scheme must be a HTTP(S) scheme');
  if (hops >= MAX_REDIRECTS) throw new RedirectError(`more than ${MAX_REDIRECTS} redirects (last to ${url.origin}${url.pathname})`);
  const request = hop.input instanceof Request ? hop.input : undefined;
  // As fetch: headers given in init replace the Request's own.
  const headers = new Headers(hop.init.headers ?? request?.headers);
  let method = normalizeMethod(hop.init.method ?? request?.method ?? 'GET');
  // A Request's own body is a stream that has been read: it cannot be sent again.
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
  return { input: url.href, init, url, mode: hop.mode };
}
