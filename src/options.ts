import OpenAI from 'openai';
import { z } from 'zod';
import type { ContainerOptions } from './container/types.js';
import { AZURE_MAX_ID_LENGTH, isAzureClient } from './container/azure.js';
import { DEFAULT_EXPIRES_AFTER_MINUTES } from './container/create.js';
import type { KeepAliveOptions } from './container/keep-alive.js';
import type { PricingOptions } from './cost/types.js';
import { InvalidOptionsError } from './errors.js';
import { rateLimiterSchema } from './ratelimit/options.js';
import type { RateLimiter } from './ratelimit/types.js';
import type { RetryOptions } from './retry/policy.js';
import type { SessionStore } from './store/types.js';
import { durationMs } from './timers.js';
import { isBase64, parseWith } from './validation.js';

/** Options of `new CodeInterpreterSession(options)`. */
export interface SessionOptions {
  /** The OpenAI client to use. Its own retries are turned off; the session retries through its limiter. @default new OpenAI() (reads OPENAI_API_KEY, OPENAI_BASE_URL) */
  client?: OpenAI;
  /** The model for every run (required: there is no silent default model). @example 'gpt-5' */
  model: string;
  /** System instructions for every run. @default none */
  instructions?: string;
  /** The container: adopt one by id, or how to create one. */
  container?: ContainerOptions;
  /** Touch the container while the session is in use so it does not expire; `false` turns it off. @default { intervalMs: 80% of expiry, idleTimeoutMs: 3_600_000 } */
  keepAlive?: false | KeepAliveOptions;
  /** Every request waits for a slot here. @default one limiter per process, 100 requests / 60 s, shared by all sessions */
  rateLimiter?: RateLimiter;
  /** Retry policy for failed requests; `false` sends each request once. @default { retries: 5, minTimeoutMs: 500, maxTimeoutMs: 8_000 } */
  retry?: false | RetryOptions;
  /**
   * Copy files the model writes to the Files API after each run, so they survive expiry. A copy
   * that fails does not fail the run (the response is made and the conversation continues from
   * it): the file is listed on `result.persistErrors` and emitted on `error`. @default false
   */
  persistGeneratedFiles?: boolean;
  /** Where the session keeps its state (container id, files, conversation). @default in memory */
  store?: SessionStore;
  /** Container prices for `stats.cost` and `keepAlive.maxIdleCostUsd`. @default DEFAULT_PRICES (OpenAI's from 2026-06-02) */
  pricing?: PricingOptions;
  /** Names the session in its store; another process with the same id and store continues it. @default a random UUID */
  sessionId?: string;
}

/** The longest backoff a retry may wait (`retry.minTimeoutMs`, `retry.maxTimeoutMs`). */
export const MAX_RETRY_WAIT_MS = 3_600_000;
/** Most retries of one request (`retry.retries`). */
export const MAX_RETRIES = 100;

const ContainerOptionsSchema = z.strictObject({
  // OpenAI's ids are `cntr_` + 48 hex digits; Azure OpenAI refuses ids over 64 characters in
  // tools[].container. A longer one is a proxy's composite id (LiteLLM) that must be translated back.
  id: z.string().min(1).max(AZURE_MAX_ID_LENGTH, `expected a container id (cntr_…) of at most ${AZURE_MAX_ID_LENGTH} characters; a longer one (e.g. a proxy's composite id) is refused by Azure OpenAI: pass the native cntr_ id`).optional(),
  name: z.string().min(1).max(256).optional(),
  memoryLimit: z.enum(['1g', '4g', '16g', '64g']).optional(),
  // The service refuses more than 20 (400 `integer_above_max_value`); say so before anything is sent.
  expiresAfterMinutes: z
    .number({ error: 'expected whole minutes from 1 to 20' })
    .int('expected whole minutes from 1 to 20')
    .min(1, 'expected whole minutes from 1 to 20')
    .max(20, 'expected whole minutes from 1 to 20: the API refuses more (400 integer_above_max_value); keep-alive keeps a container in use alive anyway')
    .optional(),
  networkPolicy: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('disabled') }),
      z
        .strictObject({
          type: z.literal('allowlist'),
          allowedDomains: z.array(z.string().min(1)).min(1),
          // Messages never repeat a secret's value.
          domainSecrets: z
            .array(z.strictObject({ domain: z.string().min(1), name: z.string().min(1), value: z.string({ error: 'expected the secret as a string' }).min(1, 'expected a non-empty secret') }))
            .min(1, 'expected at least one secret, or leave domainSecrets out')
            .optional(),
        })
        .superRefine((policy, ctx) => {
          policy.domainSecrets?.forEach((secret, i) => {
            if (!policy.allowedDomains.includes(secret.domain)) {
              ctx.addIssue({ code: 'custom', path: ['domainSecrets', i, 'domain'], message: `'${secret.domain}' is not in allowedDomains; add it there or drop the secret` });
            }
          });
        }),
    ])
    .optional(),
  skills: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('skill_reference'), skillId: z.string().min(1).max(64), version: z.string().regex(/^([1-9][0-9]*|latest)$/, "expected a positive integer or 'latest'").optional() }),
        z.strictObject({
          type: z.literal('inline'),
          name: z.string().min(1),
          description: z.string().min(1),
          zip: z.custom<Uint8Array | string>((v) => v instanceof Uint8Array || (typeof v === 'string' && v.trim().length > 0 && isBase64(v)), {
            error: 'expected the zip bundle as bytes (Uint8Array) or a base64 string (a string that is not base64 would be sent as it is and refused by the API: pass the bytes instead)',
          }),
        }),
      ], { error: "expected { type: 'skill_reference', skillId } or { type: 'inline', name, description, zip }" }),
    )
    .optional(),
});

const usd = z.number({ error: 'expected a price in USD' }).nonnegative();
const PricingSchema = z.strictObject({
  usdPer20Minutes: z.strictObject({ '1g': usd.optional(), '4g': usd.optional(), '16g': usd.optional(), '64g': usd.optional() }).optional(),
  minimumBilledMinutes: z.number().int().nonnegative().optional(),
});

export const SessionOptionsSchema = z.strictObject({
  client: z.custom<OpenAI>((v) => v instanceof OpenAI || (typeof v === 'object' && v !== null && 'responses' in v && 'containers' in v), {
    error: 'expected an OpenAI client (new OpenAI({ ... }))',
  }).optional(),
  model: z
    .string({ error: 'required: name the model for runs, e.g. "gpt-5"' })
    .refine((m) => m.trim() !== '', 'required: name the model for runs, e.g. "gpt-5"'),
  instructions: z.string().optional(),
  container: ContainerOptionsSchema.optional(),
  keepAlive: z
    .union([
      z.literal(false),
      z.strictObject({
        intervalMs: durationMs('keepAlive.intervalMs', { min: 1 }).optional(),
        idleTimeoutMs: durationMs('keepAlive.idleTimeoutMs', { min: 1 }).optional(),
        maxIdleCostUsd: z.number({ error: 'expected a budget in USD, e.g. 0.05' }).nonnegative().optional(),
      }),
    ])
    .optional(),
  rateLimiter: rateLimiterSchema().optional(),
  retry: z
    .union([
      z.literal(false),
      z.strictObject({
        retries: z.number().int().min(0).max(MAX_RETRIES, `at most ${MAX_RETRIES}`).optional(),
        minTimeoutMs: durationMs('retry.minTimeoutMs', { max: MAX_RETRY_WAIT_MS, integer: false }).optional(),
        maxTimeoutMs: durationMs('retry.maxTimeoutMs', { max: MAX_RETRY_WAIT_MS, integer: false }).optional(),
      }),
    ])
    .optional(),
  persistGeneratedFiles: z.boolean().optional(),
  pricing: PricingSchema.optional(),
  store: z.custom<SessionStore>((v) => {
    const s = v as SessionStore | undefined;
    return typeof s?.load === 'function' && typeof s.update === 'function' && typeof s.delete === 'function';
  }, { error: 'expected a SessionStore ({ load, update, delete }), e.g. new MemorySessionStore() or new RedisSessionStore({ redis })' }).optional(),
  sessionId: z.string().min(1).max(200).optional(),
});

export { parseWith, toIssues } from './validation.js';

export function validateSessionOptions(options: unknown): SessionOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('new CodeInterpreterSession()', [{ path: '', message: 'expected an options object with at least { model }' }]);
  }
  const parsed = parseWith(SessionOptionsSchema, options, 'new CodeInterpreterSession()') as SessionOptions;
  const retry = parsed.retry;
  if (retry && retry.minTimeoutMs !== undefined && retry.maxTimeoutMs !== undefined && retry.minTimeoutMs > retry.maxTimeoutMs) {
    throw new InvalidOptionsError('new CodeInterpreterSession()', [{ path: 'retry.minTimeoutMs', message: 'must not be larger than retry.maxTimeoutMs' }]);
  }
  const intervalMs = parsed.keepAlive === false ? undefined : parsed.keepAlive?.intervalMs;
  const expiresAfterMinutes = parsed.container?.expiresAfterMinutes ?? DEFAULT_EXPIRES_AFTER_MINUTES;
  if (intervalMs !== undefined && intervalMs >= expiresAfterMinutes * 60_000) {
    // A touch due after the container's idle expiry comes too late: the container expires between touches.
    throw new InvalidOptionsError('new CodeInterpreterSession()', [
      {
        path: 'keepAlive.intervalMs',
        message: `${intervalMs} ms is not less than the container's expiry (${expiresAfterMinutes} idle minutes = ${expiresAfterMinutes * 60_000} ms${parsed.container?.expiresAfterMinutes === undefined ? ', the default' : ', `container.expiresAfterMinutes`'}), so the container would expire between touches; pass a shorter interval (the default is 80% of the expiry) or leave it out`,
      },
    ]);
  }
  const name = parsed.container?.name;
  if (name !== undefined && name.length > AZURE_MAX_ID_LENGTH && isAzureClient((options as SessionOptions).client)) {
    throw new InvalidOptionsError('new CodeInterpreterSession()', [
      { path: 'container.name', message: `Azure OpenAI accepts container names of at most ${AZURE_MAX_ID_LENGTH} characters; this one has ${name.length}` },
    ]);
  }
  // The parsed copy drops nothing, but keep the caller's own objects (client, limiter, store).
  return { ...parsed, ...(options as SessionOptions) };
}
