import { setTimeout as sleep } from 'node:timers/promises';
import { serveOnLoopback, type ListenOptions, type RunningServer } from './http-server.js';
import { errorResponse, invalidType, invalidValue, missingParameter, notFound } from './api-error.js';
import { bytesContent } from './content.js';
import { defaultRespond } from './default-respond.js';
import { newId } from './ids.js';
import { paginate } from './pagination.js';
import { buildResponse, citeFiles, streamEvents, type BuiltResponse, type CodeCallItem } from './response-builder.js';
import type {
  FaultSpec,
  Respond,
  SimContainer,
  SimContainerFile,
  SimFile,
  SimRequestRecord,
  SimulatedContent,
  SimulatedTurnContext,
  TurnFile,
} from './types.js';

export interface SimulatorOptions {
  /** The stand-in for the model. @default a CSV analyst that writes a chart and a totals CSV */
  respond?: Respond;
  /** Containers expire after this much inactivity (unless created with `expires_after`). @default 1_200_000 (20 min) */
  expireAfterIdleMs?: number;
  /** The clock, in ms. @default Date.now (so fake timers that mock Date move it too) */
  now?: () => number;
  /** An organisation rate limit over every request (sliding window), answered with 429 and `Retry-After`. @default none */
  rateLimit?: { limit: number; intervalMs: number };
  /** Base URL the msw handlers intercept. @default 'https://api.openai.com/v1' */
  baseUrl?: string;
  /** Delay between streamed events, to test cancellation mid-stream. @default 0 */
  streamDelayMs?: number;
  /** Delay before every answer, to make loopback timings closer to a real service. @default 0 */
  latencyMs?: number;
}

const MEMORY_LIMITS = ['1g', '4g', '16g', '64g'] as const;
const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;
const MATERIALISE_LIMIT = 64 * 1024 * 1024;

/** A response the simulator made, with what it needs to replay the chain. */
export interface StoredResponse {
  response: BuiltResponse;
  previousResponseId: string | null;
  /** User and assistant text of this turn, in order. */
  messages: Array<{ role: string; text: string }>;
  /** Containers named by code_interpreter_call items of this turn (input and output). */
  containerIds: string[];
}

interface Route {
  record: SimRequestRecord;
  segments: string[];
  query: Record<string, string>;
  json: unknown;
  form: FormData | undefined;
  cutStreamAfterEvents: number | undefined;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv',
  txt: 'text/plain',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  html: 'text/html',
};

function contentTypeOf(name: string): string {
  return CONTENT_TYPES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Text of a Responses input/output message's content (string or parts). */
function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

const DEFAULT_FAULT_MESSAGES: Record<number, string> = {
  408: 'Request timed out.',
  409: 'The request conflicted with another request. Please retry.',
  429: 'Rate limit reached for requests. Please try again in a moment.',
  500: 'The server had an error while processing your request. Sorry about that!',
  502: 'Bad gateway.',
  503: 'The engine is currently overloaded, please try again later.',
};

/**
 * A stateful, offline stand-in for the parts of the OpenAI API that Code Interpreter uses. One
 * `handle(Request) => Response` function serves both the msw handlers and the loopback server.
 */
export class Simulator {
  /** Every container ever created, deleted ones included (status `deleted`). */
  readonly containers = new Map<string, SimContainer>();
  /** Files API files, deleted ones included (`deleted: true`). */
  readonly files = new Map<string, SimFile>();
  readonly responses = new Map<string, StoredResponse>();
  /** Every request seen, in arrival order. */
  readonly requests: SimRequestRecord[] = [];

  private readonly respond: Respond;
  private readonly expireAfterIdleMs: number;
  private readonly clock: () => number;
  private readonly faults: Array<FaultSpec & { remaining: number }> = [];
  private readonly admitted: number[] = [];
  readonly options: Readonly<SimulatorOptions>;

  constructor(options: SimulatorOptions = {}) {
    this.options = options;
    this.respond = options.respond ?? defaultRespond;
    this.expireAfterIdleMs = options.expireAfterIdleMs ?? 20 * 60_000;
    this.clock = options.now ?? (() => Date.now());
  }

  now(): number {
    return this.clock();
  }

  /** Serves the simulator over real HTTP on 127.0.0.1; give the OpenAI client `baseURL: server.url`. */
  listen(options?: ListenOptions): Promise<RunningServer> {
    return serveOnLoopback(this.handle, options);
  }

  /** Expires a container now, as 20 idle minutes would: its files are gone, it stays retrievable. */
  expire(containerId: string): void {
    const container = this.containers.get(containerId);
    if (!container) throw new Error(`simulator: no container ${containerId} to expire`);
    if (container.status === 'running') {
      container.status = 'expired';
      container.files.clear();
    }
  }

  /** Injects a fault for the next `times` matching requests (default 1). */
  fail(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  /** Forgets injected faults that have not fired yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Puts a file straight into a container, e.g. a huge generated one for download tests. */
  addContainerFile(
    containerId: string,
    file: { name: string; data?: Uint8Array | string; content?: SimulatedContent; source?: 'user' | 'assistant' },
  ): SimContainerFile {
    const container = this.containers.get(containerId);
    if (!container || container.status !== 'running') throw new Error(`simulator: container ${containerId} is not running`);
    const content = file.content ?? bytesContent(file.data ?? '');
    return this.storeContainerFile(container, file.name, content, file.source ?? 'assistant');
  }

  /** The requests that reached `path` (and below it), for assertions. */
  requestsTo(path: string | RegExp, method?: string): SimRequestRecord[] {
    return this.requests.filter((r) => matchesPath(path, r.path) && (!method || r.method === method.toUpperCase()));
  }

  /** Clears all state, faults and the request log. */
  reset(): void {
    this.containers.clear();
    this.files.clear();
    this.responses.clear();
    this.requests.length = 0;
    this.faults.length = 0;
    this.admitted.length = 0;
  }

  /** The simulator itself: a fetch-style handler. */
  readonly handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const at = url.pathname.indexOf('/v1/');
    const path = at === -1 ? url.pathname.replace(/\/v1$/, '/') : url.pathname.slice(at + 3);
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(request.headers);
    if (headers.authorization) headers.authorization = 'Bearer [redacted]';
    const record: SimRequestRecord = { method: request.method, path, query, time: this.now(), headers };
    this.requests.push(record);

    let response: Response;
    try {
      response = await this.dispatch(request, record, query);
    } catch (error) {
      response = errorResponse(500, `simulator: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    record.status = response.type === 'error' ? 0 : response.status;
    if (response.headers.get('content-type')?.startsWith('application/json')) {
      record.responseBody = await response.clone().json();
    }
    return response;
  };

  private async dispatch(request: Request, record: SimRequestRecord, query: Record<string, string>): Promise<Response> {
    let json: unknown;
    let form: FormData | undefined;
    const type = request.headers.get('content-type') ?? '';
    if (request.body && type.startsWith('multipart/form-data')) {
      form = await request.formData();
      record.body = Object.fromEntries(
        [...form].map(([key, value]) => [key, typeof value === 'string' ? value : { name: value.name, size: value.size }]),
      );
    } else if (request.body) {
      const text = await request.text();
      if (text) {
        try {
          json = JSON.parse(text);
        } catch {
          return errorResponse(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)');
        }
        record.body = json;
      }
    }

    const limited = this.applyRateLimit(record.time);
    if (limited) {
      record.rejectedBy = 'rate-limit';
      return limited;
    }
    const fault = this.takeFault(request.method, record.path, isObject(json) && json.stream === true);
    if (fault instanceof Response) {
      record.rejectedBy = 'fault';
      return fault;
    }
    if (fault && 'lost' in fault) {
      await this.routeAuthorized(request, { record, segments: [], query, json, form, cutStreamAfterEvents: undefined });
      record.rejectedBy = 'fault';
      return fault.lost;
    }
    return this.routeAuthorized(request, { record, segments: [], query, json, form, cutStreamAfterEvents: fault?.cutStreamAfterEvents });
  }

  private routeAuthorized(request: Request, r: Route): Promise<Response> | Response {
    if (!request.headers.get('authorization')) {
      return errorResponse(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    }
    const segments = r.record.path.split('/').filter(Boolean).map(decodeURIComponent);
    return this.route(request.method, { ...r, segments });
  }

  /** The org limit, on arrival times (a slow upload body does not move a request in the window). */
  private applyRateLimit(now: number): Response | undefined {
    const limit = this.options.rateLimit;
    if (!limit) return undefined;
    while (this.admitted.length > 0 && this.admitted[0]! <= now - limit.intervalMs) this.admitted.shift();
    if (this.admitted.length < limit.limit) {
      this.admitted.push(now);
      return undefined;
    }
    const waitMs = Math.max(1, this.admitted[0]! + limit.intervalMs - now);
    return errorResponse(429, `Rate limit reached for requests: Limit ${limit.limit}, Used ${limit.limit}. Please try again in ${waitMs}ms.`, {
      type: 'requests',
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(Math.ceil(waitMs / 1000)), 'retry-after-ms': String(waitMs) },
    });
  }

  private takeFault(
    method: string,
    path: string,
    streaming: boolean,
  ): Response | { cutStreamAfterEvents: number } | { lost: Response; cutStreamAfterEvents?: undefined } | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path === undefined || matchesPath(f.path, path)) &&
        (f.cutStreamAfterEvents === undefined || streaming),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    if (fault.cutStreamAfterEvents !== undefined) return { cutStreamAfterEvents: fault.cutStreamAfterEvents };
    const answer = this.faultResponse(fault);
    return fault.lostResponse ? { lost: answer } : answer;
  }

  private faultResponse(fault: FaultSpec): Response {
    if (fault.status === 'reset') return Response.error();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (fault.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(fault.retryAfterSeconds);
      headers['retry-after-ms'] = String(Math.round(fault.retryAfterSeconds * 1000));
    }
    if (fault.body !== undefined) return new Response(JSON.stringify(fault.body), { status: fault.status, headers });
    return errorResponse(fault.status, DEFAULT_FAULT_MESSAGES[fault.status] ?? `Simulated error ${fault.status}.`, {
      code: fault.status === 429 ? 'rate_limit_exceeded' : null,
      headers,
    });
  }

  private route(method: string, r: Route): Promise<Response> | Response {
    const [resource, id, sub, subId, leaf, ...rest] = r.segments;
    const key = [method, resource, id && '{id}', sub, subId && '{id}', leaf, ...rest].filter(Boolean).join(' ');
    switch (key) {
      case 'POST containers':
        return this.createContainer(r.json);
      case 'GET containers':
        return paginate(
          [...this.containers.values()].filter((c) => c.status !== 'deleted' && (r.query.name === undefined || c.name === r.query.name)),
          r.query,
          (c) => this.containerJson(c),
        );
      case 'GET containers {id}':
        return this.retrieveContainer(id!);
      case 'DELETE containers {id}':
        return this.deleteContainer(id!);
      case 'POST containers {id} files':
        return this.createContainerFile(id!, r);
      case 'GET containers {id} files':
        return this.withRunningContainer(id!, (c) => paginate([...c.files.values()], r.query, (f) => this.containerFileJson(f)));
      case 'GET containers {id} files {id}':
        return this.withContainerFile(id!, subId!, (_, f) => Response.json(this.containerFileJson(f)));
      case 'DELETE containers {id} files {id}':
        return this.withContainerFile(id!, subId!, (c, f) => {
          c.files.delete(f.id);
          return Response.json({ id: f.id, object: 'container.file.deleted', deleted: true });
        });
      case 'GET containers {id} files {id} content':
        return this.withContainerFile(id!, subId!, (_, f) => contentResponse(f.content, baseName(f.path)));
      case 'POST files':
        return this.createFile(r.form);
      case 'GET files':
        return paginate(
          [...this.files.values()].filter((f) => !f.deleted && (r.query.purpose === undefined || f.purpose === r.query.purpose)),
          r.query,
          (f) => this.fileJson(f),
        );
      case 'GET files {id}':
        return this.withFile(id!, (f) => Response.json(this.fileJson(f)));
      case 'DELETE files {id}':
        return this.withFile(id!, (f) => {
          f.deleted = true;
          return Response.json({ id: f.id, object: 'file', deleted: true });
        });
      case 'GET files {id} content':
        return this.withFile(id!, (f) => contentResponse(f.content, f.filename));
      case 'POST responses':
        return this.createResponse(r);
      case 'GET responses {id}': {
        const stored = this.responses.get(id!);
        return stored ? Response.json(stored.response) : errorResponse(404, `Response with id '${id}' not found.`, { param: 'response_id' });
      }
      default:
        return errorResponse(404, `Invalid URL (${method} /v1${r.record.path})`);
    }
  }

  // ---- containers ---------------------------------------------------------------------------

  private idleLimitMs(container: SimContainer): number {
    return container.expiresAfterMinutes !== undefined ? container.expiresAfterMinutes * 60_000 : this.expireAfterIdleMs;
  }

  /** Applies idle expiry lazily: a container past its idle limit is expired when next looked at. */
  private checkExpiry(container: SimContainer): void {
    if (container.status === 'running' && this.now() - container.lastActiveAt >= this.idleLimitMs(container)) {
      this.expire(container.id);
    }
  }

  private containerJson(container: SimContainer) {
    this.checkExpiry(container);
    return {
      id: container.id,
      object: 'container',
      name: container.name,
      created_at: seconds(container.createdAt),
      status: container.status,
      last_active_at: seconds(container.lastActiveAt),
      expires_after: {
        anchor: 'last_active_at',
        minutes: container.expiresAfterMinutes ?? Math.max(1, Math.round(this.expireAfterIdleMs / 60_000)),
      },
      memory_limit: container.memoryLimit,
      ...(container.networkPolicy ? { network_policy: container.networkPolicy } : {}),
    };
  }

  private containerFileJson(file: SimContainerFile) {
    return {
      id: file.id,
      object: 'container.file',
      created_at: seconds(file.createdAt),
      bytes: file.content.size,
      container_id: file.containerId,
      path: file.path,
      source: file.source,
    };
  }

  private createContainer(body: unknown): Response {
    if (!isObject(body)) return missingParameter('name');
    if (body.name === undefined) return missingParameter('name');
    if (typeof body.name !== 'string') return invalidType('name', 'a string', body.name);
    if (body.memory_limit !== undefined && !MEMORY_LIMITS.includes(body.memory_limit as never)) {
      return invalidValue('memory_limit', body.memory_limit, MEMORY_LIMITS);
    }
    let expiresAfterMinutes: number | undefined;
    if (body.expires_after !== undefined) {
      const ea = body.expires_after;
      if (!isObject(ea)) return invalidType('expires_after', 'an object', ea);
      if (ea.anchor !== 'last_active_at') return invalidValue('expires_after.anchor', ea.anchor, ['last_active_at']);
      if (typeof ea.minutes !== 'number' || !Number.isInteger(ea.minutes) || ea.minutes < 1) {
        return errorResponse(400, `Invalid 'expires_after.minutes': expected a positive integer, but got ${JSON.stringify(ea.minutes)} instead.`, {
          param: 'expires_after.minutes',
          code: 'invalid_value',
        });
      }
      expiresAfterMinutes = ea.minutes;
    }
    const policy = body.network_policy;
    if (policy !== undefined) {
      if (!isObject(policy) || (policy.type !== 'disabled' && policy.type !== 'allowlist')) {
        return invalidValue('network_policy.type', isObject(policy) ? policy.type : policy, ['disabled', 'allowlist']);
      }
      if (policy.type === 'allowlist' && (!Array.isArray(policy.allowed_domains) || policy.allowed_domains.some((d) => typeof d !== 'string'))) {
        return missingParameter('network_policy.allowed_domains');
      }
    }
    const fileIds = body.file_ids ?? [];
    if (!Array.isArray(fileIds) || fileIds.some((f) => typeof f !== 'string')) return invalidType('file_ids', 'an array of strings', fileIds);
    const sources: SimFile[] = [];
    for (const fileId of fileIds as string[]) {
      const file = this.files.get(fileId);
      if (!file || file.deleted) return errorResponse(404, `No such File object: ${fileId}`, { param: 'file_ids' });
      sources.push(file);
    }
    const container = this.newContainer({
      name: body.name,
      memoryLimit: (body.memory_limit as SimContainer['memoryLimit'] | undefined) ?? '1g',
      expiresAfterMinutes,
      networkPolicy: policy as SimContainer['networkPolicy'],
    });
    for (const file of sources) this.storeContainerFile(container, file.filename, file.content, 'user', file.id);
    return Response.json(this.containerJson(container));
  }

  private newContainer(init: Pick<SimContainer, 'name' | 'memoryLimit' | 'expiresAfterMinutes' | 'networkPolicy'>): SimContainer {
    const now = this.now();
    const container: SimContainer = {
      id: newId.container(),
      createdAt: now,
      lastActiveAt: now,
      status: 'running',
      files: new Map(),
      ...init,
    };
    if (init.expiresAfterMinutes === undefined) delete container.expiresAfterMinutes;
    if (init.networkPolicy === undefined) delete container.networkPolicy;
    this.containers.set(container.id, container);
    return container;
  }

  private retrieveContainer(id: string): Response {
    const container = this.containers.get(id);
    if (!container || container.status === 'deleted') return notFound('container', id);
    this.checkExpiry(container);
    if (container.status === 'running') container.lastActiveAt = this.now();
    return Response.json(this.containerJson(container));
  }

  private deleteContainer(id: string): Response {
    const container = this.containers.get(id);
    if (!container || container.status === 'deleted') return notFound('container', id);
    container.status = 'deleted';
    container.files.clear();
    return Response.json({ id, object: 'container.deleted', deleted: true });
  }

  /** Runs `fn` on a live container (refreshing `last_active_at`); 404 for unknown, deleted or expired ones. */
  private withRunningContainer(id: string, fn: (c: SimContainer) => Response | Promise<Response>): Response | Promise<Response> {
    const container = this.containers.get(id);
    if (!container || container.status === 'deleted') return notFound('container', id);
    this.checkExpiry(container);
    if (container.status === 'expired') return errorResponse(404, `Container with id '${id}' is expired.`);
    container.lastActiveAt = this.now();
    return fn(container);
  }

  private withContainerFile(id: string, fileId: string, fn: (c: SimContainer, f: SimContainerFile) => Response): Response | Promise<Response> {
    return this.withRunningContainer(id, (container) => {
      const file = container.files.get(fileId);
      return file ? fn(container, file) : errorResponse(404, `No file found with id '${fileId}' in container '${id}'.`);
    });
  }

  private storeContainerFile(
    container: SimContainer,
    name: string,
    content: SimulatedContent,
    source: 'user' | 'assistant',
    fileId?: string,
  ): SimContainerFile {
    const file: SimContainerFile = {
      id: newId.containerFile(),
      containerId: container.id,
      createdAt: this.now(),
      path: `/mnt/data/${name}`,
      source,
      content,
      ...(fileId ? { fileId } : {}),
    };
    container.files.set(file.id, file);
    return file;
  }

  private createContainerFile(id: string, r: Route): Response | Promise<Response> {
    return this.withRunningContainer(id, (container) => {
      if (r.form) {
        const upload = r.form.get('file');
        if (!upload || typeof upload === 'string') return missingParameter('file');
        return upload.arrayBuffer().then((buffer) =>
          Response.json(this.containerFileJson(this.storeContainerFile(container, upload.name, bytesContent(new Uint8Array(buffer)), 'user'))),
        );
      }
      if (!isObject(r.json) || r.json.file_id === undefined) return missingParameter('file_id');
      if (typeof r.json.file_id !== 'string') return invalidType('file_id', 'a string', r.json.file_id);
      const source = this.files.get(r.json.file_id);
      if (!source || source.deleted) return errorResponse(404, `No such File object: ${r.json.file_id}`, { param: 'file_id' });
      return Response.json(this.containerFileJson(this.storeContainerFile(container, source.filename, source.content, 'user', source.id)));
    });
  }

  // ---- files --------------------------------------------------------------------------------

  private fileJson(file: SimFile) {
    return {
      id: file.id,
      object: 'file',
      bytes: file.content.size,
      created_at: seconds(file.createdAt),
      filename: file.filename,
      purpose: file.purpose,
      status: 'processed',
    };
  }

  private async createFile(form: FormData | undefined): Promise<Response> {
    if (!form) return missingParameter('file');
    const upload = form.get('file');
    const purpose = form.get('purpose');
    if (!upload || typeof upload === 'string') return missingParameter('file');
    if (typeof purpose !== 'string') return missingParameter('purpose');
    if (!FILE_PURPOSES.includes(purpose as never)) return invalidValue('purpose', purpose, FILE_PURPOSES);
    const file: SimFile = {
      id: newId.file(),
      filename: upload.name,
      purpose,
      createdAt: this.now(),
      content: bytesContent(new Uint8Array(await upload.arrayBuffer())),
      deleted: false,
    };
    this.files.set(file.id, file);
    return Response.json(this.fileJson(file));
  }

  private withFile(id: string, fn: (f: SimFile) => Response): Response {
    const file = this.files.get(id);
    return file && !file.deleted ? fn(file) : errorResponse(404, `No such File object: ${id}`, { param: 'id' });
  }

  // ---- responses ----------------------------------------------------------------------------

  private chain(previousId: string | null): StoredResponse[] {
    const out: StoredResponse[] = [];
    for (let id = previousId; id; ) {
      const stored = this.responses.get(id);
      if (!stored) break;
      out.unshift(stored);
      id = stored.previousResponseId;
    }
    return out;
  }

  private deadContainer(ids: readonly string[]): string | undefined {
    return ids.find((id) => {
      const c = this.containers.get(id);
      if (c) this.checkExpiry(c);
      return !c || c.status !== 'running';
    });
  }

  private async createResponse(r: Route): Promise<Response> {
    const body = r.json;
    if (!isObject(body)) return missingParameter('model');
    if (typeof body.model !== 'string') return body.model === undefined ? missingParameter('model') : invalidType('model', 'a string', body.model);
    const tools = body.tools ?? [];
    if (!Array.isArray(tools)) return invalidType('tools', 'an array', tools);

    // The code interpreter tool and its container.
    let container: SimContainer | null = null;
    const toolIndex = tools.findIndex((t) => isObject(t) && t.type === 'code_interpreter');
    if (toolIndex !== -1) {
      const spec = (tools[toolIndex] as Record<string, unknown>).container;
      if (spec === undefined) return missingParameter(`tools[${toolIndex}].container`);
      if (typeof spec === 'string') {
        const found = this.containers.get(spec);
        if (!found || found.status === 'deleted') return notFound('container', spec);
        this.checkExpiry(found);
        if (found.status === 'expired') return errorResponse(400, 'Container is expired.');
        container = found;
      } else if (isObject(spec) && spec.type === 'auto') {
        const fileIds = Array.isArray(spec.file_ids) ? (spec.file_ids as string[]) : [];
        const missing = fileIds.find((id) => !this.files.get(id) || this.files.get(id)!.deleted);
        if (missing) return errorResponse(404, `No such File object: ${missing}`, { param: `tools[${toolIndex}].container.file_ids` });
        if (spec.memory_limit !== undefined && !MEMORY_LIMITS.includes(spec.memory_limit as never)) {
          return invalidValue(`tools[${toolIndex}].container.memory_limit`, spec.memory_limit, MEMORY_LIMITS);
        }
        container = this.newContainer({
          name: `auto-${Date.now().toString(36)}`,
          memoryLimit: (spec.memory_limit as SimContainer['memoryLimit'] | undefined) ?? '1g',
          expiresAfterMinutes: undefined,
          networkPolicy: undefined,
        });
        for (const id of fileIds) this.storeContainerFile(container, this.files.get(id)!.filename, this.files.get(id)!.content, 'user', id);
      } else {
        return invalidValue(`tools[${toolIndex}].container`, JSON.stringify(spec), ['a container id', "{ type: 'auto' }"]);
      }
      container.lastActiveAt = this.now();
    }

    // The conversation so far.
    const previousId = body.previous_response_id ?? null;
    if (previousId !== null && (typeof previousId !== 'string' || !this.responses.has(previousId))) {
      return errorResponse(400, `Previous response with id '${String(previousId)}' not found.`, {
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    }
    const chain = this.chain(previousId);
    const rawInput = body.input ?? [];
    const items: unknown[] = typeof rawInput === 'string' ? [{ role: 'user', content: rawInput }] : Array.isArray(rawInput) ? rawInput : [];
    const inputContainers = items.flatMap((item) =>
      isObject(item) && item.type === 'code_interpreter_call' && typeof item.container_id === 'string' ? [item.container_id] : [],
    );
    const dead = this.deadContainer([...chain.flatMap((s) => s.containerIds), ...inputContainers]);
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

    const turnFiles: TurnFile[] = container
      ? [...container.files.values()].map((f) => {
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
        })
      : [];
    const turnContext: SimulatedTurnContext = {
      model: body.model,
      instructions,
      input: lastUser === -1 ? '' : inputMessages[lastUser]!.text,
      history: [...chain.flatMap((s) => s.messages), ...inputMessages.filter((_, i) => i !== lastUser)],
      files: turnFiles,
      containerId: container?.id ?? null,
      toolChoice: body.tool_choice ?? 'auto',
    };
    const turn = await this.respond(turnContext);

    // The code call, the files it wrote and the answer that cites them.
    let codeCall: CodeCallItem | null = null;
    let cited: Array<{ id: string; name: string; containerId: string }> = [];
    const wantsCode = body.tool_choice !== 'none';
    if (container && wantsCode && (turn.code !== undefined || body.tool_choice === 'required')) {
      const code = turn.code ?? "print('done')";
      const logs = turn.code === undefined ? 'done\n' : (turn.logs ?? '');
      for (const file of turn.files ?? []) {
        const stored = this.storeContainerFile(container, file.name, bytesContent(file.data), 'assistant');
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
          ? [
              ...(logs ? [{ type: 'logs' as const, logs }] : []),
              ...(turn.images ?? []).map((url) => ({ type: 'image' as const, url })),
            ]
          : null,
      };
    } else {
      cited = [];
    }
    const { text, annotations } = citeFiles(turn.text, cited);
    const response = buildResponse({
      createdAt: seconds(this.now()),
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
    this.responses.set(response.id, {
      response,
      previousResponseId: previousId,
      messages: [...inputMessages, { role: 'assistant', text }],
      containerIds: [...inputContainers, ...(codeCall ? [codeCall.container_id] : [])],
    });
    return body.stream === true ? this.streamResponse(response, r.record, r.cutStreamAfterEvents) : Response.json(response);
  }

  private streamResponse(response: BuiltResponse, record: SimRequestRecord, cutAfter: number | undefined): Response {
    const events = streamEvents(response);
    const encoder = new TextEncoder();
    const delayMs = this.options.streamDelayMs ?? 0;
    record.events = [];
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (cutAfter !== undefined && index >= cutAfter) {
          record.cancelled = true;
          return controller.error(new Error('simulated connection reset mid-stream'));
        }
        const event = events[index++];
        if (!event) return controller.close();
        if (delayMs > 0 && index > 1) await sleep(delayMs);
        record.events!.push({ event: event.type, data: event });
        controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
      },
      cancel() {
        record.cancelled = true;
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
  }
}

function contentResponse(content: SimulatedContent, name: string): Response {
  return new Response(content.open(), {
    headers: { 'content-type': contentTypeOf(name), 'content-length': String(content.size) },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string matches that path and everything below it; a RegExp is tested on the path. */
export function matchesPath(pattern: string | RegExp, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  const normalized = pattern.replace(/^\/v1(?=\/)/, '');
  return path === normalized || path.startsWith(normalized.endsWith('/') ? normalized : `${normalized}/`);
}
