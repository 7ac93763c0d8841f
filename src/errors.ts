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
  /**
   * @param method The method that was called.
   * @param message Replaces the default message (e.g. when another process closed the session).
   */
  constructor(method: string, message?: string) {
    super(message ?? `${method}() was called on a closed CodeInterpreterSession; create a new session to go on.`);
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
    const advice =
      typeof status === 'number'
        ? 'Raise `retry.retries` or `retry.maxTimeoutMs`, or lower the request rate.'
        : "The API could not be reached: check the network connection and the client's `baseURL` (OPENAI_BASE_URL); raise `retry.retries` to keep trying longer.";
    super(`${operation} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describeError(options.cause).replace(/\.+$/, '')}. ${advice}`, options);
    this.attempts = attempts;
  }
}

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

/** One line describing any thrown value, for messages and events. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

const KEY_PATTERN = /\b(sk-[A-Za-z0-9_*-]{4})[A-Za-z0-9_*-]{8,}/g;

/**
 * Removes API keys from text: the client's own key wherever it appears, anything shaped like an
 * OpenAI key (`sk-…`) reduced to its first characters, and every other `secrets` value (e.g. the
 * container's domain secrets), whatever its length.
 */
export function redact(text: string, apiKey?: string, secrets: readonly string[] = []): string {
  let out = text;
  if (apiKey && apiKey.length >= 8) out = out.split(apiKey).join('[redacted]');
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out.replace(KEY_PATTERN, '$1…[redacted]');
}

/**
 * Scrubs API keys from an error in place (its message and, for API errors, the echoed body) so
 * that nothing the library rethrows, emits or logs carries the key.
 */
export function redactError<E>(error: E, apiKey?: string, secrets: readonly string[] = []): E {
  if (error instanceof Error) {
    const clean = redact(error.message, apiKey, secrets);
    if (clean !== error.message) Object.defineProperty(error, 'message', { value: clean, configurable: true, writable: true });
    const body = (error as { error?: unknown }).error; // an API error's echoed body, whichever openai copy made it
    if (typeof body === 'object' && body !== null && 'message' in body) {
      if (typeof body.message === 'string') body.message = redact(body.message, apiKey, secrets);
    }
    if (error.cause) redactError(error.cause, apiKey, secrets);
  }
  return error;
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
