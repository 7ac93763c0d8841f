/**
 * The one place that tells what kind of failure an error is. It reads the error's shape (HTTP
 * status, headers, the API's error body, class names) and never uses `instanceof`: a client made by
 * another copy of `openai` (its CommonJS build while this library runs as ESM, or a second installed
 * version) throws errors of classes this library never imported, and they must be classified the same.
 */

/** The API's error body: `{"error": {"message", "type", "param", "code"}}` (its inner object). */
export interface ApiErrorBody {
  message?: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}

/** What the library reads from an HTTP error answered by the API. */
export interface HttpErrorShape {
  status: number;
  /** A response header by name (case-insensitive), or null. */
  header(name: string): string | null;
  /** The API's error object, when the answer had one. */
  body: ApiErrorBody | undefined;
  /** The API's own message (from the body), else the error's message. */
  message: string;
  code: string | undefined;
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null;
}

/** The names of the error's classes, most derived first (`['NotFoundError', 'APIError', 'OpenAIError', 'Error']`). */
export function classNames(error: unknown): string[] {
  const names: string[] = [];
  for (let proto = isObject(error) ? Object.getPrototypeOf(error) : null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}

function headerReader(headers: unknown): (name: string) => string | null {
  if (isObject(headers) && typeof headers.get === 'function') {
    return (name) => {
      const value = (headers.get as (n: string) => unknown).call(headers, name);
      return typeof value === 'string' ? value : null;
    };
  }
  if (isObject(headers)) {
    // A plain record (older clients): match names case-insensitively.
    return (name) => {
      const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
      const value = key === undefined ? undefined : headers[key];
      return typeof value === 'string' ? value : null;
    };
  }
  return () => null;
}

/**
 * The HTTP failure `error` describes, from its shape: a numeric `status` (100–599) with the
 * answer's `headers` or the API's `error` body, as every `openai` version's `APIError` has.
 * Undefined for anything else (connection failures, aborts, programming errors).
 */
export function httpErrorOf(error: unknown): HttpErrorShape | undefined {
  if (!isObject(error)) return undefined;
  const status = error.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
  if (!('headers' in error) && !('error' in error)) return undefined;
  const body = isObject(error.error) ? (error.error as ApiErrorBody) : undefined;
  const message = typeof body?.message === 'string' ? body.message : typeof error.message === 'string' ? error.message : '';
  const code = typeof error.code === 'string' ? error.code : typeof body?.code === 'string' ? body.code : undefined;
  return { status, header: headerReader(error.headers), body, message, code };
}

/** The HTTP status of an API error, if `error` is one. */
export function statusOf(error: unknown): number | undefined {
  return httpErrorOf(error)?.status;
}

/** The API answered 404 (no such container, file or response). */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** The caller aborted the request (`APIUserAbortError` of any `openai` copy, or a DOM `AbortError`). */
export function isUserAbort(error: unknown): boolean {
  if (!isObject(error)) return false;
  return classNames(error).includes('APIUserAbortError') || error.name === 'AbortError';
}

const CONNECTION_MESSAGE = /^(Connection error\.|Request timed out\.)$/;

/**
 * The request never got an HTTP answer: `APIConnectionError` / `APIConnectionTimeoutError` of any
 * `openai` copy, recognised by class name or, for bundles that renamed classes, by their shape
 * (no status, no headers, the SDK's message).
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!isObject(error) || isUserAbort(error)) return false;
  const names = classNames(error);
  if (names.includes('APIConnectionError') || names.includes('APIConnectionTimeoutError')) return true;
  return 'status' in error && error.status === undefined && 'headers' in error && error.headers === undefined && typeof error.message === 'string' && CONNECTION_MESSAGE.test(error.message);
}

/**
 * A response body that broke off before its end: the connection was reset or closed after the
 * answer's headers, mid-body (or short of the announced `content-length`). Made where the library
 * reads a body (downloads); retried like a connection failure, from the start.
 */
export class BodyInterruptedError extends Error {
  /** Bytes received before the break. */
  readonly receivedBytes: number;
  /** The size the server announced (`content-length`), when it did. */
  readonly expectedBytes: number | undefined;
  constructor(what: string, receivedBytes: number, expectedBytes: number | undefined, cause: unknown) {
    super(
      `the connection broke during the download of ${what} after ${receivedBytes}${expectedBytes === undefined ? '' : ` of ${expectedBytes}`} bytes (${causeChain(cause)})`,
      { cause },
    );
    this.name = 'BodyInterruptedError';
    this.receivedBytes = receivedBytes;
    this.expectedBytes = expectedBytes;
  }
}

/** A body that broke mid-way ({@link BodyInterruptedError}, by class name like the rest of this module). */
export function isBodyInterrupted(error: unknown): boolean {
  return classNames(error).includes('BodyInterruptedError');
}

/**
 * An answer whose body is not the JSON it claims to be (the client's `JSON.parse` threw): a proxy or
 * gateway in between, or a body cut short. Never retried: the request may have been carried out.
 */
export function isMalformedAnswer(error: unknown): boolean {
  return error instanceof Error && error.name === 'SyntaxError' && /JSON/.test(error.message);
}

/** `terminated: other side closed`: the messages of an error and its causes (fetch's own message says little). */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.includes(message)) parts.push(message);
    if (typeof e !== 'object') break;
  }
  return parts.join(': ') || 'no reason given';
}
