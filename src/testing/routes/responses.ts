/** `/responses`: create (with the code interpreter tool and its container), retrieve. */
import { errorResponse, invalidType, invalidValue, missingParameter, notFound } from '../api-error.js';
import { bytesContent } from '../content.js';
import { newId } from '../ids.js';
import { buildResponse, citeFiles, type CodeCallItem } from '../response-builder.js';
import type { Route, RouteContext } from '../router.js';
import type { SimState, StoredResponse } from '../state.js';
import { streamResponse } from '../streaming.js';
import type { SimContainer, SimulatedTurnContext, TurnFile } from '../types.js';
import { baseName, isObject, seconds } from '../util.js';
import { MEMORY_LIMITS } from './containers.js';

/** Files larger than this are not handed to the stand-in model (their `data` is empty). */
const MATERIALISE_LIMIT = 64 * 1024 * 1024;

/** Text of a Responses input/output message's content (string or parts). */
function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/** The stored responses of a `previous_response_id` chain, oldest first. */
function chain(state: SimState, previousId: string | null): StoredResponse[] {
  const out: StoredResponse[] = [];
  for (let id = previousId; id; ) {
    const stored = state.responses.get(id);
    if (!stored) break;
    out.unshift(stored);
    id = stored.previousResponseId;
  }
  return out;
}

/** The container the code_interpreter tool names (an id, or `{type: "auto"}` which makes one), or an error answer. */
function toolContainer(state: SimState, tools: unknown[]): SimContainer | null | Response {
  const toolIndex = tools.findIndex((t) => isObject(t) && t.type === 'code_interpreter');
  if (toolIndex === -1) return null;
  const spec = (tools[toolIndex] as Record<string, unknown>).container;
  if (spec === undefined) return missingParameter(`tools[${toolIndex}].container`);
  let container: SimContainer;
  if (typeof spec === 'string') {
    const found = state.containers.get(spec);
    if (!found || found.status === 'deleted') return notFound('container', spec);
    state.checkExpiry(found);
    if (found.status === 'expired') return errorResponse(400, 'Container is expired.');
    container = found;
  } else if (isObject(spec) && spec.type === 'auto') {
    const fileIds = Array.isArray(spec.file_ids) ? (spec.file_ids as string[]) : [];
    const missing = fileIds.find((id) => !state.liveFile(id));
    if (missing) return errorResponse(404, `No such File object: ${missing}`, { param: `tools[${toolIndex}].container.file_ids` });
    if (spec.memory_limit !== undefined && !MEMORY_LIMITS.includes(spec.memory_limit as never)) {
      return invalidValue(`tools[${toolIndex}].container.memory_limit`, spec.memory_limit, MEMORY_LIMITS);
    }
    container = state.newContainer({
      name: `auto-${Date.now().toString(36)}`,
      memoryLimit: (spec.memory_limit as SimContainer['memoryLimit'] | undefined) ?? '1g',
      expiresAfterMinutes: undefined,
      networkPolicy: undefined,
    });
    for (const id of fileIds) state.storeContainerFile(container, state.files.get(id)!.filename, state.files.get(id)!.content, 'user', id);
  } else {
    return invalidValue(`tools[${toolIndex}].container`, JSON.stringify(spec), ['a container id', "{ type: 'auto' }"]);
  }
  container.lastActiveAt = state.now();
  return container;
}

function turnFiles(container: SimContainer | null): TurnFile[] {
  if (!container) return [];
  return [...container.files.values()].map((f) => {
    const data = f.content.size <= MATERIALISE_LIMIT ? f.content.bytes() : new Uint8Array(0);
    return {
      id: f.id,
      path: f.path,
      name: baseName(f.path),
      bytes: f.content.size,
      source: f.source,
      data,
      text: () => new TextDecoder().decode(data),
    };
  });
}

async function createResponse({ state, json: body, record, cutStreamAfterEvents }: RouteContext): Promise<Response> {
  if (!isObject(body)) return missingParameter('model');
  if (typeof body.model !== 'string') return body.model === undefined ? missingParameter('model') : invalidType('model', 'a string', body.model);
  const tools = body.tools ?? [];
  if (!Array.isArray(tools)) return invalidType('tools', 'an array', tools);

  const container = toolContainer(state, tools);
  if (container instanceof Response) return container;

  // The conversation so far.
  const previousId = body.previous_response_id ?? null;
  if (previousId !== null && (typeof previousId !== 'string' || !state.responses.has(previousId))) {
    return errorResponse(400, `Previous response with id '${String(previousId)}' not found.`, {
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  }
  const history = chain(state, previousId);
  const rawInput = body.input ?? [];
  const items: unknown[] = typeof rawInput === 'string' ? [{ role: 'user', content: rawInput }] : Array.isArray(rawInput) ? rawInput : [];
  const inputContainers = items.flatMap((item) =>
    isObject(item) && item.type === 'code_interpreter_call' && typeof item.container_id === 'string' ? [item.container_id] : [],
  );
  const dead = state.deadContainer([...history.flatMap((s) => s.containerIds), ...inputContainers]);
  if (dead) {
    return errorResponse(400, `Expected container_id: ${dead} to reference an active container, but it has expired.`, {
      param: 'input',
    });
  }
  const inputMessages = items.flatMap((item) =>
    isObject(item) && typeof item.role === 'string' && item.type !== 'code_interpreter_call' ? [{ role: item.role, text: messageText(item.content) }] : [],
  );
  const lastUser = inputMessages.findLastIndex((m) => m.role === 'user');
  const instructions = typeof body.instructions === 'string' ? body.instructions : null;

  const turnContext: SimulatedTurnContext = {
    model: body.model,
    instructions,
    input: lastUser === -1 ? '' : inputMessages[lastUser]!.text,
    history: [...history.flatMap((s) => s.messages), ...inputMessages.filter((_, i) => i !== lastUser)],
    files: turnFiles(container),
    containerId: container?.id ?? null,
    toolChoice: body.tool_choice ?? 'auto',
  };
  const turn = await state.respond(turnContext);

  // The code call, the files it wrote and the answer that cites them.
  let codeCall: CodeCallItem | null = null;
  const cited: Array<{ id: string; name: string; containerId: string }> = [];
  const wantsCode = body.tool_choice !== 'none';
  if (container && wantsCode && (turn.code !== undefined || body.tool_choice === 'required')) {
    const code = turn.code ?? "print('done')";
    const logs = turn.code === undefined ? 'done\n' : (turn.logs ?? '');
    for (const file of turn.files ?? []) {
      const stored = state.storeContainerFile(container, file.name, bytesContent(file.data), 'assistant');
      cited.push({ id: stored.id, name: file.name, containerId: container.id });
    }
    const include = Array.isArray(body.include) ? body.include : [];
    codeCall = {
      type: 'code_interpreter_call',
      id: newId.codeCall(),
      status: turn.codeStatus ?? 'completed',
      container_id: container.id,
      code,
      outputs: include.includes('code_interpreter_call.outputs')
        ? [...(logs ? [{ type: 'logs' as const, logs }] : []), ...(turn.images ?? []).map((url) => ({ type: 'image' as const, url }))]
        : null,
    };
  }
  const { text, annotations } = citeFiles(turn.text, cited);
  const response = buildResponse({
    createdAt: seconds(state.now()),
    model: body.model,
    instructions,
    tools,
    toolChoice: body.tool_choice ?? 'auto',
    previousResponseId: previousId,
    metadata: isObject(body.metadata) ? (body.metadata as Record<string, string>) : undefined,
    maxOutputTokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
    codeCall,
    text,
    annotations,
    promptText: `${instructions ?? ''}${turnContext.history.map((m) => m.text).join('')}${turnContext.input}`,
  });
  state.responses.set(response.id, {
    response,
    previousResponseId: previousId,
    messages: [...inputMessages, { role: 'assistant', text }],
    containerIds: [...inputContainers, ...(codeCall ? [codeCall.container_id] : [])],
  });
  return body.stream === true
    ? streamResponse(response, record, { cutAfterEvents: cutStreamAfterEvents, delayMs: state.options.streamDelayMs ?? 0 })
    : Response.json(response);
}

export const responseRoutes: Route[] = [
  { method: 'POST', path: '/responses', handle: createResponse },
  {
    method: 'GET',
    path: '/responses/{response_id}',
    handle: ({ state, params }) => {
      const id = params.response_id!;
      const stored = state.responses.get(id);
      return stored ? Response.json(stored.response) : errorResponse(404, `Response with id '${id}' not found.`, { param: 'response_id' });
    },
  },
];
