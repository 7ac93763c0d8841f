import { combineSignals } from '../abort.js';
import { asError } from '../errors.js';
import { RunOptionsSchema, validateCallOptions, validateRunFiles, validateRunInput } from '../call-options.js';
import type { Downloads } from '../downloads/downloads.js';
import type { TypedEmitter } from '../events.js';
import { generatedDuring, wantsGeneratedListing } from '../files/generated-files.js';
import { persistGeneratedFiles } from '../files/persist-generated.js';
import type { SessionFiles } from '../files/session-files.js';
import type { ContainerFile } from '../files/types.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { RunInput } from './conversation.js';
import type { RunEvent } from './events.js';
import { refuseBackground, type RunOptions } from './request.js';
import type { RunResult } from './result.js';
import type { RunRecovery } from './run-recovery.js';

/**
 * What one turn of a session (`run()`, `stream()`) uses: the run's `files` are uploaded and its
 * `input_file` parts prepared before the request, `RunRecovery` sends it, and the container's
 * generated files are listed (and persisted) after it.
 */
export interface TurnParts {
  runner: RequestRunner;
  files: SessionFiles;
  downloads: Downloads;
  events: TypedEmitter;
  recovery: RunRecovery;
  /** The session's `persistGeneratedFiles`. */
  persistGeneratedFiles: boolean;
}

/** When a turn started, for `generatedFiles` when a response has no `created_at`; a little early, for clock skew. */
export function turnStartSeconds(): number {
  return Math.floor(Date.now() / 1000) - 5;
}

/** Validates a run's input and options; the signal of its `signal` and `timeoutMs`. */
export function turnSignal(method: 'run' | 'stream', input: unknown, opts: RunOptions): AbortSignal | undefined {
  validateRunInput(method, input);
  const options = validateCallOptions(method, RunOptionsSchema, opts);
  validateRunFiles(method, opts.files, input); // file names and input_file parts: refused before anything is sent
  refuseBackground(opts, method); // background runs would outlive keep-alive: refused before anything is sent
  return combineSignals(options.signal, options.timeoutMs);
}

/** One turn, its result whole. */
export async function runTurn(parts: TurnParts, input: RunInput, opts: RunOptions, startedAtSeconds: number, signal: AbortSignal): Promise<RunResult> {
  const { files } = parts;
  await uploadRunFiles(parts, 'run', opts, signal);
  const prepared = await files.prepareInput('run()', input, signal);
  let result: RunResult | undefined;
  try {
    result = await parts.recovery.run(prepared.input, opts, signal);
  } finally {
    await files.trackInputFiles(prepared.files, result?.containerId);
  }
  await afterRun(parts, result, opts, startedAtSeconds, signal);
  return result;
}

/** One turn, its text and code as they come; the last event is `{ type: 'result', result }`. */
export async function* streamTurn(parts: TurnParts, input: RunInput, opts: RunOptions, startedAtSeconds: number, signal: AbortSignal): AsyncGenerator<RunEvent, void, undefined> {
  const { files } = parts;
  await uploadRunFiles(parts, 'stream', opts, signal);
  const prepared = await files.prepareInput('stream()', input, signal);
  let containerId: string | undefined;
  try {
    for await (const event of parts.recovery.stream(prepared.input, opts, signal)) {
      if (event.type === 'result') {
        containerId = event.result.containerId;
        await files.trackInputFiles(prepared.files, containerId);
        await afterRun(parts, event.result, opts, startedAtSeconds, signal);
      }
      yield event;
    }
  } finally {
    if (containerId === undefined) await files.trackInputFiles(prepared.files, undefined);
  }
}

/**
 * A run's `files`, uploaded (and tracked) before its request. Each is checked (its name, a path's
 * file) before the first is sent, and errors name `method` and the option (`files.1`).
 */
async function uploadRunFiles(parts: TurnParts, method: 'run' | 'stream', opts: RunOptions, signal: AbortSignal | undefined): Promise<void> {
  const { files } = parts;
  const sources = opts.files ?? [];
  const prepared = await Promise.all(sources.map((source, i) => files.prepare(source, {}, { method: `${method}()`, path: `files.${i}` })));
  for (const upload of prepared) await files.upload(upload, signal ? { signal } : {});
}

/**
 * After a run: one listing of the container at most, shared by `result.generatedFiles` (when
 * {@link RunOptions.listGeneratedFiles} asks for it) and `persistGeneratedFiles`.
 */
async function afterRun(parts: TurnParts, result: RunResult, opts: RunOptions, startedAtSeconds: number, signal: AbortSignal | undefined): Promise<void> {
  const list = wantsGeneratedListing(opts.listGeneratedFiles ?? 'auto', result);
  const persist = parts.persistGeneratedFiles;
  if (!list && !persist) return;
  let listing: ContainerFile[] | undefined;
  try {
    listing = await parts.files.list(signal);
  } catch (caught) {
    if (signal?.aborted) throw caught;
    // The run's answer is good (and in the conversation): return it without generatedFiles,
    // and report why. With persistGeneratedFiles, the files it cites are still copied.
    const error = asError(caught);
    parts.events.emit('error', { operation: persist ? 'persistGeneratedFiles' : 'listGeneratedFiles', error });
    if (persist) result.persistErrors = [{ containerId: result.containerId, error }];
  }
  if (list && listing) result.generatedFiles = generatedDuring(listing, result, startedAtSeconds);
  if (persist) await persistGeneratedFiles(parts, result, signal, listing ?? []);
}
