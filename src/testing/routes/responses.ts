/**
 * `/responses`: create (with the code interpreter tool and its container, input files, structured
 * output, background mode), retrieve, input items, delete, cancel.
 */
import { errorResponse, invalidType, invalidValue, missingParameter, notFound } from '../api-error.js';
import { bytesContent } from '../content.js';
import { newId } from '../ids.js';
import { buildResponse, citeFiles, type Annotation, type BuiltResponse, type CodeCallItem } from '../response-builder.js';
import type { Route, RouteContext } from '../router.js';
import type { SimState, StoredResponse } from '../state.js';
import { streamResponse } from '../streaming.js';
import type { SimContainer, SimulatedTurn, SimulatedTurnContext, TurnFile } from '../types.js';
import { isObject, seconds } from '../util.js';
import { readInput, type InputFile } from '../responses/input.js';
import { structuredValue } from '../responses/structured.js';
import { paginate } from '../pagination.js';
import { MEMORY_LIMITS, networkPolicy } from './containers.js';

/** Files larger than this are not handed to the stand-in model (their `data` is empty). */
const MATERIALISE_LIMIT = 64 * 1024 * 1024;

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

/**
 * The container the code_interpreter tool names: an existing one (checked now, so an expired one
 * answers "Container is expired." before anything else), or `{type: "auto"}` (validated now, made
 * by `make()` once the whole request is accepted). Or the API's error.
 */
function toolContainer(state: SimState, tools: unknown[]): { make: () => SimContainer | null } | Response {
  const toolIndex = tools.findIndex((t) => isObject(t) && t.type === 'code_interpreter');
  if (toolIndex === -1) return { make: () => null };
  const spec = (tools[toolIndex] as Record<string, unknown>).container;
  if (spec === undefined) return missingParameter(`tools[${toolIndex}].container`);
  const touch = (container: SimContainer) => {
    container.lastActiveAt = state.now();
    return container;
  };
  if (typeof spec === 'string') {
    const found = state.containers.get(spec);
    if (!found || found.status === 'deleted') return notFound('container', spec);
    state.checkExpiry(found);
    if (found.status === 'expired') return errorResponse(400, 'Container is expired.');
    return { make: () => touch(found) };
  }
  if (!isObject(spec) || spec.type !== 'auto') {
    return invalidValue(`tools[${toolIndex}].container`, JSON.stringify(spec), ['a container id', "{ type: 'auto' }"]);
  }
  const fileIds = Array.isArray(spec.file_ids) ? (spec.file_ids as string[]) : [];
  const missing = fileIds.find((id) => !state.liveFile(id));
  if (missing) return errorResponse(404, `No such File object: ${missing}`, { param: `tools[${toolIndex}].container.file_ids` });
  if (spec.memory_limit !== undefined && !MEMORY_LIMITS.includes(spec.memory_limit as never)) {
    return invalidValue(`tools[${toolIndex}].container.memory_limit`, spec.memory_limit, MEMORY_LIMITS);
  }
  const policy = networkPolicy(spec.network_policy, `tools[${toolIndex}].container.network_policy`);
  if (policy instanceof Response) return policy;
  return {
    make: () => {
      const container = state.newContainer({
        name: `auto-${Date.now().toString(36)}`,
        memoryLimit: (spec.memory_limit as SimContainer['memoryLimit'] | undefined) ?? '1g',
        expiresAfterMinutes: undefined,
        networkPolicy: policy,
        skills: undefined,
      });
      for (const id of fileIds) state.storeContainerFile(container, state.files.get(id)!.filename, state.files.get(id)!.content, 'user', id);
      return touch(container);
    },
  };
}

function turnFiles(container: SimContainer | null): TurnFile[] {
  if (!container) return [];
  return [...container.files.values()].map((f) => {
    const data = f.content.size <= MATERIALISE_LIMIT ? f.content.bytes() : new Uint8Array(0);
    return {
      id: f.id,
      path: f.path,
      name: f.name,
      bytes: f.content.size,
      source: f.source,
      data,
      text: () => new TextDecoder().decode(data),
    };
  });
}

/** Copies input files into the container, as the service does (once per file). */
function copyInputFiles(state: SimState, container: SimContainer, files: readonly InputFile[]): void {
  const present = [...container.files.values()];
  for (const file of files) {
    if (!file.content) continue;
    const already = file.fileId
      ? present.some((f) => f.fileId === file.fileId)
      : present.some((f) => f.source === 'user' && f.name === file.filename && f.content.size === file.content!.size);
    if (!already) present.push(state.storeContainerFile(container, file.filename, file.content, 'user', file.fileId));
  }
}

type TextFormat = { type: string } & Record<string, unknown>;

/** `text.format` as the response echoes it, or the API's 400. */
function textFormat(text: unknown): TextFormat | Response {
  const format = isObject(text) ? text.format : undefined;
  if (format === undefined) return { type: 'text' };
  if (!isObject(format) || typeof format.type !== 'string') return invalidType('text.format', 'an object with a type', format);
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string') return missingParameter('text.format.name');
    if (!isObject(format.schema)) return format.schema === undefined ? missingParameter('text.format.schema') : invalidType('text.format.schema', 'an object', format.schema);
    return { type: 'json_schema', name: format.name, schema: format.schema, strict: format.strict ?? null, ...(typeof format.description === 'string' ? { description: format.description } : {}) };
  }
  if (format.type !== 'text' && format.type !== 'json_object') return invalidValue('text.format.type', format.type, ['text', 'json_schema', 'json_object']);
  return { type: format.type };
}

function register(state: SimState, responseId: string, items: ReadonlyArray<{ id: string }>): void {
  for (const item of items) state.items.set(item.id, { item: item as unknown as Record<string, unknown>, responseId });
}

async function createResponse({ state, json: body, record, cutStreamAfterEvents }: RouteContext): Promise<Response> {
  if (!isObject(body)) return missingParameter('model');
  if (typeof body.model !== 'string') return body.model === undefined ? missingParameter('model') : invalidType('model', 'a string', body.model);
  const tools = body.tools ?? [];
  if (!Array.isArray(tools)) return invalidType('tools', 'an array', tools);
  const store = body.store !== false;
  const background = body.background === true;
  if (background && !store) {
    return errorResponse(400, "Background responses must be stored: 'background: true' cannot be combined with 'store: false'.", { param: 'background', code: 'invalid_value' });
  }
  const format = textFormat(body.text);
  if (format instanceof Response) return format;

  // The conversation so far: a chain to a response the API does not know (unstored, deleted) is refused.
  const previousId = (body.previous_response_id ?? null) as string | null;
  if (previousId !== null && !state.knownResponse(previousId)) {
    return errorResponse(400, `Previous response with id '${String(previousId)}' not found.`, {
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  }
  const tool = toolContainer(state, tools);
  if (tool instanceof Response) return tool;
  const history = chain(state, previousId);
  const input = await readInput(state, body.input ?? []);
  if (input instanceof Response) return input;
  const dead = state.deadContainer([...history.flatMap((s) => s.containerIds), ...input.containerIds]);
  if (dead) {
    return errorResponse(400, `Expected container_id: ${dead} to reference an active container, but it has expired.`, { param: 'input' });
  }
  // Last, so that a refused request makes no `auto` container.
  const container = tool.make();
  if (container) copyInputFiles(state, container, input.files);

  const lastUser = input.messages.findLastIndex((m) => m.role === 'user');
  const instructions = typeof body.instructions === 'string' ? body.instructions : null;
  const turnContext: SimulatedTurnContext = {
    model: body.model,
    instructions,
    input: lastUser === -1 ? '' : input.messages[lastUser]!.text,
    history: [...history.flatMap((s) => s.messages), ...input.messages.filter((_, i) => i !== lastUser)],
    files: turnFiles(container),
    containerId: container?.id ?? null,
    toolChoice: body.tool_choice ?? 'auto',
    textFormat: format,
    unreadFiles: input.files.filter((f) => !f.content).map((f) => f.source),
  };
  const turn = await state.respond(turnContext);

  const include = Array.isArray(body.include) ? body.include : [];
  const wantsCode = container !== null && body.tool_choice !== 'none' && (turn.code !== undefined || body.tool_choice === 'required');
  const codeCall: CodeCallItem | null =
    container && wantsCode
      ? {
          type: 'code_interpreter_call',
          id: newId.codeCall(),
          status: turn.codeStatus ?? 'completed',
          container_id: container.id,
          code: turn.code ?? "print('done')",
          outputs: include.includes('code_interpreter_call.outputs') ? codeOutputs(turn) : null,
        }
      : null;

  const build = (parts: { codeCall: CodeCallItem | null; text: string; annotations: Annotation[] }) =>
    buildResponse({
      createdAt: seconds(state.now()),
      model: body.model as string,
      instructions,
      tools: tools as unknown[],
      toolChoice: body.tool_choice ?? 'auto',
      previousResponseId: previousId as string | null,
      metadata: isObject(body.metadata) ? (body.metadata as Record<string, string>) : undefined,
      maxOutputTokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
      ...parts,
      promptText: `${instructions ?? ''}${turnContext.history.map((m) => m.text).join('')}${turnContext.input}`,
      store,
      background,
      textFormat: format,
    });

  /** Writes the code's files into the container and builds the finished response. */
  const finish = (): BuiltResponse => {
    const cited = codeCall ? writeFiles(state, container!, turn) : [];
    if (format.type === 'json_schema' || format.type === 'json_object') {
      // Structured output: the answer is JSON and, as the real service does, cites no files; the
      // generated files are only in the container (`source: "assistant"`).
      const value = turn.json ?? (format.type === 'json_schema' ? structuredValue(format.schema, turn.text) : { answer: turn.text });
      return build({ codeCall, text: JSON.stringify(value), annotations: [] });
    }
    return build({ codeCall, ...citeFiles(turn.text, cited) });
  };

  if (background && body.stream !== true) {
    const queued = unfinished(build({ codeCall: null, text: '', annotations: [] }), 'queued');
    const stored: StoredResponse = {
      response: queued,
      inputItems: input.items,
      stored: true,
      deleted: false,
      previousResponseId: previousId as string | null,
      messages: [...input.messages],
      containerIds: [...input.containerIds],
      pending: {
        polls: state.options.backgroundPolls ?? 2,
        finish: () => {
          const done = { ...finish(), id: queued.id };
          stored.response = done;
          stored.messages.push({ role: 'assistant', text: outputText(done) });
          if (codeCall) stored.containerIds.push(codeCall.container_id);
          register(state, done.id, done.output);
        },
      },
    };
    state.responses.set(queued.id, stored);
    register(state, queued.id, input.items);
    return Response.json(queued);
  }

  const response = finish();
  state.responses.set(response.id, {
    response,
    inputItems: input.items,
    stored: store,
    deleted: false,
    previousResponseId: previousId as string | null,
    messages: [...input.messages, { role: 'assistant', text: outputText(response) }],
    containerIds: [...input.containerIds, ...(codeCall ? [codeCall.container_id] : [])],
  });
  if (store) register(state, response.id, [...input.items, ...response.output]);
  return body.stream === true
    ? streamResponse(response, record, { cutAfterEvents: cutStreamAfterEvents, delayMs: state.options.streamDelayMs ?? 0 })
    : Response.json(response);
}

function codeOutputs(turn: SimulatedTurn): NonNullable<CodeCallItem['outputs']> {
  const logs = turn.code === undefined ? 'done\n' : (turn.logs ?? '');
  return [...(logs ? [{ type: 'logs' as const, logs }] : []), ...(turn.images ?? []).map((url) => ({ type: 'image' as const, url }))];
}

/** Stores the files the code wrote (`source: "assistant"`), for citing. */
function writeFiles(state: SimState, container: SimContainer, turn: SimulatedTurn): Array<{ id: string; name: string; containerId: string }> {
  return (turn.files ?? []).map((file) => {
    const stored = state.storeContainerFile(container, file.name, bytesContent(file.data), 'assistant');
    return { id: stored.id, name: file.name, containerId: container.id };
  });
}

/** The assistant text of a response's message items. */
function outputText(response: BuiltResponse): string {
  return response.output.flatMap((item) => (item.type === 'message' ? item.content.map((c) => c.text) : [])).join('');
}

/** A response not finished yet, as the API shows it: no output, no usage. */
function unfinished(response: BuiltResponse, status: 'queued' | 'in_progress' | 'cancelled'): BuiltResponse {
  const { usage: _usage, ...rest } = response;
  return { ...rest, status, output: [], completed_at: null } as unknown as BuiltResponse;
}

const responseNotFound = (id: string) => errorResponse(404, `Response with id '${id}' not found.`, { param: 'response_id' });

/** A stored response, moved on by one poll when it runs in the background. */
function retrieveResponse(state: SimState, id: string): Response {
  const stored = state.knownResponse(id);
  if (!stored) return responseNotFound(id);
  if (stored.pending) {
    for (const containerId of stored.containerIds) {
      const c = state.containers.get(containerId);
      if (c?.status === 'running') c.lastActiveAt = state.now();
    }
    stored.pending.polls--;
    if (stored.pending.polls <= 0) {
      const { finish } = stored.pending;
      delete stored.pending;
      finish();
    } else {
      stored.response = unfinished(stored.response, 'in_progress');
    }
  }
  return Response.json(stored.response);
}

function cancelResponse(state: SimState, id: string): Response {
  const stored = state.knownResponse(id);
  if (!stored) return responseNotFound(id);
  if (!stored.response.background) {
    return errorResponse(400, 'Only responses created with background=true can be cancelled.', { param: 'response_id' });
  }
  if (stored.pending) {
    delete stored.pending;
    stored.response = unfinished(stored.response, 'cancelled');
  }
  return Response.json(stored.response);
}

export const responseRoutes: Route[] = [
  { method: 'POST', path: '/responses', handle: createResponse },
  { method: 'GET', path: '/responses/{response_id}', handle: ({ state, params }) => retrieveResponse(state, params.response_id!) },
  {
    method: 'DELETE',
    path: '/responses/{response_id}',
    handle: ({ state, params }) => {
      const id = params.response_id!;
      const stored = state.knownResponse(id);
      if (!stored) return responseNotFound(id);
      stored.deleted = true;
      delete stored.pending;
      return Response.json({ id, object: 'response', deleted: true });
    },
  },
  { method: 'POST', path: '/responses/{response_id}/cancel', handle: ({ state, params }) => cancelResponse(state, params.response_id!) },
  {
    method: 'GET',
    path: '/responses/{response_id}/input_items',
    handle: ({ state, params, query }) => {
      const stored = state.knownResponse(params.response_id!);
      return stored ? paginate(stored.inputItems, query, (item) => item) : responseNotFound(params.response_id!);
    },
  },
];
