/**
 * The simulator's shared state: containers, files, stored responses, the request log and the
 * clock, with the few operations every resource needs (expiry, creating containers and their
 * files). Route modules read and change it; nothing else holds state.
 */
import type { AzureSimulatorOptions } from './azure.js';
import { defaultRespond } from './default-respond.js';
import { newId } from './ids.js';
import type { BuiltResponse } from './response-builder.js';
import type { FaultSpec, Respond, SimContainer, SimContainerFile, SimFile, SimRequestRecord, SimulatedContent } from './types.js';

export interface SimulatorOptions {
  /** The stand-in for the model. @default a CSV analyst that writes a chart and a totals CSV */
  respond?: Respond;
  /** Containers expire after this much inactivity (unless created with `expires_after`). @default 1_200_000 (20 min) */
  expireAfterIdleMs?: number;
  /** The clock, in ms. @default Date.now (so fake timers that mock Date move it too) */
  now?: () => number;
  /** An organisation rate limit over every request (sliding window), answered with 429 and `Retry-After`. @default none */
  rateLimit?: { limit: number; intervalMs: number };
  /** Base URL the msw handlers intercept. @default 'https://api.openai.com/v1'; in Azure mode `{endpoint}/openai` */
  baseUrl?: string;
  /** Delay between streamed events, to test cancellation mid-stream. @default 0 */
  streamDelayMs?: number;
  /** Delay before every answer, to make loopback timings closer to a real service. @default 0 */
  latencyMs?: number;
  /**
   * Give files the user put in a container (uploads, `file_ids`, `input_file`) the path shape of the
   * real service, `/mnt/data/<hash>-<name>` (32 hex characters), as the real API does; `false` for
   * `/mnt/data/<name>`. Generated files keep the path the code wrote either way. @default true
   */
  hashedFilePaths?: boolean;
  /**
   * Contents of `input_file` parts given by `file_url`: the simulator never goes to the network. A
   * URL it cannot resolve is not copied into the container, and the stand-in model is told
   * (`unreadFiles`). `data:` URLs are always read. @default none
   */
  fileUrls?: Record<string, Uint8Array | string> | ((url: string) => Uint8Array | string | undefined | Promise<Uint8Array | string | undefined>);
  /**
   * Largest request body accepted; a larger one is answered 413 as soon as that is known (from
   * `Content-Length`, or while reading) and never collected. @default 536_870_912 (512 MiB, the Files API's per-file limit)
   */
  maxBodyBytes?: number;
  /**
   * Serve Azure OpenAI's shape instead of api.openai.com's, for `new AzureOpenAI(...)` from
   * `openai`: paths under `{endpoint}/openai/`, `api-version` on every request (not on the v1
   * surface, `{endpoint}/openai/v1/`), the key in `api-key` (or an Entra ID bearer token),
   * `containers.retrieve` refused, ids and names of at most 64 characters, and an opt-in persistent
   * 500 on container file content. `true` for the defaults. @default false
   */
  azure?: boolean | AzureSimulatorOptions;
  /** How many `GET /responses/{id}` polls a `background: true` response stays unfinished (`queued`, then `in_progress`). @default 2 */
  backgroundPolls?: number;
}

/** A response the simulator made, with what it needs to replay the chain. */
export interface StoredResponse {
  response: BuiltResponse;
  /** Input items of the request, with the ids `GET /responses/{id}/input_items` lists. */
  inputItems: Array<Record<string, unknown> & { id: string }>;
  /** False for `store: false`: the API then knows nothing of it (no retrieve, no chain, no item_reference). */
  stored: boolean;
  /** Set by `DELETE /responses/{id}`. */
  deleted: boolean;
  /** For `background: true`: polls left before it completes, and what completing does. */
  pending?: { polls: number; finish: () => void };
  previousResponseId: string | null;
  /** User and assistant text of this turn, in order. */
  messages: Array<{ role: string; text: string }>;
  /** Containers named by code_interpreter_call items of this turn (input and output). */
  containerIds: string[];
}

export class SimState {
  /** Every container ever created, deleted ones included (status `deleted`). */
  readonly containers = new Map<string, SimContainer>();
  /** Files API files, deleted ones included (`deleted: true`). */
  readonly files = new Map<string, SimFile>();
  readonly responses = new Map<string, StoredResponse>();
  /** Output and input items by id (for `item_reference`), with the response that holds them. */
  readonly items = new Map<string, { item: Record<string, unknown>; responseId: string }>();
  /** Every request seen, in arrival order. */
  readonly requests: SimRequestRecord[] = [];
  /** Injected faults that have not fired yet. */
  readonly faults: Array<FaultSpec & { remaining: number }> = [];
  /** Arrival times inside the org rate-limit window. */
  readonly admitted: number[] = [];

  readonly respond: Respond;
  readonly expireAfterIdleMs: number;
  private readonly clock: () => number;

  constructor(readonly options: Readonly<SimulatorOptions>) {
    this.respond = options.respond ?? defaultRespond;
    this.expireAfterIdleMs = options.expireAfterIdleMs ?? 20 * 60_000;
    this.clock = options.now ?? (() => Date.now());
  }

  now(): number {
    return this.clock();
  }

  reset(): void {
    this.containers.clear();
    this.files.clear();
    this.responses.clear();
    this.items.clear();
    this.requests.length = 0;
    this.faults.length = 0;
    this.admitted.length = 0;
  }

  /** Expires a running container now: its files are gone, it stays retrievable. */
  expire(container: SimContainer): void {
    if (container.status === 'running') {
      container.status = 'expired';
      container.files.clear();
    }
  }

  idleLimitMs(container: SimContainer): number {
    return container.expiresAfterMinutes !== undefined ? container.expiresAfterMinutes * 60_000 : this.expireAfterIdleMs;
  }

  /** Applies idle expiry lazily: a container past its idle limit is expired when next looked at. */
  checkExpiry(container: SimContainer): void {
    if (container.status === 'running' && this.now() - container.lastActiveAt >= this.idleLimitMs(container)) {
      this.expire(container);
    }
  }

  /** The first of these containers that is unknown, expired or deleted. */
  deadContainer(ids: readonly string[]): string | undefined {
    return ids.find((id) => {
      const c = this.containers.get(id);
      if (c) this.checkExpiry(c);
      return !c || c.status !== 'running';
    });
  }

  newContainer(init: Pick<SimContainer, 'name' | 'memoryLimit' | 'expiresAfterMinutes' | 'networkPolicy' | 'skills'>): SimContainer {
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
    if (init.skills === undefined) delete container.skills;
    this.containers.set(container.id, container);
    return container;
  }

  storeContainerFile(
    container: SimContainer,
    name: string,
    content: SimulatedContent,
    source: 'user' | 'assistant',
    fileId?: string,
  ): SimContainerFile {
    const hashed = this.options.hashedFilePaths !== false && source === 'user';
    const file: SimContainerFile = {
      id: newId.containerFile(),
      containerId: container.id,
      createdAt: this.now(),
      path: hashed ? `/mnt/data/${newId.pathHash()}-${name}` : `/mnt/data/${name}`,
      name,
      source,
      content,
      ...(fileId ? { fileId } : {}),
    };
    container.files.set(file.id, file);
    return file;
  }

  /** A response the API still knows: stored (not `store: false`) and not deleted. */
  knownResponse(id: unknown): StoredResponse | undefined {
    const stored = typeof id === 'string' ? this.responses.get(id) : undefined;
    return stored && stored.stored && !stored.deleted ? stored : undefined;
  }

  /** A live Files API file, or undefined for unknown and deleted ones. */
  liveFile(id: string): SimFile | undefined {
    const file = this.files.get(id);
    return file && !file.deleted ? file : undefined;
  }
}
