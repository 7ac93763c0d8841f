import { inspect } from 'node:util';
import type { ClientOptions, OpenAI } from 'openai';
import {
  DownloadOptionsSchema,
  SaveAllOptionsSchema,
  SaveOptionsSchema,
  SignalOptionsSchema,
  CloseOptionsSchema,
  UploadOptionsSchema,
  validateCallOptions,
  validateDir,
  validateFileRef,
  validateSaveAllResult,
  validateUploadSource,
} from './call-options.js';
import type { ContainerInfo } from './container/types.js';
import type { CostSummary } from './cost/types.js';
import { bodyChunks, readableOf } from './downloads/body.js';
import type { DownloadedFile, FileRef } from './downloads/downloads.js';
import type { SaveOptions } from './downloads/save-stream.js';
import { InvalidOptionsError } from './errors.js';
import type { SessionEventName, SessionListener } from './events.js';
import type { UploadOptions } from './files/session-files.js';
import type { ContainerFile, SessionFile, UploadSource } from './files/types.js';
import type { SessionOptions } from './options.js';
import type { SessionStats as RequestCounters } from './retry/request-runner.js';
import type { RunInput } from './runs/conversation.js';
import type { RunEvent } from './runs/events.js';
import type { RunOptions } from './runs/request.js';
import type { RunResult } from './runs/result.js';
import { runTurn, streamTurn, turnSignal, turnStartSeconds } from './runs/turn.js';
import { SessionParts } from './session/parts.js';
import { onCallsSettled } from './session/settled-hook.js';
import { shutdown, type CloseOptions } from './session/shutdown.js';
import type { SessionFetch } from './transport/session-fetch.js';

export type { CloseOptions } from './session/shutdown.js';

/** `session.stats`: request counters, and what the session's containers cost. */
export interface SessionStats extends RequestCounters {
  /** Containers made, minutes alive by memory tier, estimated USD, and what keep-alive added. */
  cost: CostSummary;
}

/**
 * A dependable Code Interpreter session: one container, created when first needed, kept alive
 * while in use, re-created with its files when it expires, and every request under the rate limit.
 *
 * The class only composes the concerns (see docs/architecture.md): `RequestRunner` (limiter +
 * retries), `ContainerLifecycle` (create/adopt/recover), `KeepAlive`, `SessionFiles`,
 * `Conversation` and `RunRecovery` (runs), `Downloads`.
 *
 * @example
 * ```ts
 * await using session = new CodeInterpreterSession({ model: 'gpt-5' });
 * await session.upload('./sales.csv');
 * const result = await session.run('Total revenue by region, as a chart');
 * await session.saveAll(result, './out');
 * ```
 */
export class CodeInterpreterSession implements AsyncDisposable {
  /** The session id (`sessionId`, or a generated UUID). */
  readonly id: string;

  /**
   * A `fetch` that gives any OpenAI client the session's guarantees:
   * `new OpenAI({ fetch: session.fetch })`, `createOpenAI({ fetch: session.fetch })`.
   *
   * - Every request takes a slot from the session's rate limiter when it is sent and is retried
   *   with the session's retry policy (so give the client `maxRetries: 0`).
   * - A `code_interpreter` tool in a Responses request whose container is
   *   `SESSION_CONTAINER`, `{ type: "auto" }` (its `file_ids` are attached to the session) or
   *   a container of this session is bound to the session's container, created on first need.
   * - When that container has expired, it is re-created with its files and the request is sent
   *   once more with the new id; history that names the dead container (`code_interpreter_call`
   *   items, `item_reference`s to them, a `previous_response_id` chain this session has seen) is
   *   rewritten: stale code calls dropped, the chain expanded into explicit items, and a note tells
   *   the model its files were restored and its Python state reset.
   *
   * Otherwise requests and answers pass through unchanged: the client sees what it would have
   * seen, except that it stops failing.
   *
   * Made on first access (the same function every time after), so sessions that never use it
   * (a pool of thousands) do not carry it.
   */
  get fetch(): SessionFetch {
    return (this.sessionFetch ??= this.parts.createFetch());
  }

  private sessionFetch: SessionFetch | undefined;
  private readonly parts: SessionParts;

  constructor(options: SessionOptions) {
    this.parts = new SessionParts(options);
    this.id = this.parts.id;
  }

  /** The current container's id, once there is one. */
  get containerId(): string | undefined {
    return this.parts.lifecycle.containerId;
  }

  /**
   * An OpenAI client configured like the session's (key, base URL, organization, headers) whose
   * requests all go through {@link fetch}, with its own retries off (the session retries). Hand it
   * to a framework: `setDefaultOpenAIClient(session.createClient())`.
   */
  createClient(options: Omit<ClientOptions, 'fetch'> = {}): OpenAI {
    return this.parts.client.withOptions({ ...options, maxRetries: 0, fetch: this.fetch });
  }

  /** Counters since the session was made, and the cost of its containers so far (a copy). */
  get stats(): Readonly<SessionStats> {
    return { ...this.parts.counters, cost: this.parts.cost.summary() };
  }

  /** When a method of the session was last called (epoch ms); a pool closes sessions idle past its `idleMs`. */
  get lastUsedAt(): number {
    return this.parts.calls.lastUsedAt;
  }

  /**
   * Calls of the session in flight now: methods running (`run()`, `upload()`, `download()`, …), a
   * `stream()` until it ends (the time between its events included), and a {@link fetch} or a
   * {@link downloadStream} until its body is read to the end, cancelled or broken. A pool never
   * evicts or sweeps a session with calls in flight.
   */
  get callsInFlight(): number {
    return this.parts.calls.inFlight.count;
  }

  /** @internal Runs `listener` each time the last call in flight ends; returns a function that stops it. */
  [onCallsSettled](listener: () => void): () => void {
    return this.parts.calls.inFlight.onSettled(listener);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.parts.calls.closed;
  }

  /** The files the session tracks and restores into every new container. */
  get trackedFiles(): readonly SessionFile[] {
    return [...this.parts.files.tracked];
  }

  on<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    this.parts.events.on(event, listener);
    return this;
  }

  off<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    this.parts.events.off(event, listener);
    return this;
  }

  /** Creates (or adopts) the container now instead of on first need. */
  start(opts: { signal?: AbortSignal } = {}): Promise<ContainerInfo> {
    const { calls, lifecycle } = this.parts;
    return calls.call('start', () => validateCallOptions('start', SignalOptionsSchema, opts).signal, (signal) => lifecycle.start(signal));
  }

  /** Uploads a file once to the Files API and puts it in the container; it comes back after expiry. */
  upload(source: UploadSource, opts: UploadOptions = {}): Promise<SessionFile> {
    const { calls, files } = this.parts;
    return calls.call(
      'upload',
      () => {
        validateUploadSource(source);
        return validateCallOptions('upload', UploadOptionsSchema, opts).signal;
      },
      async (signal) => files.upload(await files.prepare(source, opts), { ...opts, signal }),
    );
  }

  /** Tracks an existing Files API file (`file-…`) and puts it in the container. */
  attachFile(fileId: string, opts: { signal?: AbortSignal } = {}): Promise<SessionFile> {
    const { calls, files } = this.parts;
    return calls.call('attachFile', () => validateCallOptions('attachFile', SignalOptionsSchema, opts).signal, (signal) => {
      if (typeof fileId !== 'string' || fileId === '') {
        throw new InvalidOptionsError('attachFile()', [{ path: 'fileId', message: 'expected a Files API id such as "file-abc123"' }]);
      }
      return files.attachFile(fileId, signal);
    });
  }

  /** Every file in the container now. */
  listFiles(opts: { signal?: AbortSignal } = {}): Promise<ContainerFile[]> {
    const { calls, files } = this.parts;
    return calls.call('listFiles', () => validateCallOptions('listFiles', SignalOptionsSchema, opts).signal, (signal) => files.list(signal));
  }

  /** Runs one turn: the model answers, running code in the container as it sees fit. */
  run(input: RunInput, opts: RunOptions = {}): Promise<RunResult> {
    const startedAtSeconds = turnStartSeconds();
    return this.parts.calls.call('run', () => turnSignal('run', input, opts), (signal) => runTurn(this.parts, input, opts, startedAtSeconds, signal));
  }

  /** Like {@link run}, yielding text and code as they come; the last event is `{ type: 'result', result }`. */
  stream(input: RunInput, opts: RunOptions = {}): AsyncGenerator<RunEvent, void, undefined> {
    let startedAtSeconds = 0;
    const prepare = () => {
      startedAtSeconds = turnStartSeconds();
      return turnSignal('stream', input, opts);
    };
    return this.parts.calls.stream('stream', prepare, (signal) => streamTurn(this.parts, input, opts, startedAtSeconds, signal));
  }

  /** A generated file, whole, in memory. */
  download(ref: FileRef, opts: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<DownloadedFile> {
    const { calls, downloads } = this.parts;
    return calls.call(
      'download',
      () => {
        validateFileRef('download', ref);
        return validateCallOptions('download', DownloadOptionsSchema, opts).signal;
      },
      (signal) => downloads.download(ref, { ...opts, signal }),
    );
  }

  /** A generated file as a web stream (e.g. to pipe into an HTTP response). */
  downloadStream(ref: FileRef, opts: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    const { calls, downloads } = this.parts;
    return calls.call(
      'downloadStream',
      () => {
        validateFileRef('downloadStream', ref);
        return validateCallOptions('downloadStream', SignalOptionsSchema, opts).signal;
      },
      async (signal) => {
        const opened = await downloads.open(ref, signal);
        // Read by the caller after this call returned: a break mid-way reaches the reader as a
        // typed error (not retried: part of the file was already handed over). Until the body is
        // read, cancelled or broken it is a call in flight (a pool never evicts the session).
        const leave = calls.inFlight.enter();
        // Also left when the call's signal aborts (a stream dropped because its caller aborted);
        // the listener goes with the stream, as the signal may be the session's own.
        const end = () => {
          signal.removeEventListener('abort', end);
          leave();
        };
        signal.addEventListener('abort', end, { once: true });
        const mapError = (error: unknown) => calls.error('downloadStream', error, opts.signal, true, { handedOver: true });
        return readableOf(bodyChunks(opened.body, opened.fileId, opened.size, opts.signal), mapError, end);
      },
    );
  }

  /** Streams a generated file into `dir` under a safe name; returns the path written. */
  saveFile(ref: FileRef, dir: string, opts: SaveOptions = {}): Promise<string> {
    const { calls, downloads } = this.parts;
    return calls.call(
      'saveFile',
      () => {
        validateFileRef('saveFile', ref);
        validateDir('saveFile', dir);
        return validateCallOptions('saveFile', SaveOptionsSchema, opts).signal;
      },
      (signal) => downloads.save(ref, dir, { ...opts, signal }),
    );
  }

  /** Saves every file `result` cites (its `files`), then its `generatedFiles` not cited, into `dir`; returns the paths. */
  saveAll(result: Pick<RunResult, 'files' | 'generatedFiles'>, dir: string, opts: SaveOptions & { concurrency?: number } = {}): Promise<string[]> {
    const { calls, downloads } = this.parts;
    return calls.call(
      'saveAll',
      () => {
        validateSaveAllResult(result);
        validateDir('saveAll', dir);
        return validateCallOptions('saveAll', SaveAllOptionsSchema, opts).signal;
      },
      (signal) => downloads.saveAll(result, dir, { ...opts, signal }),
    );
  }

  /** Refreshes the container's idle clock now (if there is a container). */
  touch(): Promise<void> {
    const { calls, lifecycle } = this.parts;
    return calls.call('touch', () => undefined, async () => {
      await lifecycle.touch();
    });
  }

  /**
   * Ends the session: stops timers, stops every call in flight (they reject with
   * `SessionClosedError`) and waits for them, finishes creates and uploads already sent, then
   * deletes the container and the Files API copies the session made (unless told not to). When
   * it cannot delete everything it rejects with `SessionCleanupError`, which lists what was left.
   * Idempotent (a second call returns the same outcome); every other method rejects afterwards
   * with `SessionClosedError`. Options are validated first: a bad option rejects with
   * `InvalidOptionsError` naming it, and the session stays open.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    const { parts } = this;
    return parts.calls.close(
      () => validateCallOptions('close', CloseOptionsSchema, opts), // bad options close nothing
      (options) => shutdown(parts, options),
    );
  }

  /** What `console.log(session)` and `util.inspect(session)` print: no client, no key. */
  [inspect.custom](): string {
    return `CodeInterpreterSession ${inspect(this.toJSON())}`;
  }

  /** A summary safe to log: the id, model, container and whether it is closed. */
  toJSON(): { id: string; model: string; containerId: string | undefined; closed: boolean } {
    return { id: this.id, model: this.parts.options.model, containerId: this.containerId, closed: this.closed };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
