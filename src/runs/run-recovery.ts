import type OpenAI from 'openai';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import { expirySignal } from '../container/expiry.js';
import { CodeInterpreterError, describeError } from '../errors.js';
import { StreamEndedError } from '../retry/error-shape.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { StateHolder } from '../store/state-holder.js';
import { restoredNote, type Conversation, type RunInput } from './conversation.js';
import { rewriteHistory, withNote, type HistoryLedger } from './history.js';
import { toRunEvent, type RunEvent } from './events.js';
import { buildRunRequest, type RunOptions } from './request.js';
import { parseRunResult, type RunResult } from './result.js';

/** A stream broke after it had already yielded output: retrying silently would duplicate text. */
export class StreamInterruptedError extends CodeInterpreterError {}

/** The run ended without a usable response (`response.failed`, an `error` event). */
export class RunFailedError extends CodeInterpreterError {}

/**
 * What a failed Responses request in `containerId` meant: the container expired (it is re-created,
 * files restored: `recreated`), or the history named a dead container (`staleHistory`: a chain or
 * items must be rewritten; the current container is re-created too when it is the dead one).
 * Undefined when the failure is neither. Shared by `run()`/`stream()` and `session.fetch`.
 * `recoveries`: re-creations this call already caused; past `MAX_RECREATIONS_PER_CALL` the
 * result is a `ContainerExpiredError` with the cause instead of another re-creation.
 */
export async function recoverResponseFailure(
  lifecycle: ContainerLifecycle,
  error: unknown,
  containerId: string,
  signal: AbortSignal | undefined,
  recoveries = 0,
): Promise<{ recreated: boolean; staleHistory: boolean } | undefined> {
  const verdict = expirySignal(error, 'response', containerId);
  if (verdict === 'stale-chain') {
    // The history's container is dead; the current one may be too (it is when they are the same).
    if (!(await lifecycle.isExpiry(error, 'container-file', containerId, signal))) return { recreated: false, staleHistory: true };
  } else if (!(await lifecycle.isExpiry(error, 'response', containerId, signal))) {
    return undefined; // not ours to recover
  }
  await lifecycle.recoverOnce(containerId, error, recoveries, signal);
  return { recreated: true, staleHistory: verdict === 'stale-chain' };
}

interface Attempt {
  containerId: string;
  /** The lifecycle's replacement count when this attempt got its container. */
  replacements: number;
  body: OpenAI.Responses.ResponseCreateParamsNonStreaming;
}

/**
 * Runs and streams, with the two recoveries a run can need: the container expired (re-create it,
 * replay the conversation into the new one, retry once) and the response chain is dead (`Expected
 * container_id`: replay the transcript, retry once).
 */
export class RunRecovery {
  constructor(
    private readonly deps: {
      runner: RequestRunner;
      lifecycle: ContainerLifecycle;
      conversation: Conversation;
      /** Items and responses seen, to recognise history that names a dead container. */
      ledger: HistoryLedger;
      state: StateHolder;
      model: string;
      instructions: string | undefined;
    },
  ) {}

  /** Replacements already reported by a result (`recovered: true`): a later one is news for the next run. */
  private reportedReplacements = 0;

  /**
   * Whether a run that got its container at replacement count `replacements` must say
   * `recovered`: it recovered itself, or the container was replaced since the last result said so
   * (by a keep-alive touch, an upload or listing that recovered, another call).
   */
  private recoveredFor(replacements: number, own: boolean): boolean {
    const recovered = own || replacements > this.reportedReplacements;
    this.reportedReplacements = Math.max(this.reportedReplacements, replacements);
    return recovered;
  }

  private async prepare(input: RunInput, opts: RunOptions, attempt: number, signal: AbortSignal | undefined): Promise<Attempt> {
    const containerId = await this.deps.lifecycle.ensure(signal);
    const replacements = this.deps.lifecycle.replacements;
    const turn = this.deps.conversation.prepare(input, containerId, opts.newConversation ?? false);
    const body = buildRunRequest({
      model: this.deps.model,
      instructions: this.deps.instructions,
      input: this.withoutStaleItems(turn.input, turn.replayed, containerId, attempt),
      containerId,
      previousResponseId: turn.previousResponseId,
      opts,
    });
    return { containerId, replacements, body };
  }

  /**
   * Items of the caller's input that name a dead container (`code_interpreter_call`,
   * `item_reference` to one) are dropped: before the first attempt those of containers known to be
   * gone, on the retry after a refusal every one not of the live container.
   */
  private withoutStaleItems(input: RunInput, replayed: boolean, containerId: string, attempt: number): RunInput {
    if (typeof input === 'string') return input;
    const { items, dropped } = rewriteHistory(input, { liveContainerId: containerId, ledger: this.deps.ledger, mode: attempt === 0 ? 'known-dead' : 'not-live' });
    if (dropped === 0) return input;
    // A replayed conversation already carries the note.
    const noted = replayed ? items : withNote(items, restoredNote(this.deps.state.current.files.map((f) => f.filename)));
    return noted as OpenAI.Responses.ResponseInputItem[];
  }

  /**
   * After a failed attempt: recovers when the failure is an expiry or a dead chain, returning
   * whether a new container was made; rethrows anything else. Dead history is rewritten once per
   * call; the container is re-created at most `MAX_RECREATIONS_PER_CALL` times per call (a
   * replacement may expire too), then `ContainerExpiredError` with the cause.
   */
  private async recoverOrThrow(error: unknown, tally: { history: number; recreations: number }, containerId: string, signal: AbortSignal | undefined): Promise<boolean> {
    if (expirySignal(error, 'response', containerId) === 'stale-chain' && tally.history++ > 0) throw error;
    const outcome = await recoverResponseFailure(this.deps.lifecycle, error, containerId, signal, tally.recreations);
    if (outcome === undefined) throw error;
    if (outcome.staleHistory) await this.deps.conversation.markChainDead(containerId, signal);
    if (outcome.recreated) tally.recreations++;
    return outcome.recreated;
  }

  private async finish(input: RunInput, raw: unknown, attempt: Attempt, own: boolean, newConversation: boolean, signal: AbortSignal | undefined): Promise<RunResult> {
    const { body, containerId } = attempt;
    this.deps.ledger.noteResponse(raw, body.input, containerId);
    const result = parseRunResult(raw, { containerId, recovered: this.recoveredFor(attempt.replacements, own) });
    await this.deps.conversation.record(input, result, newConversation, signal);
    return result;
  }

  async run(input: RunInput, opts: RunOptions, signal: AbortSignal | undefined): Promise<RunResult> {
    await this.deps.state.reload(signal); // the conversation may have moved on in another process
    let recovered = false;
    const tally = { history: 0, recreations: 0 };
    for (let n = 0; ; n++) {
      const attempt = await this.prepare(input, opts, n, signal);
      const { containerId, body } = attempt;
      try {
        const raw = await this.deps.runner.send('responses.create', (client, s) => client.responses.create(body, s ? { signal: s } : undefined), { signal, creates: 'response' });
        this.deps.lifecycle.noteActivity();
        return await this.finish(input, raw, attempt, recovered, opts.newConversation ?? false, signal);
      } catch (error) {
        recovered = (await this.recoverOrThrow(error, tally, containerId, signal)) || recovered;
      }
    }
  }

  async *stream(input: RunInput, opts: RunOptions, signal: AbortSignal | undefined): AsyncGenerator<RunEvent, void, undefined> {
    await this.deps.state.reload(signal);
    let recovered = false;
    const tally = { history: 0, recreations: 0 };
    for (let n = 0; ; n++) {
      const attempt = await this.prepare(input, opts, n, signal);
      const { containerId, body } = attempt;
      let yielded = false;
      let opened: OpenedStream;
      try {
        // Read up to the first event the caller sees inside the request: a break before it (nothing
        // reached the caller) fails the request, and the runner retries it like run()'s.
        opened = await this.deps.runner.send('responses.create (stream)', (client, s) => openStream(client, { ...body, stream: true }, s, containerId), { signal });
      } catch (error) {
        recovered = (await this.recoverOrThrow(error, tally, containerId, signal)) || recovered;
        continue;
      }
      const { stream, events } = opened;
      this.deps.lifecycle.noteActivity();
      try {
        for await (const event of events) {
          if (event.type === 'response.completed' || event.type === 'response.incomplete') {
            const result = await this.finish(input, (event as unknown as { response: unknown }).response, attempt, recovered, opts.newConversation ?? false, signal);
            yield { type: 'result', result };
            return;
          }
          if (event.type === 'response.failed' || event.type === 'error') {
            const detail = (event as { response?: { error?: { message?: string } }; message?: string }).response?.error?.message ?? (event as { message?: string }).message;
            throw new RunFailedError(`The run failed: ${detail ?? event.type}.`);
          }
          const mapped = toRunEvent(event as unknown as Parameters<typeof toRunEvent>[0], containerId);
          if (mapped) {
            yielded = true;
            yield mapped;
          }
        }
        // The SDK ends iteration quietly when the request is aborted or the body is cut.
        signal?.throwIfAborted();
        throw new StreamInterruptedError(
          `The response stream ${yielded ? 'broke after output was yielded' : 'ended'} (no \`response.completed\`); run the input again.`,
        );
      } catch (error) {
        // An abort (the caller's signal or timeoutMs) rejects with its own reason, as run() does.
        if (signal?.aborted) throw signal.reason;
        if (yielded && !(error instanceof CodeInterpreterError)) {
          throw new StreamInterruptedError(`The response stream broke after output was yielded (${describeError(error)}); run the input again.`, { cause: error });
        }
        if (error instanceof CodeInterpreterError || yielded) throw error;
        recovered = (await this.recoverOrThrow(error, tally, containerId, signal)) || recovered;
      } finally {
        // Breaking out of the caller's loop lands here too: stop the HTTP stream.
        stream.controller?.abort();
      }
    }
  }
}

/** A streamed response as the SDK gives it (any `openai` copy): its events, and the controller that stops it. */
type ResponseStream = AsyncIterable<{ type: string }> & { controller?: AbortController };

interface OpenedStream {
  stream: ResponseStream;
  /** Every event of the stream, those read by {@link openStream} first. */
  events: AsyncIterable<{ type: string }>;
}

/** Events that end a run: its result, or its failure. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error']);

/**
 * Sends a streamed Responses request and reads it up to the first event the caller will see (or
 * the run's end). Until then nothing has reached the caller, so a break there (the connection
 * dropped, the answer broke off, the stream ended early: {@link StreamEndedError}) fails the
 * request itself, which the runner retries like any other.
 */
async function openStream(
  client: OpenAI,
  body: OpenAI.Responses.ResponseCreateParamsStreaming,
  signal: AbortSignal | undefined,
  containerId: string,
): Promise<OpenedStream> {
  const stream = (await client.responses.create(body, signal ? { signal } : undefined)) as unknown as ResponseStream;
  const iterator = stream[Symbol.asyncIterator]();
  const head: Array<{ type: string }> = [];
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        signal?.throwIfAborted(); // the SDK ends iteration quietly on an abort too
        throw new StreamEndedError(head.length);
      }
      head.push(next.value);
      if (FINAL_EVENTS.has(next.value.type) || toRunEvent(next.value as Parameters<typeof toRunEvent>[0], containerId)) break;
    }
  } catch (error) {
    stream.controller?.abort();
    throw error;
  }
  async function* events(): AsyncGenerator<{ type: string }, void, undefined> {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { stream, events: events() };
}
