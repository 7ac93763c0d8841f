import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { sleep } from '../abort.js';
import { CodeInterpreterError, StoreUnavailableError, describeError } from '../errors.js';
import type { SessionFile } from '../files/types.js';
import { validateFactoryOptions } from '../ratelimit/options.js';
import { emptyState, type LeaseState, type SessionState, type SessionStore, type StateChange, type StateUpdate, type StoreCallOptions, type TranscriptEntry } from '../store/types.js';
import { describeValue, durationMs } from '../timers.js';
import { BoundedRedis, redisLikeSchema, type RedisLike } from './connection.js';

export interface RedisSessionStoreOptions {
  /**
   * An ioredis client, or a URL for a connection the store makes. A connection made from a URL
   * never keeps the process alive between calls (and `close()` quits it); a client you pass is
   * yours to `quit()`.
   */
  redis: RedisLike;
  /** Prefix of every key the store writes (no braces: the store adds the `{sessionId}` hash tag). @default 'cis:' */
  prefix?: string;
  /** How long a session's state is kept after its last write (whole ms, at least 1). @default 604_800_000 (7 days) */
  ttlMs?: number;
  /**
   * How long a closed session's id stays closed: every call of a session with that id, in any
   * process, fails with `SessionClosedError` meanwhile. Reusing a `sessionId` after `close()`
   * works again once it lapses (whole ms, at least 1). @default 3_600_000 (1 hour)
   */
  tombstoneTtlMs?: number;
  /**
   * How long one Redis call may take before it counts as unreachable: the call then rejects with
   * `StoreUnavailableError` (at least 1 ms). @default 2_000
   */
  redisTimeoutMs?: number;
  /**
   * How long a lock is held at most without being renewed (a crashed holder frees it then); it is
   * renewed every third of it while held (whole ms, at least 3). @default 60_000
   */
  lockTtlMs?: number;
  /** How long to wait for a lock before failing (0: try once). @default 120_000 */
  lockWaitMs?: number;
}

const prefixMessage = (issue: { input?: unknown }) =>
  `expected a string without braces, e.g. 'myapp:cis:' (the store adds {sessionId}, the Redis Cluster hash tag that keeps a session's keys in one slot), got ${describeValue(issue.input)}`;

/**
 * What `new RedisSessionStore()` accepts (unknown keys are refused), checked at construction: a
 * bad option fails there, not at the first call (nor only when Redis answers with an error). TTLs
 * go to Redis as whole milliseconds (no timer holds them, so they may exceed a timer's range); the
 * lock's renewal and each call's timeout are timers.
 */
const RedisSessionStoreOptionsSchema = z.strictObject({
  redis: redisLikeSchema,
  prefix: z
    .string({ error: prefixMessage })
    .refine((p) => !/[{}]/.test(p), { error: prefixMessage })
    .optional(),
  ttlMs: durationMs('ttlMs', { min: 1, max: Number.MAX_SAFE_INTEGER }).optional(),
  tombstoneTtlMs: durationMs('tombstoneTtlMs', { min: 1, max: Number.MAX_SAFE_INTEGER }).optional(),
  redisTimeoutMs: durationMs('redisTimeoutMs', { min: 1, integer: false }).optional(),
  lockTtlMs: durationMs('lockTtlMs', { min: 3 }).optional(),
  lockWaitMs: durationMs('lockWaitMs', { integer: false }).optional(),
});

/**
 * Applies one change, loads, or deletes, atomically (see `StateChange`). Layout, all keys of one
 * session in one hash slot (`{sessionId}`): `state` hash (containerId, the chain, a version),
 * `files` hash (fileId → file JSON) with `order` list (manifest order), `transcript` list, and the
 * `closed` tombstone. Every write refreshes the TTL of them all; nothing is written once the
 * tombstone is there.
 */
const STATE_SCRIPT = `
local function snapshot(status)
  local order = redis.call('LRANGE', KEYS[3], 0, -1)
  local files = {}
  if #order > 0 then files = redis.call('HMGET', KEYS[2], unpack(order)) end
  return {status, redis.call('HGETALL', KEYS[1]), files, redis.call('LRANGE', KEYS[4], 0, -1)}
end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'closed'} end
local op = ARGV[2]
if op == 'load' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'none'} end
  return snapshot('ok')
end
if op == 'delete' then
  local before = {'none'}
  if redis.call('EXISTS', KEYS[1]) == 1 then before = snapshot('ok') end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  redis.call('SET', KEYS[5], '1', 'PX', ARGV[3])
  return before
end
local status = 'ok'
if op == 'putFile' then
  if redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) == 1 then redis.call('RPUSH', KEYS[3], ARGV[3]) end
elseif op == 'removeFile' then
  if redis.call('HDEL', KEYS[2], ARGV[3]) == 1 then redis.call('LREM', KEYS[3], 0, ARGV[3]) end
elseif op == 'recordTurn' then
  if ARGV[3] == '1' then redis.call('DEL', KEYS[4]) end
  for i = 7, #ARGV do redis.call('RPUSH', KEYS[4], ARGV[i]) end
  redis.call('LTRIM', KEYS[4], -tonumber(ARGV[4]), -1)
  redis.call('HSET', KEYS[1], 'previousResponseId', ARGV[5], 'chainContainerId', ARGV[6])
elseif op == 'clearChain' then
  if redis.call('HGET', KEYS[1], 'chainContainerId') == ARGV[3] then
    redis.call('HDEL', KEYS[1], 'chainContainerId', 'previousResponseId')
  end
elseif op == 'replaceContainer' then
  local current = redis.call('HGET', KEYS[1], 'containerId') or ''
  if current ~= ARGV[3] then
    status = 'conflict'
  elseif ARGV[4] == '' then
    redis.call('HDEL', KEYS[1], 'containerId')
  else
    redis.call('HSET', KEYS[1], 'containerId', ARGV[4])
  end
else
  return redis.error_reply('unknown operation ' .. op)
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return snapshot(status)
`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, tonumber(ARGV[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
`;

type Snapshot = [status: 'ok' | 'conflict', state: string[], files: Array<string | null>, transcript: string[]] | ['none'] | ['closed'];

function changeArgs(change: StateChange): string[] {
  switch (change.type) {
    case 'putFile':
      return [change.file.fileId, JSON.stringify(change.file)];
    case 'removeFile':
      return [change.fileId];
    case 'recordTurn':
      return [change.reset ? '1' : '0', String(change.limit), change.previousResponseId, change.chainContainerId, ...change.entries.map((e) => JSON.stringify(e))];
    case 'clearChain':
      return [change.containerId];
    case 'replaceContainer':
      return [change.from ?? '', change.to ?? ''];
  }
}

function toState(snapshot: Snapshot): SessionState | undefined {
  if (snapshot[0] === 'closed') return { ...emptyState(), closed: true };
  if (snapshot[0] === 'none') return undefined;
  const [, flat, files, transcript] = snapshot;
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  const state = emptyState();
  if (hash.containerId) state.containerId = hash.containerId;
  if (hash.previousResponseId) state.conversation.previousResponseId = hash.previousResponseId;
  if (hash.chainContainerId) state.conversation.chainContainerId = hash.chainContainerId;
  state.files = files.filter((f): f is string => f !== null).map((f) => JSON.parse(f) as SessionFile);
  state.conversation.transcript = transcript.map((e) => JSON.parse(e) as TranscriptEntry);
  return state;
}

/**
 * Keeps session state in Redis, so a session constructed with the same `sessionId` in another
 * process or host continues the same container, files and conversation. Every change is one
 * atomic script (concurrent uploads and turns merge), the container is created and re-created
 * under a Redis lock (one container per session across processes), `close()` in any process ends
 * the session everywhere (a tombstone), keep-alive touches are done by the holder of a lease,
 * and every call is bounded by `redisTimeoutMs` and the caller's signal (`StoreUnavailableError`).
 */
export class RedisSessionStore implements SessionStore {
  private readonly redis: BoundedRedis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly tombstoneTtlMs: number;
  private readonly redisTimeoutMs: number;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  /** @throws InvalidOptionsError naming each bad option and what to pass instead. */
  constructor(options: RedisSessionStoreOptions) {
    validateFactoryOptions('new RedisSessionStore()', RedisSessionStoreOptionsSchema, options, "{ redis: 'redis://localhost:6379' }");
    this.redis = new BoundedRedis(options.redis, 'new RedisSessionStore()');
    this.prefix = options.prefix ?? 'cis:';
    this.ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60_000;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? 60 * 60_000;
    this.redisTimeoutMs = options.redisTimeoutMs ?? 2_000;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 120_000;
  }

  private key(sessionId: string, kind: string): string {
    // The braces make every key of one session hash to the same Redis Cluster slot.
    return `${this.prefix}{${sessionId}}:${kind}`;
  }

  private call<T>(operation: string, fn: (client: Redis) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.redis.call(fn, {
      timeoutMs: this.redisTimeoutMs,
      signal,
      unavailable: (cause) =>
        cause instanceof StoreUnavailableError
          ? cause
          : new StoreUnavailableError(
              operation,
              `RedisSessionStore: ${operation} failed: ${describeError(cause).replace(/\.+$/, '')}. Check that Redis is reachable, or raise \`redisTimeoutMs\` (now ${this.redisTimeoutMs} ms).`,
              { cause },
            ),
    });
  }

  private async state(sessionId: string, operation: string, args: string[], signal?: AbortSignal): Promise<Snapshot> {
    const keys = ['state', 'files', 'order', 'transcript', 'closed'].map((kind) => this.key(sessionId, kind));
    return (await this.call(operation, (client) => client.eval(STATE_SCRIPT, keys.length, ...keys, String(this.ttlMs), ...args), signal)) as Snapshot;
  }

  async load(sessionId: string, options: StoreCallOptions = {}): Promise<SessionState | undefined> {
    return toState(await this.state(sessionId, 'load', ['load'], options.signal));
  }

  async update(sessionId: string, change: StateChange, options: StoreCallOptions = {}): Promise<StateUpdate> {
    const snapshot = await this.state(sessionId, `update (${change.type})`, [change.type, ...changeArgs(change)], options.signal);
    return { state: toState(snapshot) ?? emptyState(), applied: snapshot[0] === 'ok' };
  }

  async delete(sessionId: string, options: StoreCallOptions = {}): Promise<SessionState | undefined> {
    return toState(await this.state(sessionId, 'delete', ['delete', String(this.tombstoneTtlMs)], options.signal));
  }

  async withLock<T>(sessionId: string, name: string, fn: () => Promise<T>, options: StoreCallOptions = {}): Promise<T> {
    const { signal } = options;
    const key = this.key(sessionId, `lock:${name}`);
    const token = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    while ((await this.call(`lock '${name}'`, (client) => client.set(key, token, 'PX', this.lockTtlMs, 'NX'), signal)) !== 'OK') {
      if (Date.now() > deadline) {
        throw new CodeInterpreterError(`Timed out after ${this.lockWaitMs} ms waiting for the '${name}' lock of session ${sessionId}; raise \`lockWaitMs\` if creating a container is slow.`);
      }
      await sleep(25 + Math.random() * 25, signal);
    }
    // Held as long as `fn` runs: renewed every third of its TTL (a crashed holder frees it within lockTtlMs).
    const renewal = setInterval(() => {
      this.call(`renew lock '${name}'`, (client) => client.eval(RENEW_SCRIPT, 1, key, token, String(this.lockTtlMs))).catch(() => {
        // The next renewal tries again; if the lock lapses, the store's compare-and-set still decides.
      });
    }, this.lockTtlMs / 3);
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      // Not awaited: a release that fails leaves the lock to lapse after lockTtlMs, and must neither
      // delay nor turn into an error the outcome of `fn` (a container that was made).
      void this.call(`unlock '${name}'`, (client) => client.eval(RELEASE_SCRIPT, 1, key, token)).catch(() => {});
    }
  }

  async lease(sessionId: string, name: string, holder: string, ttlMs: number, options: StoreCallOptions = {}): Promise<LeaseState> {
    const key = this.key(sessionId, `lease:${name}`);
    const [held, remainingMs] = (await this.call(`lease '${name}'`, (client) => client.eval(LEASE_SCRIPT, 1, key, holder, String(Math.ceil(ttlMs))), options.signal)) as [number, number];
    return { held: held === 1, remainingMs: Math.max(0, remainingMs) };
  }

  /**
   * Quits the connection if the store made it from a URL. Not needed for the process to exit (an
   * idle connection made from a URL never keeps it alive); use it to free the connection early.
   */
  close(): Promise<void> {
    return this.redis.close(this.redisTimeoutMs);
  }
}
