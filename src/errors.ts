import { httpErrorOf, isBodyInterrupted, isBrokenAnswer, isConnectionFailure, isCutAnswer, isMalformedAnswer } from './retry/error-shape.js';
import { SecretScrubber, patternScrubber } from './secrets.js';
import { isRedirectFailure } from './transport/redirects.js';

/** Base class of every error this library throws. The underlying error, if any, is `cause`. */
export class CodeInterpreterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Options given to a constructor or method were invalid. Nothing was sent. */
export class InvalidOptionsError extends CodeInterpreterError {
  /** Each problem: the option path (`container.memoryLimit`) and what was expected. */
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(where: string, issues: ReadonlyArray<{ path: string; message: string }>) {
    super(`${where}: ${issues.map((i) => (i.path ? `\`${i.path}\`: ${i.message}` : i.message)).join('; ')}`);
    this.issues = issues;
  }
}

/** The session was closed (before or during the call); create a new one to go on. */
export class SessionClosedError extends CodeInterpreterError {
  /** The method that was refused or cut short, e.g. `upload`. */
  readonly method: string;
  /**
   * @param method The method that was called.
   * @param options A message replacing the default (e.g. when another process closed the session),
   *   or `inFlight` when close() stopped a call already under way, and the `cause`.
   */
  constructor(method: string, options?: string | { cause?: unknown; inFlight?: boolean; message?: string }) {
    const o = typeof options === 'string' ? { message: options } : (options ?? {});
    super(
      o.message ??
        (o.inFlight
          ? `close() was called while ${method}() was in flight, so ${method}() was stopped; create a new session to go on.`
          : `${method}() was called on a closed CodeInterpreterSession; create a new session to go on.`),
      o.cause === undefined ? undefined : { cause: o.cause },
    );
    this.method = method;
  }
}

/**
 * The session store (e.g. Redis) did not answer within its timeout or could not be reached.
 * `cause` is the underlying error (an ioredis error, a timeout). A change that timed out may
 * still have been applied; every change is safe to apply again.
 */
export class StoreUnavailableError extends CodeInterpreterError {
  /** The store operation that failed, e.g. `update (putFile)`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}

/**
 * `close()` could not clean up everything: what it knows it left behind is listed, so that it
 * can be deleted by hand (or `close()` called again later). The individual failures are in
 * `cause` (an `AggregateError`). The session is closed all the same.
 */
export class SessionCleanupError extends CodeInterpreterError {
  /** Containers this session made that are still there (their deletion failed). */
  readonly containerIds: readonly string[];
  /** Files API files this session made that are still there (their deletion failed). */
  readonly fileIds: readonly string[];
  /**
   * Container creates whose answer was lost and that no look-up could settle: a container of
   * that `name` made at or after `createdAfter` (unix seconds) may be running; `candidateIds`
   * are the running ones found (for a name you set, the session cannot tell them from others').
   */
  readonly unconfirmedContainers: ReadonlyArray<{ name: string; createdAfter: number; candidateIds: readonly string[] }>;
  /** Uploads whose answer was lost and that no look-up could settle, in the same form. */
  readonly unconfirmedFiles: ReadonlyArray<{ name: string; createdAfter: number; candidateIds: readonly string[] }>;

  constructor(
    left: {
      containerIds: readonly string[];
      fileIds: readonly string[];
      unconfirmedContainers: ReadonlyArray<{ name: string; createdAfter: number; candidateIds: readonly string[] }>;
      unconfirmedFiles: ReadonlyArray<{ name: string; createdAfter: number; candidateIds: readonly string[] }>;
    },
    errors: readonly unknown[],
  ) {
    const parts = [
      left.containerIds.length > 0 && `containers ${left.containerIds.join(', ')}`,
      left.fileIds.length > 0 && `Files API files ${left.fileIds.join(', ')}`,
      ...left.unconfirmedContainers.map(
        (u) =>
          `a container named '${u.name}' created after ${new Date(u.createdAfter * 1000).toISOString()} whose create answer was lost` +
          (u.candidateIds.length > 0 ? ` (maybe ${u.candidateIds.join(', ')})` : ''),
      ),
      ...left.unconfirmedFiles.map(
        (u) =>
          `a Files API file '${u.name}' uploaded after ${new Date(u.createdAfter * 1000).toISOString()} whose answer was lost` +
          (u.candidateIds.length > 0 ? ` (maybe ${u.candidateIds.join(', ')})` : ''),
      ),
    ].filter((p): p is string => typeof p === 'string');
    super(
      `close() could not clean up everything; left behind: ${parts.join('; ') || 'nothing known'}` +
        (errors.length > 0 ? ` (${errors.map(describeError).join('; ')})` : '') +
        '. Delete them by hand (the ids are on this error); a container also stops billing when it expires after its idle minutes.',
      { cause: new AggregateError(errors, 'close() cleanup failures') },
    );
    this.containerIds = left.containerIds;
    this.fileIds = left.fileIds;
    this.unconfirmedContainers = left.unconfirmedContainers;
    this.unconfirmedFiles = left.unconfirmedFiles;
  }
}

/** The container expired and could not be brought back (or recovery was turned off). */
export class ContainerExpiredError extends CodeInterpreterError {
  readonly containerId: string;
  constructor(containerId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.containerId = containerId;
  }
}

/** A request kept failing with retryable errors until the retry budget (`retry.retries`) was spent. */
export class RetriesExhaustedError extends CodeInterpreterError {
  readonly attempts: number;
  constructor(operation: string, attempts: number, options: { cause: unknown }) {
    const status = (options.cause as { status?: unknown } | null | undefined)?.status;
    const advice = isBodyInterrupted(options.cause)
      ? `${BROKEN_BODY_HINT}, or raise \`retry.retries\` to try more times.`
      : isCutAnswer(options.cause)
        ? `${CUT_ANSWER_HINT}, or raise \`retry.retries\` to try more times.`
        : isMalformedAnswer(options.cause)
          ? `${MALFORMED_ANSWER_HINT}.`
          : typeof status === 'number'
        ? 'Raise `retry.retries` or `retry.maxTimeoutMs`, or lower the request rate.'
        : "The API could not be reached: check the network connection and the client's `baseURL` (OPENAI_BASE_URL); raise `retry.retries` to keep trying longer.";
    super(`${operation} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describeError(options.cause).replace(/\.+$/, '')}. ${advice}`, options);
    this.attempts = attempts;
  }
}

/** What to do about a download whose connection broke mid-body (each attempt starts over). */
const BROKEN_BODY_HINT =
  'The connection broke before the whole file arrived: check the network or any proxy between this process and the API (one that cuts long or large answers)';

/** What to do about an answer whose body broke off after its headers (a JSON answer or an event stream). */
const CUT_ANSWER_HINT =
  "The connection broke after the API's answer began, so the request reached the API and may have been carried out (what a create made is looked for before it is sent again, and deleted by close() if unused): check the network or any proxy between this process and the API (one that cuts long answers)";

/** What to do about an answer that is not the JSON, or not the object, it should be. */
const MALFORMED_ANSWER_HINT =
  "The API answered with a body that is not the JSON or the object asked for: check any proxy, gateway or redirect between this process and the API (the client's `baseURL`). The request may have been carried out: what a create made is looked for and kept, or deleted by close()";

/** A download grew past `maxBytes`; nothing was left on disk. */
export class DownloadTooLargeError extends CodeInterpreterError {
  readonly maxBytes: number;
  readonly fileId: string;
  constructor(fileId: string, maxBytes: number) {
    super(`File ${fileId} is larger than maxBytes (${maxBytes} bytes); raise \`maxBytes\` to download it.`);
    this.fileId = fileId;
    this.maxBytes = maxBytes;
  }
}

/** The API has no such file (in that container). */
export class FileNotFoundError extends CodeInterpreterError {
  readonly fileId: string;
  readonly containerId: string | undefined;
  constructor(fileId: string, containerId: string | undefined, detail: string, options?: { cause?: unknown }) {
    super(`File ${fileId}${containerId ? ` in container ${containerId}` : ''} was not found: ${detail}`, options);
    this.fileId = fileId;
    this.containerId = containerId;
  }
}

/**
 * The API refused a request (a 4xx other than an expiry, or an error that is not retried), or the
 * connection failed (or broke during a download) with retries turned off. The SDK's error is `cause`; its status, code, param
 * and type are copied here (scrubbed of secrets).
 */
export class RequestFailedError extends CodeInterpreterError {
  /** The HTTP status, or undefined for a connection failure. */
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly type: string | undefined;
  /** The `x-request-id` to quote to OpenAI support. */
  readonly requestId: string | undefined;
  /** The library operation that failed, e.g. `responses.create`. */
  readonly operation: string;
  /**
   * @param operation What failed, as the caller knows it (`run()`, `downloadStream()`).
   * @param cause The SDK's (or the transport's) error.
   * @param facts What the failed operation knows about itself that changes the advice:
   *   `handedOver`, the answer's body was being read by the caller, so a break cannot be retried
   *   and the hint says to call `operation` again.
   */
  constructor(operation: string, cause: unknown, facts: { handedOver?: boolean } = {}) {
    const http = httpErrorOf(cause);
    super(`${operation} failed: ${clause(describeError(cause))}. ${requestHint(cause, operation, facts)}`, { cause });
    this.operation = operation;
    this.status = http?.status;
    this.code = http?.code;
    this.param = typeof http?.body?.param === 'string' ? http.body.param : undefined;
    this.type = typeof http?.body?.type === 'string' ? http.body.type : undefined;
    const requestId = (cause as { requestID?: unknown } | undefined)?.requestID;
    this.requestId = typeof requestId === 'string' ? requestId : (http?.header('x-request-id') ?? undefined);
  }
}

/** What an operation tells {@link toLibraryError} about itself when that changes the advice for a failed request. */
export interface RequestFacts {
  /**
   * The answer's body was handed to the caller, who was reading it (a stream returned to them): a
   * break cannot be retried, since part of it was already read, so the hint says to call the
   * operation again rather than to allow retries.
   */
  handedOver?: boolean;
}

/** Failed requests that would have been retried but were sent once: their body was a one-shot stream. */
const sentOnce = new WeakSet<object>();

/**
 * Marks `error` as the failure of a request that the retry policy would have sent again but that
 * was sent once, because its body (a `Readable` or web stream) cannot be sent twice: its hint then
 * says what makes it retryable, not to allow more retries.
 */
export function markSentOnce(error: unknown): void {
  if (error !== null && typeof error === 'object') sentOnce.add(error);
}

const SENT_ONCE_HINT =
  'It was sent once and not retried: its body was a stream, which cannot be sent twice. Upload a file path, bytes or a Blob instead (`upload()` retries those), or call it again with a fresh stream.';

/** What to do about a failed request, by its status (read from the error's shape, whichever openai copy made it). */
function requestHint(error: unknown, operation: string, facts: RequestFacts): string {
  if (error !== null && typeof error === 'object' && sentOnce.has(error)) return SENT_ONCE_HINT;
  if (isRedirectFailure(error)) {
    return "The API's answer was a redirect that cannot be followed (a loop, more than 20, or a Location that is not an http(s) URL): check the client's `baseURL` and any proxy or gateway in between. It was not sent again, since it would be redirected the same way.";
  }
  if (isConnectionFailure(error)) return 'The API could not be reached: check the network and the client\'s `baseURL`, or allow retries (`retry`).';
  if (isBodyInterrupted(error)) {
    if (facts.handedOver) return `${BROKEN_BODY_HINT}, and call ${operation} again (a stream is not retried: part of it was already read).`;
    return `${BROKEN_BODY_HINT}, and try again, or allow retries (\`retry\`) to start over automatically.`;
  }
  if (isCutAnswer(error)) return `${CUT_ANSWER_HINT}; allow retries (\`retry\`) to send it again.`;
  if (isMalformedAnswer(error)) return `${MALFORMED_ANSWER_HINT}; allow retries (\`retry\`) to send it again.`;
  const http = httpErrorOf(error);
  if (!http) return 'Check the options of the call.';
  const { status, code } = http;
  const param = http.body?.param;
  if (status === 401) return 'Check the API key: pass `client: new OpenAI({ apiKey })` or set OPENAI_API_KEY.';
  if (status === 403) return 'The key or project has no access to this model or resource: check its permissions.';
  if (status === 404) return 'The resource does not exist (any more): check the id, or the model name.';
  if (status === 429) return code === 'insufficient_quota' ? 'The quota is used up: add credit or raise the limit in the OpenAI dashboard.' : 'Lower the request rate or raise `retry.retries`.';
  if (status === 400 || status === 422) return `The API rejected the request${typeof param === 'string' ? ` (parameter \`${param}\`)` : ''}: change what the message names (run options, \`request\` passthrough, model).`;
  if (status >= 500) return 'The API failed: try again later, or allow more retries (`retry.retries`).';
  return 'Check the options of the call.';
}

/** A file could not be written: the folder is not usable, or the disk refused. The `fs` error is `cause`. */
export class FileSaveError extends CodeInterpreterError {
  /** The path that could not be written or created. */
  readonly path: string;
  /** The system error code (`ENOTDIR`, `EACCES`, `ENOSPC` …), when there is one. */
  readonly code: string | undefined;
  constructor(message: string, path: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = path;
    this.code = options?.code ?? errnoCode(options?.cause);
  }
}

/**
 * Some files of `saveAll()` could not be saved. Every file was tried (none is left half written);
 * `saved` lists those that were, with their paths, and `failed` the others with their errors.
 */
export class SaveAllError extends CodeInterpreterError {
  readonly saved: ReadonlyArray<{ fileId: string; filename: string; path: string }>;
  readonly failed: ReadonlyArray<{ fileId: string; filename: string; error: CodeInterpreterError }>;
  constructor(
    saved: ReadonlyArray<{ fileId: string; filename: string; path: string }>,
    failed: ReadonlyArray<{ fileId: string; filename: string; error: CodeInterpreterError }>,
  ) {
    const total = saved.length + failed.length;
    super(
      `saveAll(): ${failed.length} of ${total} file${total === 1 ? '' : 's'} could not be saved (${failed
        .map((f) => `${f.filename}: ${f.error.message}`)
        .join('; ')}); ${saved.length} saved (see \`saved\`). Fix the cause and save the failed ones again with saveFile().`,
      { cause: new AggregateError(failed.map((f) => f.error), 'saveAll() failures') },
    );
    this.saved = saved;
    this.failed = failed;
  }
}

/** The errno code of a Node system error (`ENOENT` …), if `error` is one. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * The one way an error leaves the library: as a `CodeInterpreterError` (already one: as it is; an
 * API error: `RequestFailedError`; a file system error: `FileSaveError`; anything else: a
 * `CodeInterpreterError` saying what failed), with the original as `cause`, scrubbed of secrets.
 * An abort is the exception: it rejects with the caller's own `signal.reason`, unchanged.
 *
 * Other modules (the Redis store and limiter) use it with their own `operation` and `hint` (the
 * advice for an error that is not a request's); what a caller knows that changes the advice for a
 * failed request goes in `request` ({@link RequestFacts}).
 */
export function toLibraryError(
  error: unknown,
  context: { operation: string; hint?: string; request?: RequestFacts; signal?: AbortSignal; scrubber?: SecretScrubber },
): unknown {
  const scrubber = context.scrubber ?? patternScrubber;
  // Whatever an abort broke (the SDK reports a timeout signal as a connection error), the caller gets its own reason.
  if (context.signal?.aborted) return context.signal.reason;
  if (error instanceof CodeInterpreterError) return scrubber.error(error);
  scrubber.error(error);
  if (httpErrorOf(error) || isConnectionFailure(error) || isBrokenAnswer(error)) return new RequestFailedError(context.operation, error, context.request);
  const code = errnoCode(error);
  if (code) {
    const path = (error as NodeJS.ErrnoException).path ?? '';
    return new FileSaveError(`${context.operation} failed: ${clause(describeError(error))}. ${context.hint ?? fsHint(code)}`, path, { cause: error, code });
  }
  return new CodeInterpreterError(
    `${context.operation} failed: ${clause(describeError(error))}. ${context.hint ?? 'This is unexpected: please report it with this message.'}`,
    { cause: error },
  );
}

/** What to do about a file system error, by its code. */
export function fsHint(code: string): string {
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return 'A path component is a file, not a folder: pass a `dir` that is a folder or can be created.';
    case 'EACCES':
    case 'EPERM':
      return 'No permission to write there: pass a `dir` this process may write to.';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'The disk is full: free some space or save elsewhere.';
    case 'EROFS':
      return 'The file system is read-only: pass another `dir`.';
    case 'ENAMETOOLONG':
      return 'The path is too long: pass a shorter `dir`.';
    case 'EISDIR':
      return 'A folder is in the way of the file: remove it or pass another `dir`.';
    case 'ENOENT':
      return 'The folder is missing and cannot be made there (removed meanwhile, or a file system that makes no folders there, such as /proc): pass another `dir`.';
    default:
      return 'Check the `dir` given.';
  }
}

/** `text` without its final full stop, to go on with another sentence. */
export function clause(text: string): string {
  return text.replace(/[.\s]+$/, '');
}

/** Any thrown value as an `Error` (for `error` events): itself, or an `Error` with its text. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** One line describing any thrown value, for messages and events. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Removes API keys from text: the given key wherever it appears, anything shaped like an OpenAI
 * key (`sk-…`) or a bearer token, and every other `secrets` value (e.g. the container's domain
 * secrets), whatever its length. (A thin form of {@link SecretScrubber}.)
 */
export function redact(text: string, apiKey?: string, secrets: readonly string[] = []): string {
  return scrubberFor(apiKey, secrets).text(text);
}

/** Scrubs API keys and `secrets` from an error in place (message, stack, body, code, param, headers, causes). */
export function redactError<E>(error: E, apiKey?: string, secrets: readonly string[] = []): E {
  return scrubberFor(apiKey, secrets).error(error);
}

function scrubberFor(apiKey: string | undefined, secrets: readonly string[]): SecretScrubber {
  if (!apiKey && secrets.length === 0) return patternScrubber;
  const scrubber = new SecretScrubber([apiKey]);
  for (const secret of secrets) scrubber.add(secret, { anyLength: true });
  return scrubber;
}

/**
 * The service kept answering 500 for a container file's content, through every retry. Azure
 * OpenAI through Foundry project endpoints is known to do this for files the model generated
 * (microsoft/agent-framework #7598): the file exists, its bytes cannot be fetched that way.
 */
export class FileContentUnavailableError extends CodeInterpreterError {
  readonly fileId: string;
  readonly containerId: string;
  readonly attempts: number;
  constructor(fileId: string, containerId: string, attempts: number, options: { cause: unknown }) {
    super(
      `The service answered 500 for the content of file ${fileId} in container ${containerId} on all ${attempts} attempt${attempts === 1 ? '' : 's'}: ` +
        'the file exists but its bytes cannot be downloaded from the container-file content endpoint (a known persistent failure of ' +
        'Azure OpenAI through Foundry, microsoft/agent-framework #7598), so retrying soon is unlikely to help. Have the model print ' +
        'small results in its answer, or, through a Foundry project endpoint, download with a client on the Azure OpenAI resource endpoint.',
      options,
    );
    this.fileId = fileId;
    this.containerId = containerId;
    this.attempts = attempts;
  }
}
