import { setTimeout as sleep } from 'node:timers/promises';
import { errorResponse } from './api-error.js';
import { azureGate, azureOverride, type AzureSimulatorOptions } from './azure.js';
import { DEFAULT_MAX_BODY_BYTES, readBody } from './body.js';
import { bytesContent } from './content.js';
import { applyRateLimit, cutBody, takeFault } from './faults.js';
import { serveOnLoopback, type ListenOptions, type RunningServer } from './http-server.js';
import { matchRoute, type Route, type RouteContext } from './router.js';
import { containerFileRoutes } from './routes/container-files.js';
import { containerRoutes } from './routes/containers.js';
import { fileRoutes } from './routes/files.js';
import { responseRoutes } from './routes/responses.js';
import { SimState, type SimulatorOptions, type StoredResponse } from './state.js';
import type { FaultSpec, SimContainer, SimContainerFile, SimFile, SimRequestRecord, SimulatedContent } from './types.js';
import { isObject, matchesPath } from './util.js';

export { matchesPath, type SimulatorOptions, type StoredResponse };

/** Every operation the simulator serves, by resource. */
export const ROUTES: readonly Route[] = [...containerRoutes, ...containerFileRoutes, ...fileRoutes, ...responseRoutes];

/** The API path of an api.openai.com-shaped URL, without the `/v1` prefix. */
function apiPath(url: URL): string {
  const at = url.pathname.indexOf('/v1/');
  return at === -1 ? url.pathname.replace(/\/v1$/, '/') : url.pathname.slice(at + 3);
}

/**
 * A stateful, offline stand-in for the parts of the OpenAI API that Code Interpreter uses. One
 * `handle(Request) => Response` function serves both the msw handlers and the loopback server.
 */
export class Simulator {
  readonly options: Readonly<SimulatorOptions>;
  /** Every container ever created, deleted ones included (status `deleted`). */
  readonly containers: Map<string, SimContainer>;
  /** Files API files, deleted ones included (`deleted: true`). */
  readonly files: Map<string, SimFile>;
  readonly responses: Map<string, StoredResponse>;
  /** Every request seen, in arrival order. */
  readonly requests: SimRequestRecord[];

  readonly #state: SimState;
  readonly #azure: AzureSimulatorOptions | undefined;
  /** Answers to cut on their way out (`cutBodyAfterBytes`), by answer. */
  readonly #cuts = new WeakMap<Response, number>();

  constructor(options: SimulatorOptions = {}) {
    this.options = options;
    this.#state = new SimState(options);
    this.#azure = options.azure === true ? {} : options.azure || undefined;
    this.containers = this.#state.containers;
    this.files = this.#state.files;
    this.responses = this.#state.responses;
    this.requests = this.#state.requests;
  }

  now(): number {
    return this.#state.now();
  }

  /** Serves the simulator over real HTTP on 127.0.0.1; give the OpenAI client `baseURL: server.url`. */
  listen(options?: ListenOptions): Promise<RunningServer> {
    return serveOnLoopback(this.handle, options);
  }

  /** Expires a container now, as 20 idle minutes would: its files are gone, it stays retrievable. */
  expire(containerId: string): void {
    const container = this.containers.get(containerId);
    if (!container) throw new Error(`simulator: no container ${containerId} to expire`);
    this.#state.expire(container);
  }

  /** Injects a fault for the next `times` matching requests (default 1). */
  fail(spec: FaultSpec): void {
    this.#state.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  /** Forgets injected faults that have not fired yet. */
  clearFaults(): void {
    this.#state.faults.length = 0;
  }

  /** Puts a file straight into a container, e.g. a huge generated one for download tests. */
  addContainerFile(
    containerId: string,
    file: { name: string; data?: Uint8Array | string; content?: SimulatedContent; source?: 'user' | 'assistant' },
  ): SimContainerFile {
    const container = this.containers.get(containerId);
    if (!container || container.status !== 'running') throw new Error(`simulator: container ${containerId} is not running`);
    const content = file.content ?? bytesContent(file.data ?? '');
    return this.#state.storeContainerFile(container, file.name, content, file.source ?? 'assistant');
  }

  /** The requests that reached `path` (and below it), for assertions. */
  requestsTo(path: string | RegExp, method?: string): SimRequestRecord[] {
    return this.requests.filter((r) => matchesPath(path, r.path) && (!method || r.method === method.toUpperCase()));
  }

  /** Clears all state, faults and the request log. */
  reset(): void {
    this.#state.reset();
  }

  /** The simulator itself: a fetch-style handler. */
  readonly handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const gate = this.#azure ? azureGate(this.#azure, url, request.headers) : { path: apiPath(url) };
    const path = gate instanceof Response ? url.pathname : gate.path;
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(request.headers);
    if (headers.authorization) headers.authorization = 'Bearer [redacted]';
    if (headers['api-key']) headers['api-key'] = '[redacted]';
    const started = performance.now();
    const record: SimRequestRecord = { method: request.method, path, query, time: this.now(), headers };
    this.requests.push(record);

    let response: Response;
    try {
      response = gate instanceof Response ? gate : await this.#dispatch(request, record, query);
    } catch (error) {
      response = errorResponse(500, `simulator: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    record.status = response.type === 'error' ? 0 : response.status;
    // As OpenAI does: how long the server spent on the request, whole ms rounded down.
    if (response.type !== 'error') response.headers.set('openai-processing-ms', String(Math.floor(performance.now() - started)));
    if (response.headers.get('content-type')?.startsWith('application/json')) {
      record.responseBody = await response.clone().json();
    }
    // A `cutBodyAfterBytes` fault: the whole answer is recorded, then cut on its way out.
    const cutAt = this.#cuts.get(response);
    return cutAt === undefined ? response : cutBody(response, cutAt);
  };

  async #dispatch(request: Request, record: SimRequestRecord, query: Record<string, string>): Promise<Response> {
    const body = await readBody(request, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (body instanceof Response) return body;
    const { json, form } = body;
    if (form) {
      record.body = Object.fromEntries(
        [...form].map(([key, value]) => [key, typeof value === 'string' ? value : { name: value.name, size: value.size }]),
      );
    } else if (json !== undefined) {
      record.body = json;
    }

    const state = this.#state;
    const limited = applyRateLimit(state, record.time);
    if (limited) {
      record.rejectedBy = 'rate-limit';
      return limited;
    }
    const fault = takeFault(state, request.method, record.path, isObject(json) && json.stream === true);
    if (fault instanceof Response) {
      record.rejectedBy = 'fault';
      return fault;
    }
    const ctx: RouteContext = { state, request, record, params: {}, query, json, form, cutStreamAfterEvents: fault?.cutStreamAfterEvents };
    if (fault && 'lost' in fault) {
      await this.#route(ctx);
      record.rejectedBy = 'fault';
      return fault.lost;
    }
    if (fault && 'cutBodyAfterBytes' in fault) {
      const answer = await this.#route(ctx);
      record.rejectedBy = 'fault';
      this.#cuts.set(answer, fault.cutBodyAfterBytes);
      return answer;
    }
    return this.#route(ctx);
  }

  #route(ctx: RouteContext): Response | Promise<Response> {
    const { request, record } = ctx;
    if (this.#azure) {
      const azure = azureOverride(this.#azure, request.method, record.path, ctx.json, (id) => this.containers.has(id));
      if (azure) return azure;
    } else if (!request.headers.get('authorization')) {
      return errorResponse(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    }
    const found = matchRoute(ROUTES, request.method, record.path);
    if (!found) return errorResponse(404, `Invalid URL (${request.method} /v1${record.path})`);
    return found.route.handle({ ...ctx, params: found.params });
  }
}
