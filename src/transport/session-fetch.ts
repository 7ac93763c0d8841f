import { APIConnectionError, APIError } from 'openai';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import { InvalidOptionsError, RetriesExhaustedError } from '../errors.js';
import type { RequestRunner } from '../retry/request-runner.js';
import { restoredNote } from '../runs/conversation.js';
import { rewriteHistory, withNote, type HistoryLedger } from '../runs/history.js';
import { recoverResponseFailure } from '../runs/run-recovery.js';
import { isRedirectFailure } from './redirects.js';
import { rebuiltResponse } from './response.js';
import { tapCompletedResponse } from './sse-tap.js';

import { SESSION_CONTAINER, sessionContainer } from './placeholder.js';

export { SESSION_CONTAINER, sessionContainer };

/** A `fetch` with the session's guarantees (see `CodeInterpreterSession.fetch`). */
export type SessionFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface SessionFetchDeps {
  sessionId: string;
  runner: RequestRunner;
  lifecycle: ContainerLifecycle;
  ledger: HistoryLedger;
  /** Checks the session is open and notes its use (keep-alive). */
  begin: () => Promise<void>;
  /** Tracks Files API ids a request asks to have in the container (`file_ids` of an auto container). */
  attachFile: (fileId: string, signal: AbortSignal | undefined) => Promise<unknown>;
  /** Names of the files brought back into a new container, for the note to the model. */
  restoredFilenames: () => string[];
}

type Json = Record<string, unknown>;

interface Outgoing {
  url: string;
  init: RequestInit;
  signal: AbortSignal | undefined;
  /** False for a create the session cannot look for after a lost answer (see `SendOptions.idempotent`). */
  idempotent?: false;
}

/** A failed HTTP answer, kept whole so the caller's client gets exactly what the server sent. */
class HttpFailure extends APIError {
  constructor(
    readonly answer: { status: number; statusText: string; headers: Headers; text: string; url: string; redirected: boolean },
    parsed: unknown,
  ) {
    const body = isObject(parsed) ? parsed.error : undefined;
    super(answer.status, body as object | undefined, undefined, answer.headers);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const RESPONSES_CREATE = /\/responses\/?$/;

/**
 * Builds the session's `fetch`: the request-rewriting and recovery layer above the session's
 * limited transport. Every request takes a slot from the session's rate limiter when it is sent
 * (the transport stamps it on the wire) and is retried with the session's retry policy. A Responses request whose
 * `code_interpreter` tool names {@link SESSION_CONTAINER}, `{ type: "auto" }` or a container the
 * session owns or owned is bound to the session's live container; if that container turns out to
 * have expired, it is re-created with its files and the request is sent once more with the new id
 * and its history rewritten (stale code calls dropped, a `previous_response_id` chain the session
 * has seen expanded). Anything else passes through unchanged.
 */
export function createSessionFetch(deps: SessionFetchDeps): SessionFetch {
  // The session's transport takes the slot when the request goes on the wire (src/transport/
  // limited-fetch.ts); for a client that would not take it, runner.send() takes the slot instead.
  const baseFetch = (): typeof fetch =>
    deps.runner.onWire ? deps.runner.transport : ((deps.runner.client as unknown as { fetch?: typeof fetch }).fetch ?? globalThis.fetch);

  /** One request through the limiter and retries; a failed answer is returned as it came. */
  async function send(operation: string, out: Outgoing): Promise<Response> {
    const replayable = !(out.init.body instanceof ReadableStream);
    try {
      return await deps.runner.send(
        operation,
        async () => {
          let response: Response;
          try {
            response = await baseFetch()(out.url, out.init);
          } catch (error) {
            if (out.signal?.aborted || isRedirectFailure(error)) throw error; // a redirect refused is refused again
            throw new APIConnectionError({ cause: error as Error }); // retryable by the shared policy
          }
          if (response.ok) return response;
          const text = await response.text();
          const { status, statusText, headers, url, redirected } = response;
          throw new HttpFailure({ status, statusText, headers, text, url, redirected }, parseJson(text));
        },
        { signal: out.signal, replayable, ...(out.idempotent === false && { idempotent: false as const }) },
      );
    } catch (error) {
      const failure = error instanceof RetriesExhaustedError ? error.cause : error;
      if (failure instanceof HttpFailure) return answerOf(failure);
      if (failure instanceof APIConnectionError && failure.cause) throw failure.cause;
      throw failure;
    }
  }

  async function bindTools(body: Json, signal: AbortSignal | undefined): Promise<string | undefined> {
    if (!Array.isArray(body.tools)) return undefined;
    let bound: string | undefined;
    const tools: unknown[] = [];
    for (const tool of body.tools) {
      if (!isObject(tool) || tool.type !== 'code_interpreter' || !ownsContainer(tool.container)) {
        tools.push(tool);
        continue;
      }
      if (isObject(tool.container) && Array.isArray(tool.container.file_ids)) {
        for (const fileId of tool.container.file_ids) if (typeof fileId === 'string') await deps.attachFile(fileId, signal);
      }
      bound ??= await deps.lifecycle.ensure(signal);
      tools.push({ ...tool, container: bound });
    }
    if (bound !== undefined) body.tools = tools;
    return bound;
  }

  function ownsContainer(container: unknown): boolean {
    if (container === SESSION_CONTAINER || container === sessionContainer({ id: deps.sessionId })) return true;
    if (typeof container === 'string' && container.startsWith(`${SESSION_CONTAINER}:`)) {
      throw new InvalidOptionsError('session.fetch', [
        {
          path: 'tools[].container',
          message: `the code_interpreter tool is bound to session "${container.slice(SESSION_CONTAINER.length + 1)}" but was sent through the fetch of session "${deps.sessionId}"; build the client with that session's fetch`,
        },
      ]);
    }
    if (isObject(container)) return container.type === 'auto';
    return typeof container === 'string' && (container === deps.lifecycle.containerId || deps.ledger.isDead(container));
  }

  function outgoing(url: string, init: RequestInit, body: Json): Outgoing {
    const headers = new Headers(init.headers);
    headers.delete('content-length');
    return { url, init: { ...init, headers, body: JSON.stringify(body) }, signal: init.signal ?? undefined };
  }

  /** The body for the one retry after recovery, or undefined when the history cannot be rebuilt here. */
  function rebuilt(sent: Json, containerId: string): Json | undefined {
    const body: Json = { ...sent };
    body.tools = (sent.tools as unknown[]).map((tool) => (isObject(tool) && tool.type === 'code_interpreter' && ownsContainer(tool.container) ? { ...tool, container: containerId } : tool));
    const input = typeof sent.input === 'string' ? [{ role: 'user', content: sent.input }] : Array.isArray(sent.input) ? sent.input : [];
    let history = input;
    if (typeof sent.previous_response_id === 'string') {
      const chain = deps.ledger.chain(sent.previous_response_id);
      if (!chain) return undefined;
      history = [...chain, ...input];
      delete body.previous_response_id;
    }
    const { items } = rewriteHistory(history, { liveContainerId: containerId, ledger: deps.ledger, mode: 'not-live' });
    body.input = withNote(items, restoredNote(deps.restoredFilenames()));
    return body;
  }

  async function respond(url: string, init: RequestInit, body: Json): Promise<Response> {
    const signal = init.signal ?? undefined;
    let containerId = await bindTools(body, signal);
    if (containerId === undefined) return remember(await send('responses.create (fetch)', outgoing(url, init, body)), body, undefined);
    if (Array.isArray(body.input)) {
      const { items, dropped } = rewriteHistory(body.input, { liveContainerId: containerId, ledger: deps.ledger, mode: 'known-dead' });
      if (dropped > 0) body.input = withNote(items, restoredNote(deps.restoredFilenames()));
    }
    const first = await send('responses.create (fetch)', outgoing(url, init, body));
    if (first.ok) return remember(first, body, containerId);
    const text = await first.clone().text();
    const { status, statusText, headers, url: finalUrl, redirected } = first;
    const failure = new HttpFailure({ status, statusText, headers, text, url: finalUrl, redirected }, parseJson(text));
    const outcome = await recoverResponseFailure(deps.lifecycle, failure, containerId, signal);
    if (!outcome) return first;
    containerId = await deps.lifecycle.ensure(signal);
    const retry = rebuilt(body, containerId);
    if (!retry) return first;
    return remember(await send('responses.create (fetch, after recovery)', outgoing(url, init, retry)), retry, containerId);
  }

  /** Notes a successful response in the ledger (streamed or not) and the container's activity. */
  function remember(response: Response, body: Json, containerId: string | undefined): Response {
    if (!response.ok) return response;
    if (containerId !== undefined) deps.lifecycle.noteActivity();
    const note = (value: unknown) => deps.ledger.noteResponse(value, body.input, containerId);
    if (body.stream === true && response.body) {
      return rebuiltResponse(response, tapCompletedResponse(response.body, note));
    }
    response
      .clone()
      .json()
      .then(note, () => {});
    return response;
  }

  return async function sessionFetch(input, init = {}) {
    await deps.begin();
    let url: string;
    let request = init;
    if (input instanceof Request) {
      url = input.url;
      const body = init.body ?? (input.body ? await input.clone().arrayBuffer() : undefined);
      request = { method: input.method, headers: input.headers, signal: input.signal, redirect: input.redirect, ...init, ...(body !== undefined && { body }) };
    } else {
      url = String(input);
    }
    const target = new URL(url);
    // Not a request to a server (the OpenAI client probes `fetch("data:,")`): no slot, no retries.
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return globalThis.fetch(input, init);
    const method = (request.method ?? 'GET').toUpperCase();
    const path = target.pathname;
    if (method === 'POST' && RESPONSES_CREATE.test(path) && typeof request.body === 'string') {
      const body = parseJson(request.body);
      if (isObject(body)) return respond(url, request, body);
    }
    // A create of the client's own (a file, a container …) whose answer was lost is not sent again:
    // the session cannot tell what it made, and a second one would be a duplicate nobody deletes.
    const creates = method === 'POST' || method === 'PATCH';
    return send(`${method} ${path.replace(/^\/v1/, '')} (fetch)`, { url, init: request, signal: request.signal ?? undefined, ...(creates && { idempotent: false as const }) });
  };
}

function answerOf(failure: HttpFailure): Response {
  return rebuiltResponse(failure.answer, failure.answer.text);
}
