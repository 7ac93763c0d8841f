import type { SessionFile } from '../files/types.js';

/** One turn of plain text, kept so a conversation can be carried into a new container. */
export interface TranscriptEntry {
  role: 'user' | 'assistant';
  text: string;
}

/** Everything a session must remember to go on, possibly in another process. */
export interface SessionState {
  containerId?: string;
  /** The manifest: files brought back into every new container. */
  files: SessionFile[];
  conversation: {
    previousResponseId?: string;
    /** The container the response chain's code calls ran in; a chain is dead once it is. */
    chainContainerId?: string;
    transcript: TranscriptEntry[];
  };
}

export function emptyState(): SessionState {
  return { files: [], conversation: { transcript: [] } };
}

/**
 * Where a session keeps its state. The default keeps it in memory; `RedisSessionStore`
 * (`code-interpreter-session/redis`) shares it between processes and hosts.
 */
export interface SessionStore {
  load(sessionId: string): Promise<SessionState | undefined>;
  save(sessionId: string, state: SessionState): Promise<void>;
  delete(sessionId: string): Promise<void>;
  /**
   * Runs `fn` while holding the named lock for this session across every process that shares the
   * store (re-creation of an expired container). Optional: without it, the session's own
   * in-process single flight is the only guard.
   */
  withLock?<T>(sessionId: string, name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Takes or renews a lease that lets one process do a periodic chore (keep-alive touches) for the
   * session; returns whether this holder has it. Optional: without it, every process touches.
   */
  lease?(sessionId: string, name: string, holder: string, ttlMs: number): Promise<boolean>;
}

/**
 * The default store: state lives in this process only. It keeps the session's own state object
 * rather than copies, so loading and saving cost nothing on the hot path; sessions of this
 * process that share a store and a `sessionId` share that object.
 */
export class MemorySessionStore implements SessionStore {
  private readonly states = new Map<string, SessionState>();

  async load(sessionId: string): Promise<SessionState | undefined> {
    return this.states.get(sessionId);
  }

  async save(sessionId: string, state: SessionState): Promise<void> {
    this.states.set(sessionId, state);
  }

  async delete(sessionId: string): Promise<void> {
    this.states.delete(sessionId);
  }
}
