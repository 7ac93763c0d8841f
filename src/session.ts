import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import OpenAI, { type ClientOptions } from 'openai';
import { combineSignals, raceSignal } from './abort.js';
import { resolvePrices } from './cost/prices.js';
import { CostTracker } from './cost/tracker.js';
import type { CostSummary } from './cost/types.js';
import { KeepAlive, KEEP_ALIVE_IDLE_TIMEOUT_MS, defaultTouchIntervalMs, keepAliveLeaseMs } from './container/keep-alive.js';
import { ContainerLifecycle } from './container/lifecycle.js';
import { containerSecrets, type ContainerInfo } from './container/types.js';
import { Downloads, type DownloadedFile, type FileRef } from './downloads/downloads.js';
import { bodyChunks, readableOf } from './downloads/body.js';
import type { SaveOptions } from './downloads/save-stream.js';
import {
  CodeInterpreterError,
  ContainerExpiredError,
  FileNotFoundError,
  InvalidOptionsError,
  SessionCleanupError,
  SessionClosedError,
  describeError,
  redact,
  toLibraryError,
  type RequestFacts,
} from './errors.js';
import { TypedEmitter, type SessionEventName, type SessionListener } from './events.js';
import { generatedDuring, wantsGeneratedListing } from './files/generated-files.js';
import { persistGeneratedFiles } from './files/persist-generated.js';
import { SessionFiles, type UploadOptions } from './files/session-files.js';
import type { ContainerFile, SessionFile, UploadSource } from './files/types.js';
import {
  CloseOptionsSchema,
  DownloadOptionsSchema,
  RunOptionsSchema,
  SaveAllOptionsSchema,
  SaveOptionsSchema,
  SignalOptionsSchema,
  UploadOptionsSchema,
  validateCallOptions,
  validateDir,
  validateFileRef,
  validateRunInput,
  validateSaveAllResult,
  validateRunFiles,
  validateUploadSource,
} from './call-options.js';
import { validateSessionOptions, type SessionOptions } from './options.js';
import { defaultRateLimiter } from './ratelimit/sliding-window.js';
import { RETRY_DEFAULTS } from './retry/policy.js';
import { RequestRunner, emptyStats, type SessionStats as RequestCounters } from './retry/request-runner.js';
import { RunRecovery } from './runs/run-recovery.js';
import { Conversation, type RunInput } from './runs/conversation.js';
import { HistoryLedger } from './runs/history.js';
import { createSessionFetch, type SessionFetch } from './transport/session-fetch.js';
import type { RunEvent } from './runs/events.js';
import { refuseBackground, type RunOptions } from './runs/request.js';
import type { RunResult } from './runs/result.js';
import { InFlightCalls } from './session/in-flight.js';
import { StateHolder } from './store/state-holder.js';
import { MemorySessionStore } from './store/memory-store.js';
import type { SessionState } from './store/types.js';

/** `session.stats`: request counters, and what the session's containers cost. */
export interface SessionStats extends RequestCounters {
  /** Containers made, minutes alive by memory tier, estimated USD, and what keep-alive added. */
  cost: CostSummary;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** Delete the container. @default true */
  deleteContainer?: boolean;
  /** Delete the Files API copies this session made (uploads, persisted generated files). @default true */
  deleteFiles?: boolean;
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
    // Each request is a call of the session: close() aborts it and waits for it (body included).
    return (this.sessionFetch ??= this.calls.fetch.bind(this.calls, this.createFetch()));
  }

  private createFetch(): SessionFetch {
    return createSessionFetch({
      sessionId: this.id,
      runner: this.runner,
      lifecycle: this.lifecycle,
      ledger: this.ledger,
      begin: () => this.begin('fetch'),
      attachFile: (fileId, signal) => this.files.attachFile(fileId, signal),
      restoredFilenames: () => this.files.tracked.map((f) => f.filename),
    });
  }

  private sessionFetch: SessionFetch | undefined;
  private readonly ledger = new HistoryLedger();

  private readonly options: SessionOptions;
  private readonly client: OpenAI;
  private readonly events = new TypedEmitter();
  private readonly counters: RequestCounters = emptyStats();
  private readonly cost: CostTracker;
  private readonly state: StateHolder;
  private readonly runner: RequestRunner;
  private readonly lifecycle: ContainerLifecycle;
  private readonly keepAlive: KeepAlive | undefined;
  private readonly files: SessionFiles;
  private readonly downloads: Downloads;
  private readonly runs: RunRecovery;
  private loaded: Promise<unknown> | undefined;
  /**
   * This session object's name for the store's keep-alive lease. From one native call: a
   * `randomUUID()` is built by concatenation and kept as ~20 string pieces (~600 bytes a session).
   */
  private readonly leaseHolder = `${process.pid}-${randomBytes(16).toString('hex')}`;
  private closing: Promise<void> | undefined;
  private readonly calls = new InFlightCalls();
  private usedAt = Date.now();

  constructor(options: SessionOptions) {
    this.options = validateSessionOptions(options);
    const client = this.options.client ?? defaultClient();
    this.id = this.options.sessionId ?? randomUUID();
    this.state = new StateHolder(this.options.store ?? new MemorySessionStore(), this.id, () => {
      // Closed by another process: stop touching, and make no container from now on.
      this.keepAlive?.stop();
      this.lifecycle.close();
    });
    const given = this.options.retry;
    const retry =
      given === false
        ? false
        : {
            retries: given?.retries ?? RETRY_DEFAULTS.retries,
            minTimeoutMs: given?.minTimeoutMs ?? RETRY_DEFAULTS.minTimeoutMs,
            maxTimeoutMs: given?.maxTimeoutMs ?? RETRY_DEFAULTS.maxTimeoutMs,
          };
    this.cost = new CostTracker(resolvePrices(this.options.pricing));
    this.client = client;
    this.runner = new RequestRunner(client, this.options.rateLimiter ?? defaultRateLimiter(), retry, this.events, this.counters, containerSecrets(this.options.container));
    this.events.scrubber = this.runner.scrubber;

    const keepAliveOptions = this.options.keepAlive;
    this.lifecycle = new ContainerLifecycle({
      runner: this.runner,
      state: this.state,
      events: this.events,
      options: this.options.container ?? {},
      defaultName: `code-interpreter-session-${this.id.slice(0, 36)}`,
      onActivity: (kind = 'work') => this.noteContainerActivity(kind),
      cost: this.cost,
    });
    this.keepAlive =
      keepAliveOptions === false
        ? undefined
        : new KeepAlive(
            {
              intervalMs: () => this.touchIntervalMs(),
              idleTimeoutMs: () => {
                const timeMs = keepAliveOptions?.idleTimeoutMs ?? KEEP_ALIVE_IDLE_TIMEOUT_MS;
                const budget = keepAliveOptions?.maxIdleCostUsd;
                return budget === undefined ? timeMs : Math.min(timeMs, this.cost.idleBudgetMs(this.lifecycle.containerId, budget));
              },
            },
            (idleMs) => this.keepAliveTouch(idleMs),
          );
    this.files = new SessionFiles({ runner: this.runner, lifecycle: this.lifecycle, state: this.state, events: this.events });
    this.downloads = new Downloads({
      runner: this.runner,
      lifecycle: this.lifecycle,
      state: this.state,
      onActivity: () => this.noteContainerActivity('work'),
    });
    const ledger = this.ledger;
    this.events.on('container.expired', ({ containerId }) => ledger.noteDead(containerId));
    this.runs = new RunRecovery({
      runner: this.runner,
      lifecycle: this.lifecycle,
      ledger,
      conversation: new Conversation(this.state),
      state: this.state,
      model: this.options.model,
      instructions: this.options.instructions,
    });
  }

  /** The current container's id, once there is one. */
  get containerId(): string | undefined {
    return this.lifecycle.containerId;
  }

  /**
   * An OpenAI client configured like the session's (key, base URL, organization, headers) whose
   * requests all go through {@link fetch}, with its own retries off (the session retries). Hand it
   * to a framework: `setDefaultOpenAIClient(session.createClient())`.
   */
  createClient(options: Omit<ClientOptions, 'fetch'> = {}): OpenAI {
    return this.client.withOptions({ ...options, maxRetries: 0, fetch: this.fetch });
  }

  /** Counters since the session was made, and the cost of its containers so far (a copy). */
  get stats(): Readonly<SessionStats> {
    return { ...this.counters, cost: this.cost.summary() };
  }

  /** When a method of the session was last called (epoch ms); a pool closes sessions idle past its `idleMs`. */
  get lastUsedAt(): number {
    return this.usedAt;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** The files the session tracks and restores into every new container. */
  get trackedFiles(): readonly SessionFile[] {
    return [...this.files.tracked];
  }

  on<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    this.events.off(event, listener);
    return this;
  }

  /** Creates (or adopts) the container now instead of on first need. */
  start(opts: { signal?: AbortSignal } = {}): Promise<ContainerInfo> {
    return this.call('start', () => validateCallOptions('start', SignalOptionsSchema, opts).signal, (signal) => this.lifecycle.start(signal));
  }

  /** Uploads a file once to the Files API and puts it in the container; it comes back after expiry. */
  upload(source: UploadSource, opts: UploadOptions = {}): Promise<SessionFile> {
    return this.call(
      'upload',
      () => {
        validateUploadSource(source);
        return validateCallOptions('upload', UploadOptionsSchema, opts).signal;
      },
      async (signal) => this.files.upload(await this.files.prepare(source, opts), { ...opts, signal }),
    );
  }

  /** Tracks an existing Files API file (`file-…`) and puts it in the container. */
  attachFile(fileId: string, opts: { signal?: AbortSignal } = {}): Promise<SessionFile> {
    return this.call('attachFile', () => validateCallOptions('attachFile', SignalOptionsSchema, opts).signal, (signal) => {
      if (typeof fileId !== 'string' || fileId === '') {
        throw new InvalidOptionsError('attachFile()', [{ path: 'fileId', message: 'expected a Files API id such as "file-abc123"' }]);
      }
      return this.files.attachFile(fileId, signal);
    });
  }

  /** Every file in the container now. */
  listFiles(opts: { signal?: AbortSignal } = {}): Promise<ContainerFile[]> {
    return this.call('listFiles', () => validateCallOptions('listFiles', SignalOptionsSchema, opts).signal, (signal) => this.files.list(signal));
  }

  /** Runs one turn: the model answers, running code in the container as it sees fit. */
  run(input: RunInput, opts: RunOptions = {}): Promise<RunResult> {
    // For generatedFiles when a response has no created_at; a little early, for clock skew.
    const startedAtSeconds = Math.floor(Date.now() / 1000) - 5;
    return this.call('run', () => this.runSignal('run', input, opts), async (signal) => {
      await this.uploadRunFiles('run', opts, signal);
      const prepared = await this.files.prepareInput('run()', input, signal);
      let result: RunResult | undefined;
      try {
        result = await this.runs.run(prepared.input, opts, signal);
      } finally {
        await this.files.trackInputFiles(prepared.files, result?.containerId);
      }
      await this.afterRun(result, opts, startedAtSeconds, signal);
      return result;
    });
  }

  /** Like {@link run}, yielding text and code as they come; the last event is `{ type: 'result', result }`. */
  async *stream(input: RunInput, opts: RunOptions = {}): AsyncGenerator<RunEvent, void, undefined> {
    const startedAtSeconds = Math.floor(Date.now() / 1000) - 5;
    let caller: AbortSignal | undefined;
    try {
      caller = this.runSignal('stream', input, opts); // bad input is refused before anything is sent
    } catch (error) {
      throw this.publicError('stream', error, undefined, false);
    }
    const signal = this.calls.signalFor(caller);
    let started = false;
    const events = async function* (this: CodeInterpreterSession): AsyncGenerator<RunEvent, void, undefined> {
      await this.begin('stream', signal);
      started = true;
      await this.uploadRunFiles('stream', opts, signal);
      const prepared = await this.files.prepareInput('stream()', input, signal);
      let containerId: string | undefined;
      try {
        for await (const event of this.runs.stream(prepared.input, opts, signal)) {
          if (event.type === 'result') {
            containerId = event.result.containerId;
            await this.files.trackInputFiles(prepared.files, containerId);
            await this.afterRun(event.result, opts, startedAtSeconds, signal);
          }
          yield this.runner.scrubber.value(event);
        }
      } finally {
        if (containerId === undefined) await this.files.trackInputFiles(prepared.files, undefined);
      }
    }.call(this);
    // Each step counts as a call in flight for close() (not the time the caller spends between events).
    try {
      for (;;) {
        const step = await this.calls.run('stream', caller, () => events.next());
        if (step.done) return;
        yield step.value;
      }
    } catch (error) {
      throw this.publicError('stream', error, caller, started);
    } finally {
      await events.return();
    }
  }


  /** A generated file, whole, in memory. */
  download(ref: FileRef, opts: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<DownloadedFile> {
    return this.call(
      'download',
      () => {
        validateFileRef('download', ref);
        return validateCallOptions('download', DownloadOptionsSchema, opts).signal;
      },
      (signal) => this.downloads.download(ref, { ...opts, signal }),
    );
  }

  /** A generated file as a web stream (e.g. to pipe into an HTTP response). */
  downloadStream(ref: FileRef, opts: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    return this.call(
      'downloadStream',
      () => {
        validateFileRef('downloadStream', ref);
        return validateCallOptions('downloadStream', SignalOptionsSchema, opts).signal;
      },
      async (signal) => {
        const opened = await this.downloads.open(ref, signal);
        // Read by the caller after this call returned: a break mid-way reaches the reader as a
        // typed error (not retried: part of the file was already handed over).
        return readableOf(bodyChunks(opened.body, opened.fileId, opened.size, opts.signal), (error) => this.publicError('downloadStream', error, opts.signal, true, { handedOver: true }));
      },
    );
  }

  /** Streams a generated file into `dir` under a safe name; returns the path written. */
  saveFile(ref: FileRef, dir: string, opts: SaveOptions = {}): Promise<string> {
    return this.call(
      'saveFile',
      () => {
        validateFileRef('saveFile', ref);
        validateDir('saveFile', dir);
        return validateCallOptions('saveFile', SaveOptionsSchema, opts).signal;
      },
      (signal) => this.downloads.save(ref, dir, { ...opts, signal }),
    );
  }

  /** Saves every file `result` cites (its `files`), then its `generatedFiles` not cited, into `dir`; returns the paths. */
  saveAll(result: Pick<RunResult, 'files' | 'generatedFiles'>, dir: string, opts: SaveOptions & { concurrency?: number } = {}): Promise<string[]> {
    return this.call(
      'saveAll',
      () => {
        validateSaveAllResult(result);
        validateDir('saveAll', dir);
        return validateCallOptions('saveAll', SaveAllOptionsSchema, opts).signal;
      },
      (signal) => this.downloads.saveAll(result, dir, { ...opts, signal }),
    );
  }

  /** Refreshes the container's idle clock now (if there is a container). */
  touch(): Promise<void> {
    return this.call('touch', () => undefined, async () => {
      await this.lifecycle.touch();
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
    let options: CloseOptions;
    try {
      options = validateCallOptions('close', CloseOptionsSchema, opts); // bad options close nothing
    } catch (error) {
      return Promise.reject(this.publicError('close', error, undefined, false));
    }
    this.closing ??= this.shutdown(options).catch((error: unknown) => {
      throw toLibraryError(error, { operation: 'close()', scrubber: this.runner.scrubber });
    });
    return this.closing;
  }

  /** What `console.log(session)` and `util.inspect(session)` print: no client, no key. */
  [inspect.custom](): string {
    return `CodeInterpreterSession ${inspect(this.toJSON())}`;
  }

  /** A summary safe to log: the id, model, container and whether it is closed. */
  toJSON(): { id: string; model: string; containerId: string | undefined; closed: boolean } {
    return { id: this.id, model: this.options.model, containerId: this.containerId, closed: this.closing !== undefined };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Every public method runs here: its input validated first (nothing is sent for bad input),
   * refused after close(), its result scrubbed of secrets, and any
   * error turned into a `CodeInterpreterError` (see {@link publicError}).
   */
  private async call<T>(method: string, prepare: () => AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let caller: AbortSignal | undefined;
    try {
      caller = prepare(); // validation: bad input is refused before anything is sent
    } catch (error) {
      throw this.publicError(method, error, undefined, false);
    }
    // The call runs with the caller's signal and close()'s (see InFlightCalls): close() stops it and waits for it.
    const signal = this.calls.signalFor(caller);
    let started = false;
    try {
      return await this.calls.run(method, caller, async () => {
        await this.begin(method, signal);
        started = true;
        return this.runner.scrubber.value(await fn(signal));
      });
    } catch (error) {
      throw this.publicError(method, error, caller, started);
    }
  }

  /**
   * A run's `files`, uploaded (and tracked) before its request. Each is checked (its name, a path's
   * file) before the first is sent, and errors name `method` and the option (`files.1`).
   */
  private async uploadRunFiles(method: 'run' | 'stream', opts: RunOptions, signal: AbortSignal | undefined): Promise<void> {
    const sources = opts.files ?? [];
    const prepared = await Promise.all(sources.map((source, i) => this.files.prepare(source, {}, { method: `${method}()`, path: `files.${i}` })));
    for (const upload of prepared) await this.files.upload(upload, signal ? { signal } : {});
  }

  /** Validates a run's input and options; the signal of its `signal` and `timeoutMs`. */
  private runSignal(method: 'run' | 'stream', input: unknown, opts: RunOptions): AbortSignal | undefined {
    validateRunInput(method, input);
    const options = validateCallOptions(method, RunOptionsSchema, opts);
    validateRunFiles(method, opts.files, input); // file names and input_file parts: refused before anything is sent
    refuseBackground(opts, method); // background runs would outlive keep-alive: refused before anything is sent
    return combineSignals(options.signal, options.timeoutMs);
  }

  /**
   * The error a public method rejects with: an abort rejects with the caller's `signal.reason`;
   * a failure caused by close() running meanwhile is a `SessionClosedError` naming the method;
   * anything else is a `CodeInterpreterError` with the original as `cause`, scrubbed of secrets.
   */
  private publicError(method: string, error: unknown, signal: AbortSignal | undefined, started: boolean, request?: RequestFacts): unknown {
    const scrubber = this.runner.scrubber;
    if (signal?.aborted) return toLibraryError(error, { operation: `${method}()`, signal, scrubber });
    const closedMeanwhile =
      started &&
      this.closing !== undefined &&
      (!(error instanceof CodeInterpreterError) || error instanceof SessionClosedError || error instanceof ContainerExpiredError || error instanceof FileNotFoundError);
    if (closedMeanwhile) {
      if (error instanceof SessionClosedError && error.method === method) return scrubber.error(error); // already says so
      return scrubber.error(new SessionClosedError(method, { cause: error, inFlight: true }));
    }
    if (error instanceof SessionClosedError && error.method !== method) {
      // Closed elsewhere (another process sharing the store): its message, the right method.
      return scrubber.error(new SessionClosedError(method, { message: error.message, cause: error }));
    }
    return toLibraryError(error, { operation: `${method}()`, scrubber, ...(request && { request }) });
  }

  private async begin(method: string, signal?: AbortSignal): Promise<void> {
    if (this.closing) throw new SessionClosedError(method);
    this.usedAt = Date.now();
    this.keepAlive?.noteSessionUse();
    if (!this.loaded) {
      // Loaded once; a failed load (store unreachable) is tried again by the next call.
      const loading = this.state.reload();
      this.loaded = loading;
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
    }
    await raceSignal(this.loaded, signal);
  }

  private noteContainerActivity(kind: 'work' | 'touch'): void {
    this.keepAlive?.noteContainerActivity();
    this.cost.active(this.lifecycle.containerId, kind);
  }

  /**
   * After a run: one listing of the container at most, shared by `result.generatedFiles` (when
   * {@link RunOptions.listGeneratedFiles} asks for it) and `persistGeneratedFiles`.
   */
  private async afterRun(result: RunResult, opts: RunOptions, startedAtSeconds: number, signal: AbortSignal | undefined): Promise<void> {
    const list = wantsGeneratedListing(opts.listGeneratedFiles ?? 'auto', result);
    const persist = this.options.persistGeneratedFiles === true;
    if (!list && !persist) return;
    let listing: ContainerFile[] | undefined;
    try {
      listing = await this.files.list(signal);
    } catch (caught) {
      if (signal?.aborted) throw caught;
      // The run's answer is good (and in the conversation): return it without generatedFiles,
      // and report why. With persistGeneratedFiles, the files it cites are still copied.
      const error = caught instanceof Error ? caught : new Error(String(caught));
      this.events.emit('error', { operation: persist ? 'persistGeneratedFiles' : 'listGeneratedFiles', error });
      if (persist) result.persistErrors = [{ containerId: result.containerId, error }];
    }
    if (list && listing) result.generatedFiles = generatedDuring(listing, result, startedAtSeconds);
    if (persist) await persistGeneratedFiles({ runner: this.runner, files: this.files, downloads: this.downloads, events: this.events }, result, signal, listing ?? []);
  }

  private touchIntervalMs(): number {
    const given = this.options.keepAlive;
    return (given ? given.intervalMs : undefined) ?? defaultTouchIntervalMs(this.lifecycle.expiresAfterMinutes);
  }

  private async keepAliveTouch(idleMs: number): Promise<void> {
    try {
      // With a shared store, one process touches: the holder of a lease that lives about one
      // interval, so a holder that died is replaced before the container expires.
      const lease = await this.state.lease('keepalive', this.leaseHolder, keepAliveLeaseMs(this.touchIntervalMs()));
      if (!lease.held) {
        this.keepAlive?.retryAfter(lease.remainingMs + Math.random() * Math.min(1000, lease.remainingMs / 10));
        return;
      }
      const containerId = await this.lifecycle.touch();
      if (containerId) this.events.emit('keepalive', { containerId, idleMs });
    } catch (error) {
      if (!this.closing) this.events.emit('error', { operation: 'keepalive', error: toLibraryError(error, { operation: 'keep-alive touch', hint: 'It is tried again next interval.', scrubber: this.runner.scrubber }) as Error });
      throw error;
    }
  }

  private async shutdown(opts: CloseOptions): Promise<void> {
    this.keepAlive?.stop();
    this.lifecycle.close(); // no container is made from now on
    await this.calls.close(); // calls in flight stop (SessionClosedError) and are waited for
    await this.keepAlive?.idle();
    // Creates and uploads already sent finish and hand over what they made (kept, then deleted below).
    await this.lifecycle.settle();
    await this.runner.drain();
    const deleteContainer = opts.deleteContainer !== false;
    const deleteFiles = opts.deleteFiles !== false;
    const problems: unknown[] = [];
    const local = this.state.current;
    let shared: SessionState | undefined;
    try {
      if (deleteContainer && deleteFiles) {
        // The session ends for every process: take the shared state away (leaving a tombstone),
        // then delete everything it names, whichever process made it.
        shared = await this.state.delete();
      } else if (deleteContainer || deleteFiles) {
        shared = await this.state.reload();
      }
    } catch (error) {
      // A session closed elsewhere has nothing shared left; anything else (the store unreachable)
      // is reported, and what this process knows is still cleaned up.
      if (!(error instanceof SessionClosedError)) problems.push(error);
    }
    if (deleteContainer) {
      const ids = new Set([shared?.containerId, local.containerId].filter((id): id is string => !!id));
      for (const id of ids) await this.lifecycle.deleteContainer(id).catch((error: unknown) => problems.push(error));
      if (!deleteFiles && shared?.containerId) {
        await this.state.update({ type: 'replaceContainer', from: shared.containerId, to: undefined }).catch((e: unknown) => problems.push(e));
      }
    }
    // Containers made by creates whose answer was lost, and deletions that failed: looked for again.
    const containers = await this.lifecycle.orphans.sweep(deleteContainer ? undefined : (shared?.containerId ?? local.containerId));
    if (deleteFiles) {
      const owned = new Map([...local.files, ...(shared?.files ?? [])].filter((f) => f.owned).map((f) => [f.fileId, f]));
      for (const file of owned.values()) {
        const error = await this.files.orphans.discard(file.fileId);
        if (error !== undefined) problems.push(error);
        else if (!deleteContainer) await this.state.update({ type: 'removeFile', fileId: file.fileId }).catch((e: unknown) => problems.push(e));
      }
    }
    const files = await this.files.orphans.sweep();
    problems.push(...containers.errors, ...files.errors);
    const left = {
      containerIds: containers.containerIds,
      fileIds: files.fileIds,
      unconfirmedContainers: containers.unconfirmed,
      unconfirmedFiles: files.unconfirmed,
    };
    if (problems.length > 0 || Object.values(left).some((list) => list.length > 0)) throw new SessionCleanupError(left, problems);
  }
}

function defaultClient(): OpenAI {
  try {
    return new OpenAI();
  } catch (error) {
    throw new InvalidOptionsError('new CodeInterpreterSession()', [
      { path: 'client', message: `no client given and the default one could not be made (${redact(describeError(error))}); pass { client: new OpenAI({ apiKey }) } or set OPENAI_API_KEY` },
    ]);
  }
}
