import { describeError } from '../errors.js';

/** A command-line mistake: printed as it is, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The library's option paths, as the CLI flag that sets each. */
const FLAG_FOR_OPTION: Record<string, string> = {
  model: '--model',
  instructions: '--instructions',
  'container.memoryLimit': '--memory',
};

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  param?: unknown;
  cause?: unknown;
  issues?: ReadonlyArray<{ path: string; message: string }>;
}

const shape = (error: unknown): ErrorShape => (error && typeof error === 'object' ? (error as ErrorShape) : {});
const withoutFinalPeriod = (text: string) => text.replace(/\.+$/, '');

/**
 * What the CLI prints for an error, in the CLI's own terms: the flag or the environment variable
 * to change, never a library option the command line does not have. `usage` means exit code 2.
 */
export function cliErrorMessage(thrown: unknown, context: { baseURL?: string | undefined }): { message: string; usage: boolean } {
  // A refused request: the API's own words (the library's wrapper names library options, not flags).
  const error = shape(thrown).name === 'RequestFailedError' && shape(thrown).cause !== undefined ? shape(thrown).cause : thrown;
  const e = shape(error);
  if (error instanceof UsageError) return { message: error.message, usage: true };
  if (e.name === 'InvalidArgumentError') return { message: String(e.message), usage: true };
  if (e.name === 'InvalidOptionsError' && e.issues) {
    const parts = e.issues.map((issue) => `${FLAG_FOR_OPTION[issue.path] ?? `\`${issue.path}\``}: ${issue.message}`);
    return { message: parts.join('; '), usage: true };
  }
  if (e.name === 'RetriesExhaustedError') {
    const cause = shape(e.cause);
    const status = typeof cause.status === 'number' ? cause.status : undefined;
    const detail = withoutFinalPeriod(describeError(e.cause));
    if (status === undefined) {
      const where = context.baseURL ? `at ${context.baseURL} (OPENAI_BASE_URL)` : 'at https://api.openai.com';
      return {
        message: `could not reach the OpenAI API ${where}: ${detail}. Check the network connection${context.baseURL ? ' and OPENAI_BASE_URL' : ''}, or run with --offline to use the built-in simulator.`,
        usage: false,
      };
    }
    if (status === 429) return { message: `the API kept answering 429 (rate limited): ${detail}. Wait a minute and try again, or raise --retries.`, usage: false };
    return { message: `the API kept failing: ${detail}. Try again later, or raise --retries.`, usage: false };
  }
  // The folder files are saved into is --out on the command line, `dir` in the library.
  if (e.name === 'FileSaveError') return { message: `${withoutFinalPeriod(describeError(error)).replaceAll('`dir`', '--out')}.`, usage: false };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const detail = withoutFinalPeriod(describeError(error));
  if (status === 401) return { message: `${detail}. The API refused the key: check OPENAI_API_KEY.`, usage: false };
  if (status === 403) return { message: `${detail}. The key may not have access to this model or to containers: check OPENAI_API_KEY and --model.`, usage: false };
  if (e.param === 'model') return { message: `${detail}. Choose another model with --model.`, usage: false };
  return { message: `${detail}.`, usage: false };
}
