import { newId } from './ids.js';

/** Output items the simulator produces, in the shapes of the OpenAPI `Response.output` items. */
export interface CodeCallItem {
  type: 'code_interpreter_call';
  id: string;
  status: 'in_progress' | 'interpreting' | 'completed' | 'incomplete' | 'failed';
  container_id: string;
  code: string | null;
  outputs: Array<{ type: 'logs'; logs: string } | { type: 'image'; url: string }> | null;
}

export interface Annotation {
  type: 'container_file_citation';
  container_id: string;
  file_id: string;
  filename: string;
  start_index: number;
  end_index: number;
}

export interface MessageItem {
  type: 'message';
  id: string;
  role: 'assistant';
  status: 'in_progress' | 'completed';
  content: Array<{ type: 'output_text'; text: string; annotations: Annotation[]; logprobs: [] }>;
}

export type OutputItem = CodeCallItem | MessageItem;

export interface BuiltResponse {
  id: string;
  object: 'response';
  created_at: number;
  completed_at: number | null;
  status: 'completed' | 'in_progress' | 'queued' | 'cancelled';
  error: null;
  incomplete_details: null;
  instructions: string | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  tools: unknown[];
  tool_choice: unknown;
  temperature: number;
  top_p: number;
  metadata: Record<string, string>;
  max_output_tokens: number | null;
  store: boolean;
  background: boolean;
  text: { format: { type: string } & Record<string, unknown> };
  truncation: 'disabled';
  reasoning: { effort: null; summary: null };
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  } | null;
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/**
 * Places a `container_file_citation` on the first occurrence of each cited file's name in `text`,
 * appending a sandbox link for any name the text does not mention (the real model writes such
 * links).
 */
export function citeFiles(
  text: string,
  files: ReadonlyArray<{ id: string; name: string; containerId: string }>,
): { text: string; annotations: Annotation[] } {
  let out = text;
  for (const file of files) {
    if (!out.includes(file.name)) out += `${out ? '\n\n' : ''}[${file.name}](sandbox:/mnt/data/${file.name})`;
  }
  const annotations = files.map((file): Annotation => {
    const start = out.indexOf(file.name);
    return {
      type: 'container_file_citation',
      container_id: file.containerId,
      file_id: file.id,
      filename: file.name,
      start_index: start,
      end_index: start + file.name.length,
    };
  });
  annotations.sort((a, b) => a.start_index - b.start_index);
  return { text: out, annotations };
}

export function buildResponse(args: {
  createdAt: number;
  model: string;
  instructions: string | null;
  tools: unknown[];
  toolChoice: unknown;
  previousResponseId: string | null;
  metadata: Record<string, string> | undefined;
  maxOutputTokens: number | null;
  codeCall: CodeCallItem | null;
  text: string;
  annotations: Annotation[];
  promptText: string;
  store: boolean;
  background: boolean;
  textFormat: { type: string } & Record<string, unknown>;
}): BuiltResponse {
  const message: MessageItem = {
    type: 'message',
    id: newId.message(),
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: args.text, annotations: args.annotations, logprobs: [] }],
  };
  const input = tokens(args.promptText);
  const output = tokens(args.text + (args.codeCall?.code ?? ''));
  return {
    id: newId.response(),
    object: 'response',
    created_at: args.createdAt,
    completed_at: args.createdAt,
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: args.instructions,
    model: args.model,
    output: args.codeCall ? [args.codeCall, message] : [message],
    parallel_tool_calls: true,
    previous_response_id: args.previousResponseId,
    tools: args.tools,
    tool_choice: args.toolChoice,
    temperature: 1,
    top_p: 1,
    metadata: args.metadata ?? {},
    max_output_tokens: args.maxOutputTokens,
    store: args.store,
    background: args.background,
    text: { format: args.textFormat },
    truncation: 'disabled',
    reasoning: { effort: null, summary: null },
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + output,
    },
  };
}

/** Splits text into pieces the way a streamed model emits deltas. */
function pieces(text: string, size = 24): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * The documented server-sent event sequence for a response with an optional code call and one
 * message: created, in_progress, the code call's added/in_progress/code deltas/code done/
 * interpreting/completed/item done, then the message's added/part added/text deltas/annotations/
 * text done/part done/item done, and completed.
 */
export function streamEvents(response: BuiltResponse): Array<{ type: string } & Record<string, unknown>> {
  const events: Array<{ type: string } & Record<string, unknown>> = [];
  let sequence = 0;
  const emit = (type: string, body: Record<string, unknown>) => events.push({ type, sequence_number: sequence++, ...body });
  // While in progress there is no usage yet: the document's schema wants the field absent, not null.
  const { usage: _usage, ...rest } = response;
  const inProgress = { ...rest, status: 'in_progress' as const, output: [], completed_at: null };
  emit('response.created', { response: inProgress });
  emit('response.in_progress', { response: inProgress });
  response.output.forEach((item, outputIndex) => {
    if (item.type === 'code_interpreter_call') {
      const base = { output_index: outputIndex, item_id: item.id };
      emit('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', code: '', outputs: null } });
      emit('response.code_interpreter_call.in_progress', base);
      for (const delta of pieces(item.code ?? '')) emit('response.code_interpreter_call_code.delta', { ...base, delta });
      emit('response.code_interpreter_call_code.done', { ...base, code: item.code ?? '' });
      emit('response.code_interpreter_call.interpreting', base);
      emit('response.code_interpreter_call.completed', base);
      emit('response.output_item.done', { output_index: outputIndex, item });
      return;
    }
    const part = item.content[0]!;
    const base = { output_index: outputIndex, item_id: item.id, content_index: 0 };
    emit('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
    emit('response.content_part.added', { ...base, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const delta of pieces(part.text)) emit('response.output_text.delta', { ...base, delta, logprobs: [] });
    part.annotations.forEach((annotation, annotationIndex) =>
      emit('response.output_text.annotation.added', { ...base, annotation_index: annotationIndex, annotation }),
    );
    emit('response.output_text.done', { ...base, text: part.text, logprobs: [] });
    emit('response.content_part.done', { ...base, part });
    emit('response.output_item.done', { output_index: outputIndex, item });
  });
  emit('response.completed', { response });
  return events;
}
