/**
 * code-interpreter-session: dependable sessions for OpenAI's Code Interpreter.
 * @module
 */
export { CodeInterpreterSession, type CloseOptions, type SessionStats } from './session.js';
export type { SessionOptions } from './options.js';
export type { ContainerInfo, ContainerOptions, ContainerSkill, DomainSecret, MemoryLimit, NetworkPolicy } from './container/types.js';
export type { ListGeneratedFiles } from './files/generated-files.js';
export type { KeepAliveOptions } from './container/keep-alive.js';
export type { RetryOptions } from './retry/policy.js';
export type { SessionEvents, SessionEventName, SessionListener } from './events.js';
export type { SessionFile, ContainerFile, UploadSource } from './files/types.js';
export type { UploadOptions } from './files/session-files.js';
export type { ProgressListener } from './files/upload-source.js';
export type { RunOptions } from './runs/request.js';
export type { RunInput } from './runs/conversation.js';
export type { RunEvent } from './runs/events.js';
export { SESSION_CONTAINER, sessionContainer, type SessionFetch } from './transport/session-fetch.js';
export type { DownloadedFile, FileRef } from './downloads/downloads.js';
export type { SaveOptions } from './downloads/save-stream.js';
export { safeFilename } from './downloads/safe-filename.js';

export {
  CodeInterpreterError,
  InvalidOptionsError,
  SessionClosedError,
  SessionCleanupError,
  ContainerExpiredError,
  RetriesExhaustedError,
  DownloadTooLargeError,
  FileNotFoundError,
  FileContentUnavailableError,
  StoreUnavailableError,
  RequestFailedError,
  FileSaveError,
  SaveAllError,
} from './errors.js';
export { MAX_TIMER_MS } from './timers.js';
export { StreamInterruptedError, RunFailedError } from './runs/run-recovery.js';

export { createRateLimiter, defaultRateLimiter, DEFAULT_RATE_LIMIT, type SlidingWindowLimiter } from './ratelimit/sliding-window.js';
export type { RateLimiter, RateLimiterOptions, RateLimitSlot, SlidingWindowOptions } from './ratelimit/types.js';
export { createLimitedFetch, type Fetch, type LimitedFetchOptions, type ThrottledRequest } from './transport/limited-fetch.js';

export { SessionPool } from './pool/session-pool.js';
export {
  PoolFullError,
  type SessionPoolOptions,
  type SessionPoolEvents,
  type SessionPoolStats,
  type PoolLease,
  type WhenFull,
  type EndMode,
  type EvictionReason,
} from './pool/types.js';
export { DEFAULT_PRICES } from './cost/prices.js';
export type { CostSummary, TierCost, PriceTable, PricingOptions } from './cost/types.js';
export type { ContainerCost, ContainerEnd } from './cost/tracker.js';

export { MemorySessionStore, type MemorySessionStoreOptions } from './store/memory-store.js';
export {
  applyStateChange,
  type SessionStore,
  type SessionState,
  type StateChange,
  type StateUpdate,
  type StoreCallOptions,
  type LeaseState,
  type TranscriptEntry,
} from './store/types.js';

export {
  RunResultSchema,
  CodeCallSchema,
  FileCitationSchema,
  GeneratedFileSchema,
  PersistErrorSchema,
  ResponseSchema,
  CodeInterpreterCallSchema,
  ContainerFileCitationSchema,
  OutputTextSchema,
  MessageItemSchema,
  parseRunResult,
  type RunResult,
  type CodeCall,
  type FileCitation,
  type GeneratedFile,
  type PersistError,
} from './runs/result.js';
