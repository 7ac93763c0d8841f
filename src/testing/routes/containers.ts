/** `/containers`: create, list, retrieve, delete. */
import { errorResponse, invalidType, invalidValue, missingParameter, notFound } from '../api-error.js';
import { paginate } from '../pagination.js';
import type { Route } from '../router.js';
import type { SimState } from '../state.js';
import type { SimContainer, SimFile } from '../types.js';
import { isObject, seconds } from '../util.js';

export const MEMORY_LIMITS = ['1g', '4g', '16g', '64g'] as const;
/** The service refuses `expires_after.minutes` outside 1–20 (FACTS: `integer_above_max_value`). */
const MIN_EXPIRY_MINUTES = 1;
const MAX_EXPIRY_MINUTES = 20;

/** The API's answer to an integer out of its range, or undefined when it is in range. */
export function integerBounds(param: string, value: number, min: number, max: number): Response | undefined {
  if (value > max) {
    return errorResponse(400, `Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`, {
      param,
      code: 'integer_above_max_value',
    });
  }
  if (value < min) {
    return errorResponse(400, `Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`, {
      param,
      code: 'integer_below_min_value',
    });
  }
  return undefined;
}

/** A `network_policy` as sent (secrets included, for assertions), or the API's 400. */
export function networkPolicy(policy: unknown, param: string): SimContainer['networkPolicy'] | Response {
  if (policy === undefined) return undefined;
  if (!isObject(policy) || (policy.type !== 'disabled' && policy.type !== 'allowlist')) {
    return invalidValue(`${param}.type`, isObject(policy) ? policy.type : policy, ['disabled', 'allowlist']);
  }
  if (policy.type === 'disabled') return { type: 'disabled' };
  const domains = policy.allowed_domains;
  if (!Array.isArray(domains) || domains.length === 0 || domains.some((d) => typeof d !== 'string')) {
    return domains === undefined ? missingParameter(`${param}.allowed_domains`) : invalidType(`${param}.allowed_domains`, 'a non-empty array of strings', domains);
  }
  const secrets = policy.domain_secrets;
  if (secrets === undefined) return { type: 'allowlist', allowed_domains: domains as string[] };
  if (!Array.isArray(secrets) || secrets.length === 0) return invalidType(`${param}.domain_secrets`, 'a non-empty array', secrets);
  for (const [i, secret] of secrets.entries()) {
    for (const key of ['domain', 'name', 'value'] as const) {
      const value = isObject(secret) ? secret[key] : undefined;
      if (value === undefined) return missingParameter(`${param}.domain_secrets[${i}].${key}`);
      // The value is never echoed: the error names the parameter only.
      if (typeof value !== 'string' || value === '') {
        return errorResponse(400, `Invalid '${param}.domain_secrets[${i}].${key}': expected a non-empty string.`, {
          param: `${param}.domain_secrets[${i}].${key}`,
          code: 'invalid_type',
        });
      }
    }
    const domain = (secret as { domain: string }).domain;
    if (!(domains as string[]).includes(domain)) {
      return errorResponse(400, `Invalid '${param}.domain_secrets[${i}].domain': '${domain}' is not in allowed_domains.`, {
        param: `${param}.domain_secrets[${i}].domain`,
        code: 'invalid_value',
      });
    }
  }
  return {
    type: 'allowlist',
    allowed_domains: domains as string[],
    domain_secrets: (secrets as Array<{ domain: string; name: string; value: string }>).map(({ domain, name, value }) => ({ domain, name, value })),
  };
}

/** `skills`: skill references (`skill_reference` + `skill_id`) or inline zipped skills. */
function skillsError(skills: unknown): Response | undefined {
  if (!Array.isArray(skills)) return invalidType('skills', 'an array', skills);
  for (const [i, skill] of skills.entries()) {
    const at = `skills[${i}]`;
    if (!isObject(skill)) return invalidType(at, 'an object', skill);
    if (skill.type === 'skill_reference') {
      if (typeof skill.skill_id !== 'string' || skill.skill_id.length < 1 || skill.skill_id.length > 64) {
        return skill.skill_id === undefined ? missingParameter(`${at}.skill_id`) : invalidType(`${at}.skill_id`, 'a string of 1 to 64 characters', skill.skill_id);
      }
      if (skill.version !== undefined && typeof skill.version !== 'string') return invalidType(`${at}.version`, 'a string', skill.version);
    } else if (skill.type === 'inline') {
      for (const key of ['name', 'description'] as const) {
        if (typeof skill[key] !== 'string') return skill[key] === undefined ? missingParameter(`${at}.${key}`) : invalidType(`${at}.${key}`, 'a string', skill[key]);
      }
      const source = skill.source;
      if (!isObject(source)) return source === undefined ? missingParameter(`${at}.source`) : invalidType(`${at}.source`, 'an object', source);
      if (source.type !== 'base64') return invalidValue(`${at}.source.type`, source.type, ['base64']);
      if (source.media_type !== 'application/zip') return invalidValue(`${at}.source.media_type`, source.media_type, ['application/zip']);
      if (typeof source.data !== 'string' || source.data === '') return missingParameter(`${at}.source.data`);
    } else {
      return invalidValue(`${at}.type`, skill.type, ['skill_reference', 'inline']);
    }
  }
  return undefined;
}

export function containerJson(state: SimState, container: SimContainer) {
  state.checkExpiry(container);
  return {
    id: container.id,
    object: 'container',
    name: container.name,
    created_at: seconds(container.createdAt),
    status: container.status,
    last_active_at: seconds(container.lastActiveAt),
    expires_after: {
      anchor: 'last_active_at',
      minutes: container.expiresAfterMinutes ?? Math.max(1, Math.round(state.expireAfterIdleMs / 60_000)),
    },
    memory_limit: container.memoryLimit,
    // Secrets are never echoed back: the policy is answered without `domain_secrets`.
    ...(container.networkPolicy
      ? { network_policy: container.networkPolicy.type === 'allowlist' ? { type: 'allowlist', allowed_domains: container.networkPolicy.allowed_domains } : { type: 'disabled' } }
      : {}),
  };
}

/** Runs `fn` on a live container (refreshing `last_active_at`); 404 for unknown, deleted or expired ones. */
export function withRunningContainer(
  state: SimState,
  id: string,
  fn: (c: SimContainer) => Response | Promise<Response>,
): Response | Promise<Response> {
  const container = state.containers.get(id);
  if (!container || container.status === 'deleted') return notFound('container', id);
  state.checkExpiry(container);
  if (container.status === 'expired') return errorResponse(404, `Container with id '${id}' is expired.`);
  container.lastActiveAt = state.now();
  return fn(container);
}

function createContainer(state: SimState, body: unknown): Response {
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
    if (typeof ea.minutes !== 'number' || !Number.isInteger(ea.minutes)) return invalidType('expires_after.minutes', 'an integer', ea.minutes);
    const bounds = integerBounds('expires_after.minutes', ea.minutes, MIN_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES);
    if (bounds) return bounds;
    expiresAfterMinutes = ea.minutes;
  }
  const policy = networkPolicy(body.network_policy, 'network_policy');
  if (policy instanceof Response) return policy;
  const skills = body.skills;
  if (skills !== undefined) {
    const bad = skillsError(skills);
    if (bad) return bad;
  }
  const fileIds = body.file_ids ?? [];
  if (!Array.isArray(fileIds) || fileIds.some((f) => typeof f !== 'string')) return invalidType('file_ids', 'an array of strings', fileIds);
  const sources: SimFile[] = [];
  for (const fileId of fileIds as string[]) {
    const file = state.liveFile(fileId);
    if (!file) return errorResponse(404, `No such File object: ${fileId}`, { param: 'file_ids' });
    sources.push(file);
  }
  const container = state.newContainer({
    name: body.name,
    memoryLimit: (body.memory_limit as SimContainer['memoryLimit'] | undefined) ?? '1g',
    expiresAfterMinutes,
    networkPolicy: policy,
    skills: skills as unknown[] | undefined,
  });
  for (const file of sources) state.storeContainerFile(container, file.filename, file.content, 'user', file.id);
  return Response.json(containerJson(state, container));
}

function retrieveContainer(state: SimState, id: string): Response {
  const container = state.containers.get(id);
  if (!container || container.status === 'deleted') return notFound('container', id);
  state.checkExpiry(container);
  if (container.status === 'running') container.lastActiveAt = state.now();
  return Response.json(containerJson(state, container));
}

function deleteContainer(state: SimState, id: string): Response {
  const container = state.containers.get(id);
  if (!container || container.status === 'deleted') return notFound('container', id);
  container.status = 'deleted';
  container.files.clear();
  return Response.json({ id, object: 'container.deleted', deleted: true });
}

export const containerRoutes: Route[] = [
  { method: 'POST', path: '/containers', handle: ({ state, json }) => createContainer(state, json) },
  {
    method: 'GET',
    path: '/containers',
    handle: ({ state, query }) =>
      paginate(
        [...state.containers.values()].filter((c) => c.status !== 'deleted' && (query.name === undefined || c.name === query.name)),
        query,
        (c) => containerJson(state, c),
      ),
  },
  { method: 'GET', path: '/containers/{container_id}', handle: ({ state, params }) => retrieveContainer(state, params.container_id!) },
  { method: 'DELETE', path: '/containers/{container_id}', handle: ({ state, params }) => deleteContainer(state, params.container_id!) },
];
