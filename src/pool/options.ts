import { z } from 'zod';
import { InvalidOptionsError } from '../errors.js';
import { parseWith, validateSessionOptions } from '../options.js';
import type { SessionOptions } from '../options.js';
import type { EndMode, SessionPoolOptions, WhenFull } from './types.js';

export interface ResolvedPoolOptions {
  sessionOptions: (key: string) => Omit<SessionOptions, 'sessionId'>;
  idleMs: number;
  maxSessions: number;
  maxLiveContainers: number;
  whenFull: WhenFull;
  waitTimeoutMs: number;
  end: EndMode;
  sessionId: (key: string) => string;
  sweepIntervalMs: number;
  now: () => number;
}

/** `maxSessions` when not given. */
const DEFAULT_MAX_SESSIONS = 10_000;

const ms = (name: string) => z.number({ error: `expected ${name} in milliseconds` }).int().positive();
const count = (name: string) => z.number({ error: `expected ${name} as a whole number >= 1` }).int().min(1);

const PoolOptionsSchema = z.strictObject({
  session: z.union([
    z.function(),
    z.looseObject({ sessionId: z.undefined({ error: 'the pool names sessions by key: pass `sessionId: (key) => string` to the pool instead' }).optional() }),
  ], { error: 'expected the shared session options ({ model, client, ... }) or a function of the key returning them' }),
  idleMs: ms('idleMs').optional(),
  maxSessions: count('maxSessions').optional(),
  maxLiveContainers: count('maxLiveContainers').optional(),
  whenFull: z.enum(['evict', 'wait', 'fail']).optional(),
  waitTimeoutMs: ms('waitTimeoutMs').optional(),
  end: z.enum(['close', 'detach']).optional(),
  sessionId: z.function().optional(),
  sweepIntervalMs: ms('sweepIntervalMs').optional(),
  now: z.function().optional(),
});

/**
 * Checks the pool's own options (the session options are checked by the first session made,
 * and once here when they are an object, so a bad model or client fails at construction).
 */
export function validatePoolOptions(options: SessionPoolOptions): ResolvedPoolOptions {
  parseWith(PoolOptionsSchema, options, 'new SessionPool()');
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (options.maxLiveContainers !== undefined && options.maxLiveContainers > maxSessions) {
    // Each open session holds at most one container (and detached ones are not counted): such a cap never applies.
    throw new InvalidOptionsError('new SessionPool()', [
      {
        path: 'maxLiveContainers',
        message: `${options.maxLiveContainers} is more than maxSessions (${maxSessions}${options.maxSessions === undefined ? ', the default' : ''}), and each open session holds at most one container, so it would never apply; pass at most ${maxSessions}, or raise \`maxSessions\``,
      },
    ]);
  }
  const idleMs = options.idleMs ?? 30 * 60_000;
  const shared = options.session;
  const withPoolDefaults = (given: Omit<SessionOptions, 'sessionId'>): Omit<SessionOptions, 'sessionId'> => {
    // Keep-alive stops when the pool would close the session anyway, unless told otherwise.
    const keepAlive = given.keepAlive;
    if (keepAlive === false || keepAlive?.idleTimeoutMs !== undefined) return given;
    return { ...given, keepAlive: { ...keepAlive, idleTimeoutMs: idleMs } };
  };
  let sessionOptions: ResolvedPoolOptions['sessionOptions'];
  if (typeof shared === 'function') {
    sessionOptions = (key) => withPoolDefaults(shared(key));
  } else {
    const fixed = withPoolDefaults(shared);
    try {
      validateSessionOptions(fixed); // bad shared options fail here, not at the first get()
    } catch (error) {
      if (!(error instanceof InvalidOptionsError)) throw error;
      throw new InvalidOptionsError('new SessionPool()', error.issues.map((i) => ({ path: i.path ? `session.${i.path}` : 'session', message: i.message })));
    }
    sessionOptions = () => fixed;
  }
  return {
    sessionOptions,
    idleMs,
    maxSessions,
    maxLiveContainers: options.maxLiveContainers ?? Infinity,
    whenFull: options.whenFull ?? 'evict',
    waitTimeoutMs: options.waitTimeoutMs ?? 30_000,
    end: options.end ?? 'close',
    sessionId: options.sessionId ?? ((key) => key),
    sweepIntervalMs: options.sweepIntervalMs ?? Math.min(idleMs, 60_000),
    now: options.now ?? Date.now,
  };
}
