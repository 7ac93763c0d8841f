import type { CostTracker } from '../cost/tracker.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { ContainerOrphans } from './orphans.js';
import { toContainerInfo, toNetworkPolicyParam, toSkillParam, type ApiContainer, type ContainerInfo, type ContainerOptions } from './types.js';

/** The API's idle expiry when a container says nothing else. */
export const DEFAULT_EXPIRES_AFTER_MINUTES = 20;

/**
 * One request makes the container and brings back every file in `fileIds` (`file_ids`). Once
 * sent, a create is not aborted (it may have made the container; the answer would be lost): an
 * abort only stops the waits before it. A create whose answer was lost is looked for before
 * making a second one; only names this session generated are unique enough to claim.
 */
export async function createContainer(
  deps: { runner: RequestRunner; options: ContainerOptions; defaultName: string; cost?: CostTracker | undefined },
  /** Where a create whose answer was lost is looked for. */
  orphans: ContainerOrphans,
  fileIds: string[],
  signal?: AbortSignal,
): Promise<ContainerInfo> {
  const { options, runner } = deps;
  const body = {
    name: options.name ?? deps.defaultName,
    ...(options.memoryLimit !== undefined && { memory_limit: options.memoryLimit }),
    ...(options.expiresAfterMinutes !== undefined && {
      expires_after: { anchor: 'last_active_at' as const, minutes: options.expiresAfterMinutes },
    }),
    ...(options.networkPolicy !== undefined && { network_policy: toNetworkPolicyParam(options.networkPolicy) }),
    ...(options.skills !== undefined && options.skills.length > 0 && { skills: options.skills.map(toSkillParam) }),
    ...(fileIds.length > 0 && { file_ids: fileIds }),
  };
  const startedAt = Math.floor(Date.now() / 1000);
  const created = (await runner.send('containers.create', (client, s) => client.containers.create(body, s ? { signal: s } : undefined), {
    signal,
    creates: 'container',
    detached: {},
    reconcile: () => orphans.claim(body.name, startedAt, options.name === undefined),
  })) as ApiContainer;
  runner.stats.containersCreated++;
  deps.cost?.created(created.id, created.memory_limit ?? options.memoryLimit, created.expires_after?.minutes ?? options.expiresAfterMinutes ?? DEFAULT_EXPIRES_AFTER_MINUTES);
  return toContainerInfo(created);
}
