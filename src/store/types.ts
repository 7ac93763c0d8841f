import type { SessionFile } from '../files/types.js';

/** One turn of plain text, kept so a conversation can be carried into a new container. */
export interface TranscriptEntry {
  role: 'user' | 'assistant';
  text: string;
}

/** Everything a session must remember to go on, possibly in another process. */
export interface SessionState {
  containerId?: string;
  /** The manifest: files brought back into every new container, in the order they were added. */
  files: SessionFile[];
  conversation: {
    previousResponseId?: string;
    /** The container the response chain's code calls ran in; a chain is dead once it is. */
    chainContainerId?: string;
    transcript: TranscriptEntry[];
  };
  /**
   * Set by a store when the session was closed (`close()` in any process sharing the store) and
   * its tombstone has not lapsed yet: every call of every session with this id then fails with
   * `SessionClosedError`. A closed state carries no other data.
   */
  closed?: true;
}

export function emptyState(): SessionState {
  return { files: [], conversation: { transcript: [] } };
}

/**
 * One change to a session's state. A store applies each one atomically against the state it holds
 * *now* (not against a copy the caller read earlier), so concurrent writers in several processes
 * merge instead of overwriting each other: two uploads both land in the manifest, two turns both
 * land in the transcript. {@link applyStateChange} is the reference semantics.
 */
export type StateChange =
  /** Adds a file to the manifest, or replaces the entry with the same `fileId` (keeping its place). */
  | { type: 'putFile'; file: SessionFile }
  /** Removes a file from the manifest (no-op when it is not there). */
  | { type: 'removeFile'; fileId: string }
  /**
   * Records a finished turn: appends `entries` to the transcript (after emptying it when `reset`),
   * keeps its last `limit` entries, and moves the response chain to `previousResponseId`, whose
   * code calls ran in `chainContainerId`.
   */
  | { type: 'recordTurn'; entries: TranscriptEntry[]; limit: number; reset: boolean; previousResponseId: string; chainContainerId: string }
  /** Forgets the response chain, but only while it still belongs to `containerId` (a version check: a newer chain stays). */
  | { type: 'clearChain'; containerId: string }
  /**
   * Compare-and-set of the container: sets `containerId` to `to` only if it is `from` now
   * (`undefined` meaning "none"). When it is not, nothing changes and the update reports
   * `applied: false`: another writer replaced the container first.
   */
  | { type: 'replaceContainer'; from: string | undefined; to: string | undefined };

/** What {@link SessionStore.update} answers. */
export interface StateUpdate {
  /** The state after the change (all of it, including what other processes wrote). */
  state: SessionState;
  /** False when a `replaceContainer` found another container than `from`, or the session is closed. */
  applied: boolean;
}

/** Per-call options every store method takes. */
export interface StoreCallOptions {
  /**
   * The caller's signal: a store should stop waiting (and reject with `signal.reason`) when it
   * aborts. The session also stops waiting for a store that ignores it.
   */
  signal?: AbortSignal;
}

/** What {@link SessionStore.lease} answers. */
export interface LeaseState {
  /** This holder has the lease now (taken or renewed for `ttlMs`). */
  held: boolean;
  /** How long the lease lasts from now: `ttlMs` for the holder, what is left of another holder's otherwise. */
  remainingMs: number;
}

/**
 * Where a session keeps its state. The default keeps it in memory; `RedisSessionStore`
 * (`code-interpreter-session/redis`) shares it between processes and hosts.
 *
 * A store of your own (a database table, say) implements `load`, `update` and `delete`; see
 * docs/lifecycle.md ("Sharing a session between processes"). Its rules: `update` applies the
 * change atomically to the state as it is in the store at that moment ({@link applyStateChange}
 * gives the semantics; a row version checked on write is enough); a closed session (tombstone)
 * answers `closed: true` from `load` and `update`; every call is bounded in time and honours the
 * signal. A store without `withLock` still never ends up with two containers for one session
 * (the `replaceContainer` compare-and-set decides, and the loser deletes its own), but may
 * create one more than needed when processes start together.
 */
export interface SessionStore {
  /** The state, `{ closed: true, … }` when the session was closed, or undefined when there is none. */
  load(sessionId: string, options?: StoreCallOptions): Promise<SessionState | undefined>;
  /** Applies one change atomically and answers the state after it. On a closed session nothing is applied. */
  update(sessionId: string, change: StateChange, options?: StoreCallOptions): Promise<StateUpdate>;
  /**
   * Ends the session for every process: atomically takes the state away (answering what it was,
   * so the caller can delete its container and files) and leaves a tombstone for a while, so that
   * later calls anywhere see `closed: true` instead of starting afresh.
   */
  delete(sessionId: string, options?: StoreCallOptions): Promise<SessionState | undefined>;
  /**
   * Runs `fn` while holding the named lock for this session across every process that shares the
   * store (creating or re-creating the container). Optional: without it, the session's own
   * in-process single flight and the `replaceContainer` compare-and-set are the only guards.
   */
  withLock?<T>(sessionId: string, name: string, fn: () => Promise<T>, options?: StoreCallOptions): Promise<T>;
  /**
   * Takes or renews a lease that lets one holder do a periodic chore (keep-alive touches) for the
   * session. Optional: without it, every process touches.
   */
  lease?(sessionId: string, name: string, holder: string, ttlMs: number, options?: StoreCallOptions): Promise<LeaseState>;
}

/**
 * Applies `change` to `state` in place: the semantics every store implements. Returns whether it
 * applied (false only for a `replaceContainer` whose `from` is not the current container).
 * Useful to write a store: load the row, apply, write it back if its version did not move.
 */
export function applyStateChange(state: SessionState, change: StateChange): boolean {
  switch (change.type) {
    case 'putFile': {
      const at = state.files.findIndex((f) => f.fileId === change.file.fileId);
      if (at >= 0) state.files[at] = { ...change.file };
      else state.files.push({ ...change.file });
      return true;
    }
    case 'removeFile':
      state.files = state.files.filter((f) => f.fileId !== change.fileId);
      return true;
    case 'recordTurn': {
      const conversation = state.conversation;
      conversation.transcript = [...(change.reset ? [] : conversation.transcript), ...change.entries.map((e) => ({ ...e }))].slice(-change.limit);
      conversation.previousResponseId = change.previousResponseId;
      conversation.chainContainerId = change.chainContainerId;
      return true;
    }
    case 'clearChain':
      if (state.conversation.chainContainerId === change.containerId) {
        delete state.conversation.chainContainerId;
        delete state.conversation.previousResponseId;
      }
      return true;
    case 'replaceContainer':
      if (state.containerId !== change.from) return false;
      if (change.to === undefined) delete state.containerId;
      else state.containerId = change.to;
      return true;
  }
}

/**
 * A deep copy, so a caller never holds (or mutates) a store's own object. Every level of
 * {@link SessionState} is copied by hand (its leaves are strings, numbers and booleans): several
 * times faster than `structuredClone`, and the memory store copies twice per run.
 */
export function copyState(state: SessionState): SessionState {
  const { files, conversation, ...rest } = state;
  return {
    ...rest,
    files: files.map((file) => ({ ...file })),
    conversation: { ...conversation, transcript: conversation.transcript.map((entry) => ({ ...entry })) },
  };
}
