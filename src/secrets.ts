/**
 * The one place secrets are scrubbed. Every string that leaves the library (error messages,
 * stacks, causes, API error bodies, `code`, `param`, headers, event payloads, stream events,
 * results, download names, CLI output) goes through a {@link SecretScrubber}.
 */

/** What a scrubbed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this (not counting surrounding spaces) are not registered: replacing them everywhere would mangle ordinary text. */
export const MIN_SECRET_LENGTH = 6;

/** Anything shaped like an OpenAI key (`sk-…`, `sk-proj-…`), kept to its first characters. */
const KEY_PATTERN = /\b(sk-[A-Za-z0-9_*-]{4})[A-Za-z0-9_*-]{8,}/g;
/** A bearer token in an echoed `Authorization` header, whatever its shape. */
const BEARER_PATTERN = /\b(Bearer\s+)(?!\[redacted\])[^\s"',;]{6,}/gi;

/** Header names whose values are secrets whatever they contain. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'api-key', 'openai-api-key', 'x-api-key', 'cookie', 'set-cookie']);

/**
 * Removes secrets from strings, errors and plain data. Secrets are registered with {@link add}
 * (the client's API key, a container's domain secrets …); anything shaped like an OpenAI key or a
 * bearer token is scrubbed even when it was never registered.
 */
export class SecretScrubber {
  private readonly secrets = new Set<string>();
  /** Longest first, so a secret that contains another is replaced whole. */
  private ordered: string[] = [];

  constructor(secrets: Iterable<string | null | undefined> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /**
   * Registers a secret. One shorter than {@link MIN_SECRET_LENGTH} is ignored unless `anyLength`
   * (for values the user declared secret, such as domain secrets); an empty one always is.
   */
  add(secret: string | null | undefined, options: { anyLength?: boolean } = {}): this {
    if (typeof secret !== 'string' || secret === '' || this.secrets.has(secret)) return this;
    if (!options.anyLength && secret.trim().length < MIN_SECRET_LENGTH) return this;
    // Also its URL-encoded and JSON-escaped forms, which is how servers often echo it.
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) this.secrets.add(form);
    this.ordered = [...this.secrets].sort((x, y) => y.length - x.length);
    return this;
  }

  /** `text` without any secret. */
  text(text: string): string {
    let out = text;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    if (out.includes('sk-')) out = out.replace(KEY_PATTERN, `$1…${REDACTED}`);
    if (/bearer/i.test(out)) out = out.replace(BEARER_PATTERN, `$1${REDACTED}`);
    return out;
  }

  /**
   * Scrubs `value` in place and returns it: strings inside plain objects, arrays, `Map`s,
   * `Headers` and errors (message, stack, cause, `errors`, and every own property such as an API
   * error's `error` body, `code`, `param` and `headers`). Strings are returned scrubbed.
   */
  value<T>(value: T): T {
    return this.walk(value, new Set()) as T;
  }

  /** Same as {@link value}, for errors (typed for `throw scrubber.error(e)`). */
  error<E>(error: E): E {
    return this.value(error);
  }

  private walk(value: unknown, seen: Set<object>): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return value;
    seen.add(value);
    // Plain data first (results and event payloads are mostly that): no class checks to run.
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const current: unknown = value[i];
        if (typeof current === 'object' ? current !== null : typeof current === 'string') {
          const scrubbed = this.walk(current, seen);
          if (scrubbed !== current) value[i] = scrubbed;
        }
      }
      return value;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      this.walkOwn(value, seen);
      return value;
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Blob) return value; // file contents are the caller's data
    if (typeof ReadableStream !== 'undefined' && value instanceof ReadableStream) return value;
    if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) return value;
    if (isHeaders(value)) return scrubHeaders(value, (text) => this.text(text));
    if (value instanceof Map) {
      for (const [key, entry] of value) value.set(key, SECRET_HEADERS.has(String(key).toLowerCase()) ? REDACTED : this.walk(entry, seen));
      return value;
    }
    if (!(value instanceof Error)) return value; // class instances we do not know (clients, streams, sets): left alone
    // `stack` is an accessor on V8 errors, and `message` may live on the prototype: read and set them.
    for (const key of ['message', 'stack'] as const) {
      const current = value[key];
      if (typeof current !== 'string') continue;
      const clean = this.text(current);
      if (clean === current) continue;
      try {
        Object.defineProperty(value, key, { value: clean, configurable: true, writable: true, enumerable: false });
      } catch {
        // a frozen error
      }
    }
    if ('cause' in value && !Object.prototype.hasOwnProperty.call(value, 'cause')) this.walk(value.cause, seen);
    this.walkOwn(value, seen, true);
    return value;
  }

  /** Every own data property of a plain object or an error (not `message`/`stack` of an error, done above). */
  private walkOwn(value: object, seen: Set<object>, error = false): void {
    // Names, then symbols: the order of `Reflect.ownKeys`, at a third of its cost on V8.
    for (const key of Object.getOwnPropertyNames(value)) {
      if (error && (key === 'message' || key === 'stack')) continue;
      this.walkProperty(value, key, seen);
    }
    for (const key of Object.getOwnPropertySymbols(value)) this.walkProperty(value, key, seen);
  }

  private walkProperty(value: object, key: string | symbol, seen: Set<object>): void {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (!descriptor || !('value' in descriptor)) return; // an accessor is not called
    const current: unknown = descriptor.value;
    if (typeof current === 'object' ? current === null : typeof current !== 'string') return; // nothing to scrub in numbers, booleans…
    const scrubbed = typeof key === 'string' && typeof current === 'string' && SECRET_HEADERS.has(key.toLowerCase()) ? REDACTED : this.walk(current, seen);
    if (scrubbed === current) return;
    try {
      if (descriptor.writable) (value as Record<string | symbol, unknown>)[key] = scrubbed;
      else Object.defineProperty(value, key, { value: scrubbed, configurable: true, writable: true, enumerable: descriptor.enumerable ?? false });
    } catch {
      // a frozen object: nothing we can do in place
    }
  }
}

function isHeaders(value: object): value is Headers {
  return typeof Headers !== 'undefined' && value instanceof Headers;
}

/** What a header whose name held a secret is renamed to (a valid header name). */
const REDACTED_HEADER = 'x-redacted';

/**
 * `headers` without secrets, in names and values: scrubbed in place, or, when they are immutable
 * (a `Response`'s, which is what the SDK's errors carry as `headers`), a scrubbed copy that the
 * caller puts in their place.
 */
function scrubHeaders(headers: Headers, text: (s: string) => string): Headers {
  const entries: Array<[string, string]> = [];
  let dirty = false;
  headers.forEach((v, k) => {
    const name = text(k) === k ? k : REDACTED_HEADER;
    const clean = SECRET_HEADERS.has(k) ? REDACTED : text(v);
    if (clean !== v || name !== k) dirty = true;
    entries.push([name, clean]);
  });
  if (!dirty) return headers;
  try {
    for (const name of new Set(headers.keys())) headers.delete(name);
  } catch {
    return new Headers(entries); // immutable: nothing was deleted
  }
  for (const [k, v] of entries) headers.append(k, v);
  return headers;
}

/** Scrubs only what looks like a key (no registered secrets): for text made before any client exists. */
export const patternScrubber = new SecretScrubber();
