/** A file the simulated "code" wrote into the container. */
export interface SimulatedFile {
  name: string;
  data: Uint8Array | string;
}

/** What the stand-in for the model answers for one turn. */
export interface SimulatedTurn {
  /** Python source of the code call. Omit for a text-only answer (no `code_interpreter_call`). */
  code?: string;
  /** What the code printed; returned as a `logs` output. */
  logs?: string;
  /** Files the code wrote; stored in the container with `source: "assistant"` and cited in `text`. */
  files?: SimulatedFile[];
  /** URLs returned as `image` outputs (e.g. `data:image/png;base64,…`). */
  images?: string[];
  /** Final status of the code call. @default 'completed' */
  codeStatus?: 'completed' | 'failed' | 'incomplete';
  /** The assistant's answer. A written file's name that does not appear here is appended as a link. */
  text: string;
  /**
   * The answer under `text.format` json_schema. @default a value built from the schema, filled from
   * `text` and the numbers in it
   */
  json?: unknown;
}

/** A container file as the stand-in model sees it. */
export interface TurnFile {
  id: string;
  path: string;
  /** The base name of `path`. */
  name: string;
  bytes: number;
  source: 'user' | 'assistant';
  /** Contents (files over 64 MiB are not materialised: `data` is then empty). */
  data: Uint8Array;
  text(): string;
}

/** Everything the stand-in model is given for one `POST /v1/responses`. */
export interface SimulatedTurnContext {
  model: string;
  instructions: string | null;
  /** The text of the newest user input of this request. */
  input: string;
  /** Earlier user/assistant text of the chain (`previous_response_id`) and of the input array. */
  history: ReadonlyArray<{ role: string; text: string }>;
  /** The container's files, or an empty list when no code_interpreter tool was given. */
  files: readonly TurnFile[];
  containerId: string | null;
  toolChoice: unknown;
  /** `text.format` of the request (`{ type: 'json_schema', schema, … }` asks for structured output). */
  textFormat: { type: string; name?: string; schema?: unknown };
  /** `input_file` parts of this request that the simulator could not read (a `file_url` it was not given). */
  unreadFiles: readonly string[];
}

export type Respond = (turn: SimulatedTurnContext) => SimulatedTurn | Promise<SimulatedTurn>;

/** Contents the simulator can serve: bytes, or a generator for very large test files. */
export interface SimulatedContent {
  size: number;
  open(): ReadableStream<Uint8Array>;
  /** Whole contents; only for files small enough to hold in memory. */
  bytes(): Uint8Array;
}

export interface SimContainerFile {
  id: string;
  containerId: string;
  createdAt: number;
  path: string;
  source: 'user' | 'assistant';
  content: SimulatedContent;
  /** The Files API file it was copied from, if any. */
  fileId?: string;
  /** The file's name as given (`path` may carry a `<hash>-` prefix). */
  name: string;
}

export interface SimContainer {
  id: string;
  name: string;
  createdAt: number;
  /** `deleted` containers answer 404 but stay here for assertions. */
  status: 'running' | 'expired' | 'deleted';
  /** Milliseconds on the simulator's clock. */
  lastActiveAt: number;
  expiresAfterMinutes?: number;
  memoryLimit: '1g' | '4g' | '16g' | '64g';
  /** As sent; `domain_secrets` are kept here for assertions and never echoed in answers. */
  networkPolicy?:
    | { type: 'disabled' }
    | { type: 'allowlist'; allowed_domains: string[]; domain_secrets?: Array<{ domain: string; name: string; value: string }> };
  /** `skills` as sent at creation (skill references and inline skills). */
  skills?: unknown[];
  files: Map<string, SimContainerFile>;
}

export interface SimFile {
  id: string;
  filename: string;
  purpose: string;
  createdAt: number;
  content: SimulatedContent;
  deleted: boolean;
}

/** One request the simulator saw, for assertions. */
export interface SimRequestRecord {
  method: string;
  /** The API path without the `/v1` prefix, e.g. `/containers/cntr_…/files`. */
  path: string;
  query: Record<string, string>;
  /** Simulator clock, ms. */
  time: number;
  /** Parsed JSON body; for multipart, the fields with files summarised as `{ name, size }`. */
  body?: unknown;
  headers: Record<string, string>;
  /** Filled in when the response is ready. `0` for an injected connection reset. */
  status?: number;
  /** The JSON the simulator answered with (not set for binary or streamed bodies). */
  responseBody?: unknown;
  /** Server-sent events of a streamed response, in order. */
  events?: Array<{ event: string; data: unknown }>;
  /** True when the client went away before a streamed body was finished. */
  cancelled?: boolean;
  /** Set when the simulator refused the request itself: over the org rate limit, or an injected fault. */
  rejectedBy?: 'rate-limit' | 'fault';
}

/** A fault to inject, matched against each request in order until `times` is used up. */
export interface FaultSpec {
  /** API path (`/responses`, `/containers/{id}` ...): a string matches that path and everything below it; a RegExp is tested on the path. */
  path?: string | RegExp;
  method?: string;
  /** HTTP status to answer, or `'reset'` to drop the connection. */
  status: number | 'reset';
  /** How many matching requests fail. @default 1 */
  times?: number;
  /** Sent as `Retry-After` (and `retry-after-ms`). */
  retryAfterSeconds?: number;
  /** Error body to send instead of the default for the status. */
  body?: unknown;
  /**
   * For a streamed response: answer normally, then drop the connection after this many events
   * (`status` is then ignored). Tests what happens when a stream breaks after output was sent.
   */
  cutStreamAfterEvents?: number;
  /**
   * Carry the request out and start its answer (status, headers and this many bytes of the body),
   * then drop the connection: the answer broke off after it began, as when a proxy or the network
   * cuts it (`status` is then ignored). Over HTTP the client sees what Node's fetch reports for it
   * (`TypeError: terminated` while the body is read); through msw, whose interceptor ends a broken
   * body quietly, the body ends short (a truncated JSON answer or event stream).
   */
  cutBodyAfterBytes?: number;
  /**
   * Carry the request out, then answer the fault anyway: the service did the work but the answer
   * was lost on the way (a created container the client never hears about).
   */
  lostResponse?: boolean;
}
