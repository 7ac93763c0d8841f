import type OpenAI from 'openai';
import { z } from 'zod';

// Schemas accept everything the OpenAPI document allows: extra fields are accepted (and stay in
// `raw`; the parsed copies carry only what the library reads),
// and unknown output item or annotation types are skipped here and stay in `raw` too.

export const LogsOutputSchema = z.object({ type: z.literal('logs'), logs: z.string() });
export const ImageOutputSchema = z.object({ type: z.literal('image'), url: z.string() });

export const CodeInterpreterCallSchema = z.object({
  type: z.literal('code_interpreter_call'),
  id: z.string(),
  status: z.string(),
  /** Optional in the OpenAPI document (only `type`, `id`, `status` are required): absent means the run's container. */
  container_id: z.string().optional(),
  code: z.string().nullable().optional(),
  outputs: z.array(z.unknown()).nullable().optional(),
});

export const ContainerFileCitationSchema = z.object({
  type: z.literal('container_file_citation'),
  container_id: z.string(),
  file_id: z.string(),
  filename: z.string(),
  start_index: z.number(),
  end_index: z.number(),
});

export const OutputTextSchema = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()).nullable().optional(),
});

export const MessageItemSchema = z.object({ type: z.literal('message'), content: z.array(z.unknown()).nullable().optional() });

export const UsageSchema = z.object({ input_tokens: z.number(), output_tokens: z.number(), total_tokens: z.number() });

export const ResponseSchema = z.object({
  id: z.string(),
  model: z.string(),
  status: z.string().nullable().optional(),
  output: z.array(z.unknown()),
  usage: z.unknown().optional(),
});

/** The fields read from the top of a response; `output` is checked to be an array, not copied. */
const ResponseHeaderSchema = ResponseSchema.pick({ id: true, model: true, status: true });

/** A `container_file_citation`: a file the model's code wrote, cited in the answer. */
export const FileCitationSchema = z.object({
  containerId: z.string(),
  fileId: z.string(),
  filename: z.string(),
  startIndex: z.number(),
  endIndex: z.number(),
});

export const CodeCallSchema = z.object({
  id: z.string(),
  code: z.string().nullable(),
  status: z.string(),
  /** Everything the code printed (all `logs` outputs joined). */
  logs: z.string(),
  /** `image` output URLs. */
  images: z.array(z.string()),
  containerId: z.string(),
});

export const GeneratedFileSchema = z.object({ containerId: z.string(), fileId: z.string(), filename: z.string() });

/**
 * A generated file that `persistGeneratedFiles` could not copy to the Files API after a run that
 * succeeded. Without `fileId`, the container listing itself failed: files the model wrote but
 * did not cite may not have been copied either.
 */
export const PersistErrorSchema = z.object({
  containerId: z.string(),
  fileId: z.string().optional(),
  filename: z.string().optional(),
  error: z.custom<Error>((v) => v instanceof Error),
});

export const RunResultSchema = z.object({
  responseId: z.string(),
  containerId: z.string(),
  model: z.string(),
  status: z.string(),
  text: z.string(),
  codeCalls: z.array(CodeCallSchema),
  citations: z.array(FileCitationSchema),
  files: z.array(GeneratedFileSchema),
  /**
   * Files the model's code wrote during the run (`source: "assistant"`), found by listing the
   * container: present only when that listing was made (see `RunOptions.listGeneratedFiles`).
   */
  generatedFiles: z.array(GeneratedFileSchema).optional(),
  /**
   * With `persistGeneratedFiles: true`: the generated files that could not be copied to the Files
   * API (each with its error, also emitted on the `error` event). Empty when every copy was made;
   * absent when `persistGeneratedFiles` is off. The run itself succeeded (and is part of the
   * conversation): a failed copy does not reject `run()`. An uncopied file can be downloaded while
   * its container lives; the next run's copy tries it again (it is still in the listing); it is
   * lost if the container expires first.
   */
  persistErrors: z.array(PersistErrorSchema).optional(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() }).optional(),
  recovered: z.boolean(),
  raw: z.custom<OpenAI.Responses.Response>((v) => typeof v === 'object' && v !== null),
});

export type FileCitation = z.infer<typeof FileCitationSchema>;
export type CodeCall = z.infer<typeof CodeCallSchema>;
export type GeneratedFile = z.infer<typeof GeneratedFileSchema>;
export type PersistError = z.infer<typeof PersistErrorSchema>;
export type RunResult = z.infer<typeof RunResultSchema>;

/** The `type` of an output item, content part, annotation or output, if it has one. */
function typeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
}

/**
 * A code call item of a response (or of a streamed `output_item.done`) as the library reports it.
 * A call without `container_id` ran in the run's container, `runContainerId`.
 */
export function toCodeCall(item: z.infer<typeof CodeInterpreterCallSchema>, runContainerId: string): CodeCall {
  const outputs = item.outputs ?? [];
  const logs: string[] = [];
  const images: string[] = [];
  for (const output of outputs) {
    const type = typeOf(output);
    if (type === 'logs') {
      const asLogs = LogsOutputSchema.safeParse(output);
      if (asLogs.success) logs.push(asLogs.data.logs);
    } else if (type === 'image') {
      const asImage = ImageOutputSchema.safeParse(output);
      if (asImage.success) images.push(asImage.data.url);
    }
  }
  return { id: item.id, code: item.code ?? null, status: item.status, logs: logs.join(''), images, containerId: item.container_id ?? runContainerId };
}

export function toCitation(annotation: unknown): FileCitation | undefined {
  if (typeOf(annotation) !== 'container_file_citation') return undefined;
  const parsed = ContainerFileCitationSchema.safeParse(annotation);
  if (!parsed.success) return undefined;
  const a = parsed.data;
  return { containerId: a.container_id, fileId: a.file_id, filename: a.filename, startIndex: a.start_index, endIndex: a.end_index };
}

/**
 * Reads a Responses API response into a {@link RunResult}. Never throws on what the API may
 * send: unknown items and annotations are skipped (they remain in `raw`). Throws only when the
 * object is not a response at all (no id, model or output array).
 */
export function parseRunResult(raw: unknown, extra: { containerId: string; recovered: boolean }): RunResult {
  const response = ResponseHeaderSchema.parse(raw);
  const rawOutput = (raw as { output?: unknown }).output;
  const output = Array.isArray(rawOutput) ? (rawOutput as unknown[]) : ResponseSchema.shape.output.parse(rawOutput);
  const texts: string[] = [];
  const codeCalls: CodeCall[] = [];
  const citations: FileCitation[] = [];
  for (const item of output) {
    // Dispatch on `type` first: only the variants this library reads are validated, and nothing
    // pays for building zod's errors for items that were never going to match.
    const type = typeOf(item);
    if (type === 'code_interpreter_call') {
      const call = CodeInterpreterCallSchema.safeParse(item);
      if (call.success) codeCalls.push(toCodeCall(call.data, extra.containerId));
      continue;
    }
    if (type !== 'message') continue;
    const message = MessageItemSchema.safeParse(item);
    if (!message.success) continue;
    for (const part of message.data.content ?? []) {
      if (typeOf(part) !== 'output_text') continue;
      const text = OutputTextSchema.safeParse(part);
      if (!text.success) continue;
      texts.push(text.data.text); // the SDK's output_text: every output_text part, joined with ""
      for (const annotation of text.data.annotations ?? []) {
        const citation = toCitation(annotation);
        if (citation) citations.push(citation);
      }
    }
  }
  const files = new Map<string, GeneratedFile>();
  for (const c of citations) if (!files.has(c.fileId)) files.set(c.fileId, { containerId: c.containerId, fileId: c.fileId, filename: c.filename });
  const usage = UsageSchema.safeParse((raw as { usage?: unknown }).usage);
  return {
    responseId: response.id,
    containerId: extra.containerId,
    model: response.model,
    status: response.status ?? 'completed',
    text: texts.join(''),
    codeCalls,
    citations,
    files: [...files.values()],
    ...(usage.success && {
      usage: { inputTokens: usage.data.input_tokens, outputTokens: usage.data.output_tokens, totalTokens: usage.data.total_tokens },
    }),
    recovered: extra.recovered,
    raw: raw as OpenAI.Responses.Response,
  };
}
