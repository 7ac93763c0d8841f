/**
 * `code-interpreter-session/ai-sdk`: a Code Interpreter session inside the Vercel AI SDK
 * (`ai` + `@ai-sdk/openai`, optional peer dependencies).
 *
 * ```ts fragment
 * const openai = createSessionOpenAI(session);
 * const result = await generateText({ model: openai('gpt-5'), tools: sessionTools(session), prompt });
 * await saveAll(session, result, './out');
 * ```
 * @module
 */
import { createOpenAI, openai as defaultProvider, type OpenAIProvider, type OpenAIProviderSettings } from '@ai-sdk/openai';
import type { GeneratedFile } from '../runs/result.js';
import type { SaveOptions } from '../downloads/save-stream.js';
import type { CodeInterpreterSession } from '../session.js';
import { sessionContainer } from '../transport/placeholder.js';

/**
 * An OpenAI provider whose requests all go through `session.fetch`: the session's rate limiter and
 * retries, its container for the code interpreter, and expiry recovery. Key, base URL,
 * organization and project default to the session's client; `settings` override them.
 */
export function createSessionOpenAI(session: CodeInterpreterSession, settings: Omit<OpenAIProviderSettings, 'fetch'> = {}): OpenAIProvider {
  const client = session.createClient();
  return createOpenAI({
    ...(client.apiKey != null && { apiKey: client.apiKey }),
    baseURL: client.baseURL,
    ...(client.organization != null && { organization: client.organization }),
    ...(client.project != null && { project: client.project }),
    ...settings,
    fetch: session.fetch,
  });
}

/**
 * The AI SDK's `code_interpreter` tool bound to `session`'s container (created on first need,
 * re-created with its files when it expires). Use it with a provider from
 * {@link createSessionOpenAI} for the same session: another client would send the placeholder to
 * the API as it is.
 */
export function codeInterpreterTool(session: CodeInterpreterSession): ReturnType<typeof defaultProvider.tools.codeInterpreter> {
  return defaultProvider.tools.codeInterpreter({ container: sessionContainer(session) });
}

/** `tools` for `generateText`/`streamText`: `{ code_interpreter }` bound to `session`. */
export function sessionTools(session: CodeInterpreterSession): { code_interpreter: ReturnType<typeof codeInterpreterTool> } {
  return { code_interpreter: codeInterpreterTool(session) };
}

/** The parts of an AI SDK result this entry reads (`generateText`'s result, a step, or `await streamText(...).sources`). */
export type SourcesLike = { sources?: readonly unknown[] | PromiseLike<readonly unknown[]> } | readonly unknown[];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The container file a `source` part cites, from `providerMetadata.<provider>` (`containerId`, `fileId`). */
function fileOfSource(source: unknown): GeneratedFile | undefined {
  if (!isObject(source) || source.type !== 'source' || !isObject(source.providerMetadata)) return undefined;
  for (const meta of Object.values(source.providerMetadata)) {
    if (!isObject(meta) || typeof meta.containerId !== 'string' || typeof meta.fileId !== 'string') continue;
    if (meta.type !== undefined && meta.type !== 'container_file_citation') continue;
    const filename = typeof source.filename === 'string' ? source.filename : typeof source.title === 'string' ? source.title : meta.fileId;
    return { containerId: meta.containerId, fileId: meta.fileId, filename };
  }
  return undefined;
}

/**
 * The container files an AI SDK result cites (its `source` parts with
 * `providerMetadata.openai.containerId/fileId`), one per file id, in order. Pass each to
 * `session.download()`, `session.saveFile()` or `session.downloadStream()`.
 */
export async function filesOf(result: SourcesLike): Promise<GeneratedFile[]> {
  const sources = Array.isArray(result) ? result : await ((result as { sources?: SourcesLike }).sources ?? []);
  const files = new Map<string, GeneratedFile>();
  for (const source of sources as readonly unknown[]) {
    const file = fileOfSource(source);
    if (file && !files.has(file.fileId)) files.set(file.fileId, file);
  }
  return [...files.values()];
}

/**
 * Saves every container file an AI SDK result cites into `dir` (safe names, never outside `dir`,
 * no partial files: the rules of `session.saveAll`). Returns the paths written.
 */
export async function saveAll(
  session: CodeInterpreterSession,
  result: SourcesLike,
  dir: string,
  opts: SaveOptions & { concurrency?: number } = {},
): Promise<string[]> {
  return session.saveAll({ files: await filesOf(result) }, dir, opts);
}
