import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep } from '../abort.js';
import { CodeInterpreterError } from '../errors.js';
import type { SessionState, SessionStore } from '../store/types.js';
import { connectRedis, type RedisLike } from './connection.js';

export interface RedisSessionStoreOptions {
  /** An ioredis client, or a URL for a connection the store makes (and closes in `close()`). */
  redis: RedisLike;
  /** Prefix of every key the store writes. @default 'cis:' */
  prefix?: string;
  /** How long a session's state is kept after its last write. @default 604_800_000 (7 days) */
  ttlMs?: number;
  /** How long a lock is held at most (a crashed holder frees it then). @default 60_000 */
  lockTtlMs?: number;
  /** How long to wait for a lock before failing. @default 120_000 */
  lockWaitMs?: number;
}

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/**
 * Keeps session state in Redis, so a session constructed with the same `sessionId` in another
 * process or host continues the same container and conversation. Re-creation after expiry runs
 * under a Redis lock, so one expiry makes one new container across all processes; keep-alive
 * touches are done by whichever process holds a lease.
 */
export class RedisSessionStore implements SessionStore {
  private readonly connection: Promise<{ client: Redis; owned: boolean }>;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(options: RedisSessionStoreOptions) {
    this.connection = connectRedis(options.redis, 'new RedisSessionStore()');
    this.connection.catch(() => {}); // reported by the first call
    this.prefix = options.prefix ?? 'cis:';
    this.ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60_000;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 120_000;
  }

  private async client(): Promise<Redis> {
    return (await this.connection).client;
  }

  private key(kind: string, sessionId: string, name?: string): string {
    return `${this.prefix}${kind}:${sessionId}${name ? `:${name}` : ''}`;
  }

  async load(sessionId: string): Promise<SessionState | undefined> {
    const raw = await (await this.client()).get(this.key('session', sessionId));
    return raw === null ? undefined : (JSON.parse(raw) as SessionState);
  }

  async save(sessionId: string, state: SessionState): Promise<void> {
    await (await this.client()).set(this.key('session', sessionId), JSON.stringify(state), 'PX', this.ttlMs);
  }

  async delete(sessionId: string): Promise<void> {
    await (await this.client()).del(this.key('session', sessionId));
  }

  async withLock<T>(sessionId: string, name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.client();
    const key = this.key('lock', sessionId, name);
    const token = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    while ((await client.set(key, token, 'PX', this.lockTtlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        throw new CodeInterpreterError(`Timed out after ${this.lockWaitMs} ms waiting for the '${name}' lock of session ${sessionId}; raise \`lockWaitMs\` if re-creation is slow.`);
      }
      await sleep(25 + Math.random() * 25);
    }
    try {
      return await fn();
    } finally {
      await client.eval(RELEASE_SCRIPT, 1, key, token);
    }
  }

  async lease(sessionId: string, name: string, holder: string, ttlMs: number): Promise<boolean> {
    const client = await this.client();
    return (await client.eval(LEASE_SCRIPT, 1, this.key('lease', sessionId, name), holder, Math.ceil(ttlMs))) === 1;
  }

  /** Closes the connection if the store made it from a URL. */
  async close(): Promise<void> {
    const { client, owned } = await this.connection;
    if (owned) await client.quit().catch(() => client.disconnect());
  }
}
