import type OpenAI from 'openai';
import { InvalidOptionsError } from '../errors.js';
import type { RunInput } from './conversation.js';

type CreateParams = OpenAI.Responses.ResponseCreateParamsNonStreaming;

/** Per-run options. */
export interface RunOptions {
  /** @default the session's `model` */
  model?: string;
  /** @default the session's `instructions` */
  instructions?: string;
  /** `required` makes the model run code. @default the API's (`auto`) */
  toolChoice?: 'auto' | 'required';
  /**
   * Uploaded (and tracked) before the run, each under the name taken from the source (a path's
   * base name, a File's name, else `upload.bin`). All are checked before the first is sent: a name
   * an upload cannot carry (control characters, a backslash, over 255 UTF-8 bytes) or a path with
   * no file is refused with `InvalidOptionsError` naming `files.N`; upload such a file under
   * another name with `upload(source, { filename })` first.
   */
  files?: Array<import('../files/types.js').UploadSource>;
  /** Start a fresh conversation instead of continuing the session's. @default false */
  newConversation?: boolean;
  /** @default the API's */
  maxOutputTokens?: number;
  /** Cancels the run, including time queued in the rate limiter. */
  signal?: AbortSignal;
  /** Cancels the run after this long. @default none */
  timeoutMs?: number;
  /** Sent as the response's `metadata`. */
  metadata?: Record<string, string>;
  /**
   * Also give the model the hosted `shell` tool, running in the session's own container
   * (`environment: { type: "container_reference", container_id }`). It follows the container: a
   * re-created container is referenced on the retry. A `shell` tool in `request.tools` is replaced.
   * @default false
   */
  shell?: boolean;
  /**
   * When to list the container for `result.generatedFiles` (one `containers.files.list` request per
   * 100 files): `auto` when code ran but no citation came back (structured output drops them),
   * `always`, or `never`.
   * @default 'auto'
   */
  listGeneratedFiles?: import('../files/generated-files.js').ListGeneratedFiles;
  /** Other Responses API parameters, passed through as they are (`reasoning`, `text`, extra `tools` …). */
  request?: Partial<CreateParams> & Record<string, unknown>;
}

/**
 * `background: true` is refused. A background response answers at once (`queued`) and runs on
 * the server for as long as it needs, possibly past the container's idle expiry, while nothing
 * here waits for it: the session would return no result, could not keep the container alive for
 * a run it does not see, and could not recover it. `run()` already waits for the answer itself,
 * touching the container while it is in use; use `timeoutMs` or `signal` for a deadline.
 */
export function refuseBackground(opts: RunOptions, method: 'run' | 'stream'): void {
  if ((opts.request as { background?: unknown } | undefined)?.background === true) {
    throw new InvalidOptionsError(`${method}()`, [
      {
        path: 'request.background',
        message:
          `background mode is not supported: ${method}() waits for the answer itself and keeps the container alive meanwhile; ` +
          'drop `background` (use `timeoutMs` or `signal` for a deadline)',
      },
    ]);
  }
}

export const OUTPUTS_INCLUDE = 'code_interpreter_call.outputs' as const;

/**
 * The Responses request for one run: the code interpreter tool (and, with `shell`, the shell tool)
 * bound to the session's container (never `{type: "auto"}`, which bills a new container per
 * response), outputs included, and only the fields the caller set.
 */
export function buildRunRequest(args: {
  model: string;
  instructions: string | undefined;
  input: RunInput;
  containerId: string;
  previousResponseId: string | undefined;
  opts: RunOptions;
}): CreateParams {
  const { opts } = args;
  const passthrough = opts.request ?? {};
  const otherTools = (passthrough.tools ?? []).filter((tool) => tool.type !== 'code_interpreter' && !(opts.shell && tool.type === 'shell'));
  const shellTool = opts.shell ? [{ type: 'shell' as const, environment: { type: 'container_reference' as const, container_id: args.containerId } }] : [];
  const include = [...new Set([...(passthrough.include ?? []), OUTPUTS_INCLUDE])];
  const instructions = opts.instructions ?? args.instructions;
  return {
    ...passthrough,
    model: opts.model ?? args.model,
    input: args.input,
    tools: [{ type: 'code_interpreter', container: args.containerId }, ...shellTool, ...otherTools],
    include,
    ...(instructions !== undefined && { instructions }),
    ...(opts.toolChoice !== undefined && { tool_choice: opts.toolChoice }),
    ...(args.previousResponseId !== undefined && { previous_response_id: args.previousResponseId }),
    ...(opts.maxOutputTokens !== undefined && { max_output_tokens: opts.maxOutputTokens }),
    ...(opts.metadata !== undefined && { metadata: opts.metadata }),
  } as CreateParams;
}
