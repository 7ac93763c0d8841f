/** `/containers`: create, list, retrieve, delete. */
import { errorResponse, invalidType, invalidValue, missingParameter, notFound } from '../api-error.js';
import { paginate } from '../pagination.js';
import type { Route } from '../router.js';
import type { SimState } from '../state.js';
import type { SimContainer, SimFile } from '../types.js';
import { isObject, seconds } from '../util.js';

export const MEMORY_LIMITS = ['1g', '4g', '16g', '64g'] as const;

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
    ...(container.networkPolicy ? { network_policy: container.networkPolicy } : {}),
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
    if (typeof ea.minutes !== 'number' || !Number.isInteger(ea.minutes) || ea.minutes < 1) {
      return errorResponse(400, `Invalid 'expires_after.minutes': expected a positive integer, but got ${JSON.stringify(ea.minutes)} instead.`, {
        param: 'expires_after.minutes',
        code: 'invalid_value',
      });
    }
    expiresAfterMinutes = ea.minutes;
  }
  const policy = body.network_policy;
  if (policy !== undefined) {
    if (!isObject(policy) || (policy.type !== 'disabled' && policy.type !== 'allowlist')) {
      return invalidValue('network_policy.type', isObject(policy) ? policy.type : policy, ['disabled', 'allowlist']);
    }
    if (policy.type === 'allowlist' && (!Array.isArray(policy.allowed_domains) || policy.allowed_domains.some((d) => typeof d !== 'string'))) {
      return missingParameter('network_policy.allowed_domains');
    }
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
    networkPolicy: policy as SimContainer['networkPolicy'],
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
