import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import { uploadFilenameProblem } from './files/filename.js';
import { validateInputFiles } from './files/input-files.js';
import type { UploadSource } from './files/types.js';
import { uploadNameIssue } from './files/upload-source.js';
import type { RunInput } from './runs/conversation.js';
import { parseWith } from './options.js';
import { describeValue, durationMs } from './timers.js';

/**
 * The options of every session method, validated with zod before anything is sent, like the
 * constructor's: unknown keys are refused, and the `InvalidOptionsError` names the option and what
 * to change. A new option of a method must be added to its schema here.
 */

const signal = z.custom<AbortSignal>((v) => v instanceof AbortSignal, {
  error: (issue) => `expected an AbortSignal (new AbortController().signal, AbortSignal.timeout(ms)), got ${describeValue(issue.input)}`,
});

const callback = (what: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: (issue) => `expected a function ${what}, got ${describeValue(issue.input)}` });

const maxBytes = z
  .number({ error: (issue) => `expected maxBytes as a whole number of bytes >= 0, got ${describeValue(issue.input)}` })
  .int({ error: (issue) => `expected maxBytes as a whole number of bytes >= 0, got ${describeValue(issue.input)}` })
  .min(0, { error: (issue) => `expected maxBytes as a whole number of bytes >= 0, got ${describeValue(issue.input)}` });

/** Most files `saveAll` downloads at once. */
export const MAX_SAVE_CONCURRENCY = 64;

const isUploadSource = (v: unknown) =>
  typeof v === 'string' ||
  v instanceof Uint8Array ||
  v instanceof Blob ||
  v instanceof ReadableStream ||
  (typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function' && Symbol.asyncIterator in v);

const uploadSource = z.custom((v) => isUploadSource(v), {
  error: (issue) => `expected a file path, a Uint8Array, a Blob, a web ReadableStream or a Node readable stream, got ${describeValue(issue.input)}`,
});

const nonEmpty = (name: string) =>
  z.string({ error: (issue) => `expected ${name} as a non-empty string, got ${describeValue(issue.input)}` }).refine((s) => s.trim() !== '', `expected ${name} as a non-empty string`);

/**
 * Parameters of `run({ request })` the session reads or merges its own values into (the code
 * interpreter tool, the outputs `include`, the background check): their shape is checked, so a
 * wrong one is refused before anything is sent instead of failing inside the session.
 */
const MERGED_REQUEST_FIELDS: Record<string, z.ZodType> = {
  tools: z.array(
    z.looseObject(
      { type: z.string({ error: (issue) => `expected each tool's type as a string (such as 'function' or 'web_search'), got ${describeValue(issue.input)}` }) },
      { error: (issue) => `expected a tool object such as { type: 'web_search' }, got ${describeValue(issue.input)}` },
    ),
    { error: (issue) => `expected an array of tool objects (the code interpreter tool is added by the session), got ${describeValue(issue.input)}` },
  ),
  include: z.array(z.string({ error: (issue) => `expected each include entry as a string, got ${describeValue(issue.input)}` }), {
    error: (issue) => `expected an array of strings (such as ['message.output_text.logprobs']), got ${describeValue(issue.input)}`,
  }),
  background: z.boolean({ error: (issue) => `expected true or false (and true is refused: see background mode), got ${describeValue(issue.input)}` }),
};

/** Parameters `run({ request })` may not set: the session sets them, or they have their own option. */
const MANAGED_REQUEST_KEYS: Record<string, string> = {
  model: 'use the `model` option',
  input: 'pass the input as the first argument',
  instructions: 'use the `instructions` option',
  stream: 'call stream() instead of run()',
  previous_response_id: 'the session continues its own conversation; pass `newConversation: true` to start a new one',
  tool_choice: 'use the `toolChoice` option',
  max_output_tokens: 'use the `maxOutputTokens` option',
  metadata: 'use the `metadata` option',
};

export const RunOptionsSchema = z.strictObject({
  model: nonEmpty('model').optional(),
  instructions: z.string({ error: (issue) => `expected instructions as a string, got ${describeValue(issue.input)}` }).optional(),
  toolChoice: z.enum(['auto', 'required'], { error: (issue) => `expected 'auto' or 'required', got ${describeValue(issue.input)}` }).optional(),
  files: z.array(uploadSource, { error: (issue) => `expected an array of upload sources, got ${describeValue(issue.input)}` }).optional(),
  newConversation: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
  maxOutputTokens: z
    .number({ error: (issue) => `expected maxOutputTokens as a whole number >= 16, got ${describeValue(issue.input)}` })
    .int({ error: (issue) => `expected maxOutputTokens as a whole number >= 16, got ${describeValue(issue.input)}` })
    .min(16, { error: (issue) => `expected maxOutputTokens as a whole number >= 16 (the API's minimum), got ${describeValue(issue.input)}` })
    .optional(),
  signal: signal.optional(),
  timeoutMs: durationMs('timeoutMs', { min: 1 }).optional(),
  metadata: z
    .record(z.string().max(64, 'keys of at most 64 characters'), z.string({ error: 'expected string values' }).max(512, 'values of at most 512 characters'), {
      error: (issue) => `expected an object of strings, got ${describeValue(issue.input)}`,
    })
    .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys (the API\'s limit)')
    .optional(),
  shell: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
  listGeneratedFiles: z
    .enum(['auto', 'always', 'never'], { error: (issue) => `expected 'auto', 'always' or 'never', got ${describeValue(issue.input)}` })
    .optional(),
  request: z
    .record(z.string(), z.unknown(), { error: (issue) => `expected an object of Responses API parameters, got ${describeValue(issue.input)}` })
    .superRefine((request, ctx) => {
      for (const [key, hint] of Object.entries(MANAGED_REQUEST_KEYS)) {
        if (key in request) ctx.addIssue({ code: 'custom', path: [key], message: `set by the session: ${hint}` });
      }
      // The fields the session reads or merges its own values into: their shape is checked here.
      for (const [key, schema] of Object.entries(MERGED_REQUEST_FIELDS)) {
        if (request[key] === undefined) continue;
        const parsed = schema.safeParse(request[key]);
        if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: [key, ...issue.path], message: issue.message });
      }
    })
    .optional(),
});

export const UploadOptionsSchema = z.strictObject({
  filename: nonEmpty('filename')
    .superRefine((name, ctx) => {
      const problem = uploadFilenameProblem(name);
      if (problem && name.trim() !== '') ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  signal: signal.optional(),
  onProgress: callback('({ bytes, totalBytes }) => void').optional(),
});

export const SignalOptionsSchema = z.strictObject({ signal: signal.optional() });

export const CloseOptionsSchema = z.strictObject({
  deleteContainer: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
  deleteFiles: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
});

export const DownloadOptionsSchema = z.strictObject({ maxBytes: maxBytes.optional(), signal: signal.optional() });

export const SaveOptionsSchema = z.strictObject({
  overwrite: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
  maxBytes: maxBytes.optional(),
  signal: signal.optional(),
  onProgress: callback('({ bytes, totalBytes }) => void').optional(),
});

export const SaveAllOptionsSchema = SaveOptionsSchema.extend({
  concurrency: z
    .number({ error: (issue) => `expected concurrency as a whole number from 1 to ${MAX_SAVE_CONCURRENCY}, got ${describeValue(issue.input)}` })
    .int({ error: (issue) => `expected concurrency as a whole number from 1 to ${MAX_SAVE_CONCURRENCY}, got ${describeValue(issue.input)}` })
    .min(1, { error: (issue) => `expected concurrency as a whole number from 1 to ${MAX_SAVE_CONCURRENCY}, got ${describeValue(issue.input)}` })
    .max(MAX_SAVE_CONCURRENCY, { error: (issue) => `expected concurrency as a whole number from 1 to ${MAX_SAVE_CONCURRENCY}, got ${describeValue(issue.input)}` })
    .optional(),
});

const fileRefObject = z.looseObject({
  fileId: nonEmpty('fileId'),
  containerId: nonEmpty('containerId'),
  filename: z.string().optional(),
});

/** Validates the options object of `method` (absent is fine; anything but a plain object is not). */
export function validateCallOptions<T>(method: string, schema: z.ZodType<T>, options: unknown): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(`${method}()`, [{ path: 'options', message: `expected an options object, got ${describeValue(options)}` }]);
  }
  return parseWith(schema, options, `${method}()`);
}

/** `run()`/`stream()` input: the prompt text, or a non-empty array of Responses input items. */
export function validateRunInput(method: string, input: unknown): void {
  const fail = (message: string, path = 'input') => {
    throw new InvalidOptionsError(`${method}()`, [{ path, message }]);
  };
  if (typeof input === 'string') {
    if (input.trim() === '') fail('expected the prompt text, got an empty string');
    return;
  }
  if (!Array.isArray(input)) return fail(`expected the prompt as a string, or an array of Responses input items, got ${describeValue(input)}`);
  if (input.length === 0) fail('expected at least one input item, got an empty array');
  input.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(`expected an input item object such as { role: 'user', content: '…' }, got ${describeValue(item)}`, `input.${i}`);
  });
}

/**
 * Why `id` cannot be an API id, or undefined if it can. The API documents ids only by example
 * (`cfile_682e…`, `cntr_…`), so no prefix or length is required; but no API id holds a path
 * separator, a query or fragment mark, whitespace or a control character.
 */
function idProblem(id: string): string | undefined {
  if (id.trim() === '') return 'got an empty string';
  if (/[/\\]/.test(id)) return `got a path ${describeValue(id)}: pass an entry of result.files, or the \`id\` listFiles() gives for it`;
  if (/[?#\s\p{Cc}]/u.test(id)) return `got ${describeValue(id)} (an id has no '?', '#', spaces or control characters)`;
  return undefined;
}

/** A file to download: a `result.files` / citation entry, or a container file id. */
export function validateFileRef(method: string, ref: unknown): void {
  const fail = (path: string, message: string) => {
    throw new InvalidOptionsError(`${method}()`, [{ path, message }]);
  };
  if (typeof ref === 'string') {
    const problem = idProblem(ref);
    if (problem) fail('ref', `expected a container file id (\`cfile_…\`), ${problem}`);
    return;
  }
  const parsed = fileRefObject.safeParse(ref);
  if (!parsed.success) {
    fail('ref', `expected an entry of result.files or result.citations ({ fileId, containerId, filename }) or a container file id, got ${describeValue(ref)}`);
    return;
  }
  // An entry built by hand is checked like an id given alone.
  const fileProblem = idProblem(parsed.data.fileId);
  if (fileProblem) fail('ref.fileId', `expected a container file id (\`cfile_…\`), ${fileProblem}`);
  const containerProblem = idProblem(parsed.data.containerId);
  if (containerProblem) fail('ref.containerId', `expected a container id (\`cntr_…\`), ${containerProblem}`);
}

/** The folder to save into: a non-empty path without NUL. */
export function validateDir(method: string, dir: unknown): void {
  if (typeof dir !== 'string' || dir.trim() === '' || dir.includes('\0')) {
    throw new InvalidOptionsError(`${method}()`, [
      { path: 'dir', message: `expected the folder to save into as a non-empty path (use '.' for the current folder), got ${describeValue(dir)}` },
    ]);
  }
}

/** `saveAll()`'s first argument: a run result, or anything with its `files`. */
export function validateSaveAllResult(result: unknown): void {
  const files = (result as { files?: unknown } | null | undefined)?.files;
  if (typeof result !== 'object' || result === null || !Array.isArray(files)) {
    throw new InvalidOptionsError('saveAll()', [{ path: 'result', message: `expected a run result (or { files: [...] }), got ${describeValue(result)}` }]);
  }
  files.forEach((file, i) => {
    try {
      validateFileRef('saveAll', file);
    } catch {
      throw new InvalidOptionsError('saveAll()', [{ path: `result.files.${i}`, message: 'expected { fileId, containerId, filename } as in result.files' }]);
    }
  });
}

/**
 * What `run()`/`stream()` will upload, checked before anything is sent: the name each of `files` is
 * uploaded under (taken from the source), and the `input_file` parts of the input.
 */
export function validateRunFiles(method: 'run' | 'stream', files: readonly UploadSource[] | undefined, input: unknown): void {
  const issues = (files ?? []).flatMap((source, i) => uploadNameIssue(source, undefined, { method: `${method}()`, path: `files.${i}` }) ?? []);
  if (issues.length > 0) throw new InvalidOptionsError(`${method}()`, issues);
  validateInputFiles(`${method}()`, input as RunInput);
}

/** What `upload()` accepts, checked before anything is sent. */
export function validateUploadSource(source: unknown): void {
  if (typeof source === 'string' && source.trim() === '') {
    throw new InvalidOptionsError('upload()', [{ path: 'source', message: 'expected a file path, got an empty string' }]);
  }
  if (!isUploadSource(source)) {
    throw new InvalidOptionsError('upload()', [
      { path: 'source', message: `expected a file path, a Uint8Array, a Blob, a web ReadableStream or a Node readable stream, got ${describeValue(source)}` },
    ]);
  }
}
