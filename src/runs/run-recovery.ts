import type OpenAI from 'openai';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import { expirySignal } from '../container/expiry.js';
import { CodeInterpreterError, describeError } from '../errors.js';
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
 */
export async function recoverResponseFailure(
  lifecycle: ContainerLifecycle,
  error: unknown,
  containerId: string,
  signal: AbortSignal | undefined,
): Promise<{ recreated: boolean; staleHistory: boolean } | undefined> {
  const verdict = expirySignal(error, 'response', containerId);
  if (verdict === 'stale-chain') {
    // The history's container is dead; the current one may be too (it is when they are the same).
    if (!(await lifecycle.isExpiry(error, 'container-file', containerId, signal))) return { recreated: false, staleHistory: true };
  } else if (!(await lifecycle.isExpiry(error, 'response', containerId, signal))) {
    return undefined; // not ours to recover
  }
  await lifecycle.recover(containerId, describeError(error), signal);
  return { recreated: true, staleHistory: verdict === 'stale-chain' };
}

interface Attempt {
  containerId: string;
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

  private async prepare(input: RunInput, opts: RunOptions, attempt: number, signal: AbortSignal | undefined): Promise<Attempt> {
    const containerId = await this.deps.lifecycle.ensure(signal);
    const turn = this.deps.conversation.prepare(input, containerId, opts.newConversation ?? false);
    const body = buildRunRequest({
      model: this.deps.model,
      instructions: this.deps.instructions,
      input: this.withoutStaleItems(turn.input, turn.replayed, containerId, attempt),
      containerId,
      previousResponseId: turn.previousResponseId,
      opts,
    });
    return { containerId, body };
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
   * After a failed attempt: recovers when it was the first and the failure is an expiry or a dead
   * chain, returning whether a new container was made; rethrows anything else (one recovery per call).
   */
  private async recoverOrThrow(error: unknown, attempt: number, containerId: string, signal: AbortSignal | undefined): Promise<boolean> {
    if (attempt > 0) throw error;
    const outcome = await this.recover(error, containerId, signal);
    if (outcome === undefined) throw error;
    return outcome;
  }

  /** Recovers from an expiry or a dead chain: true when a new container was made, undefined when it is neither. */
  private async recover(error: unknown, containerId: string, signal: AbortSignal | undefined): Promise<boolean | undefined> {
    const outcome = await recoverResponseFailure(this.deps.lifecycle, error, containerId, signal);
    if (outcome?.staleHistory) await this.deps.conversation.markChainDead(containerId, signal);
    return outcome?.recreated;
  }

  private async finish(input: RunInput, body: Attempt['body'], raw: unknown, containerId: string, recovered: boolean, newConversation: boolean, signal: AbortSignal | undefined): Promise<RunResult> {
    this.deps.ledger.noteResponse(raw, body.input, containerId);
    const result = parseRunResult(raw, { containerId, recovered });
    await this.deps.conversation.record(input, result, newConversation, signal);
    return result;
  }

  async run(input: RunInput, opts: RunOptions, signal: AbortSignal | undefined): Promise<RunResult> {
    await this.deps.state.reload(signal); // the conversation may have moved on in another process
    let recovered = false;
    for (let attempt = 0; ; attempt++) {
      const { containerId, body } = await this.prepare(input, opts, attempt, signal);
      try {
        const raw = await this.deps.runner.send('responses.create', (client, s) => client.responses.create(body, s ? { signal: s } : undefined), { signal });
        this.deps.lifecycle.noteActivity();
        return await this.finish(input, body, raw, containerId, recovered, opts.newConversation ?? false, signal);
      } catch (error) {
        recovered = (await this.recoverOrThrow(error, attempt, containerId, signal)) || recovered;
      }
    }
  }

  async *stream(input: RunInput, opts: RunOptions, signal: AbortSignal | undefined): AsyncGenerator<RunEvent, void, undefined> {
    await this.deps.state.reload(signal);
    let recovered = false;
    for (let attempt = 0; ; attempt++) {
      const { containerId, body } = await this.prepare(input, opts, attempt, signal);
      let yielded = false;
      let stream: Awaited<ReturnType<OpenAI['responses']['create']>> & AsyncIterable<{ type: string }>;
      try {
        stream = (await this.deps.runner.send(
          'responses.create (stream)',
          (client, s) => client.responses.create({ ...body, stream: true }, s ? { signal: s } : undefined),
          { signal },
        )) as typeof stream;
      } catch (error) {
        recovered = (await this.recoverOrThrow(error, attempt, containerId, signal)) || recovered;
        continue;
      }
      this.deps.lifecycle.noteActivity();
      try {
        for await (const event of stream) {
          if (event.type === 'response.completed' || event.type === 'response.incomplete') {
            const result = await this.finish(input, body, (event as unknown as { response: unknown }).response, containerId, recovered, opts.newConversation ?? false, signal);
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
        recovered = (await this.recoverOrThrow(error, attempt, containerId, signal)) || recovered;
      } finally {
        // Breaking out of the caller's loop lands here too: stop the HTTP stream.
        (stream as unknown as { controller?: AbortController }).controller?.abort();
      }
    }
  }
}
