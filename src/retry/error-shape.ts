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
 * An answer that arrived but is not what the request asked for: a create answered with something
 * other than the object it makes (no string `id`, another `object`, an empty body). A redirect
 * followed as a `GET`, a proxy or a gateway answered instead of the API, or a body was cut short.
 * Made by the request runner's check of what a create answered (`SendOptions.creates`).
 */
export class MalformedAnswerError extends Error {
  /** The kind of object the request makes (`container`, `file` …). */
  readonly expected: string;
  constructor(operation: string, expected: string, answer: unknown) {
    super(`${operation} answered ${describeAnswer(answer)}, not the ${expected} it creates`);
    this.name = 'MalformedAnswerError';
    this.expected = expected;
  }
}

function describeAnswer(answer: unknown): string {
  if (answer === undefined || answer === null || answer === '') return 'with an empty body';
  if (!isObject(answer)) return `with ${typeof answer} ${JSON.stringify(answer).slice(0, 40)}`;
  const id = typeof answer.id === 'string' && answer.id !== '';
  if (typeof answer.object === 'string') return `with an object of type '${answer.object}'${id ? '' : ' and no id'}`;
  return 'with an object that has no id';
}

/**
 * An answer whose body is not what it claims to be: not the JSON its content type says (the
 * client's `JSON.parse` threw; a proxy or gateway in between, or a body cut short but framed as
 * whole), or not the object a create makes ({@link MalformedAnswerError}). The request reached the
 * server and may have been carried out: treated like a lost answer (see {@link isBrokenAnswer}).
 */
export function isMalformedAnswer(error: unknown): boolean {
  if (classNames(error).includes('MalformedAnswerError')) return true;
  return error instanceof Error && error.name === 'SyntaxError' && /JSON/.test(error.message);
}

/**
 * An event stream that ended without its last event and without an error: the SDK ends iteration
 * quietly when the body stops at an event's boundary (a connection closed there, or a body cut
 * short). Made where the library reads a stream's first events; a cut answer like the others.
 */
export class StreamEndedError extends Error {
  constructor(events: number) {
    super(`the response stream ended after ${events} event${events === 1 ? '' : 's'}, before its last one (the connection closed early)`);
    this.name = 'StreamEndedError';
  }
}

/**
 * The answer's headers arrived and its body then broke off: the connection was reset or closed
 * mid-body. undici (Node's fetch) reports it as `TypeError: terminated` (its `cause` says why:
 * `other side closed`, a body timeout) to whatever reads the body: the SDK parsing a JSON answer or
 * an event stream. The library's own body readers throw {@link BodyInterruptedError} (downloads)
 * and {@link StreamEndedError} (a stream that ended early).
 */
export function isCutAnswer(error: unknown): boolean {
  if (!isObject(error) || isUserAbort(error)) return false;
  if (isBodyInterrupted(error) || classNames(error).includes('StreamEndedError')) return true;
  return error.name === 'TypeError' && error.message === 'terminated' && httpErrorOf(error) === undefined;
}

/**
 * The request reached the server and its answer began, but the client could not read it whole or
 * it is not what was asked for ({@link isCutAnswer}, {@link isMalformedAnswer}). Like a connection
 * that dropped after the request was sent, the request may have taken effect: what it makes is
 * looked for before it is sent again, and it is retried like a connection failure.
 */
export function isBrokenAnswer(error: unknown): boolean {
  return isCutAnswer(error) || isMalformedAnswer(error);
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
