/**
 * `code-interpreter-session/agents`: a Code Interpreter session inside OpenAI Agents JS
 * (`@openai/agents`, an optional peer dependency).
 *
 * ```ts fragment
 * const runner = new Runner({ modelProvider: sessionModelProvider(session) });
 * const agent = new Agent({ name: 'Analyst', model: 'gpt-5', tools: [codeInterpreterTool(session)] });
 * const result = await runner.run(agent, 'Total revenue by region, as a chart');
 * for (const citation of fileCitationsOf(result)) await session.saveFile(citation, './out');
 * ```
 * @module
 */
import { OpenAIProvider, codeInterpreterTool as hostedCodeInterpreterTool, type OpenAIProviderOptions } from '@openai/agents';
import { ContainerFileCitationSchema, type FileCitation } from '../runs/result.js';
import type { CodeInterpreterSession } from '../session.js';
import { sessionContainer } from '../transport/placeholder.js';

/** Options of {@link codeInterpreterTool}: those of Agents JS's own tool, less the container (the session's). */
export type SessionCodeInterpreterToolOptions = Omit<NonNullable<Parameters<typeof hostedCodeInterpreterTool>[0]>, 'container'>;

/**
 * Agents JS's `codeInterpreterTool` bound to `session`'s container (created on first need,
 * re-created with its files when it expires). Run the agent with a model provider from
 * {@link sessionModelProvider} (or a client from `session.createClient()`) for the same session.
 */
export function codeInterpreterTool(session: CodeInterpreterSession, options: SessionCodeInterpreterToolOptions = {}): ReturnType<typeof hostedCodeInterpreterTool> {
  return hostedCodeInterpreterTool({ ...options, container: sessionContainer(session) });
}

/**
 * A model provider whose requests all go through `session.fetch` (rate limiter, retries, the
 * session's container, expiry recovery, history rewriting): `new Runner({ modelProvider })`.
 * Uses the Responses API over HTTP (the WebSocket transport would bypass the session).
 */
export function sessionModelProvider(
  session: CodeInterpreterSession,
  options: Omit<OpenAIProviderOptions, 'openAIClient' | 'apiKey' | 'baseURL' | 'organization' | 'project' | 'useResponses' | 'useResponsesWebSocket'> = {},
): OpenAIProvider {
  return new OpenAIProvider({ ...options, useResponses: true, useResponsesWebSocket: false, openAIClient: session.createClient() });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Items of a run result (`output`, else `history`), of `newItems` (their `rawItem`), or a list of items. */
function itemsOf(source: unknown): unknown[] {
  if (Array.isArray(source)) return source.map((item) => (isObject(item) && 'rawItem' in item ? item.rawItem : item));
  if (!isObject(source)) return [];
  if (Array.isArray(source.output)) return itemsOf(source.output);
  if (Array.isArray(source.history)) return itemsOf(source.history);
  return [];
}

/**
 * The `container_file_citation` annotations of an Agents JS result's assistant messages
 * (`providerData.annotations` of their `output_text` parts) as typed {@link FileCitation}s, in
 * order. Accepts a `RunResult` / `StreamedRunResult` (its `output`), `result.history`,
 * `result.newItems` or any list of items. Pass them to `session.download()` / `saveFile()`.
 */
export function fileCitationsOf(source: unknown): FileCitation[] {
  const citations: FileCitation[] = [];
  for (const item of itemsOf(source)) {
    if (!isObject(item) || item.role !== 'assistant' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (!isObject(part) || part.type !== 'output_text') continue;
      const annotations = isObject(part.providerData) && Array.isArray(part.providerData.annotations) ? part.providerData.annotations : part.annotations;
      for (const annotation of Array.isArray(annotations) ? annotations : []) {
        const parsed = ContainerFileCitationSchema.safeParse(annotation);
        if (!parsed.success) continue;
        const a = parsed.data;
        citations.push({ containerId: a.container_id, fileId: a.file_id, filename: a.filename, startIndex: a.start_index, endIndex: a.end_index });
      }
    }
  }
  return citations;
}
