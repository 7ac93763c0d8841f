/** A container as the session reports it. */
export interface ContainerInfo {
  id: string;
  name: string;
  /** As the API reports it: `running`, `expired`, … */
  status: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds, when the API reports it. */
  lastActiveAt?: number;
  /** Idle minutes after which the API expires the container. */
  expiresAfterMinutes?: number;
  memoryLimit?: string;
}

export type MemoryLimit = '1g' | '4g' | '16g' | '64g';

/**
 * A secret the container's outbound requests to `domain` get (`domain_secrets` of the allow-list).
 * Its `value` is scrubbed from every error and event the session produces, like the API key.
 */
export interface DomainSecret {
  /** One of the policy's `allowedDomains`. */
  domain: string;
  /** The secret's name, as the code refers to it. */
  name: string;
  /** The secret itself. */
  value: string;
}

export type NetworkPolicy =
  | { type: 'disabled' }
  | {
      type: 'allowlist';
      /** Domains the container may reach. */
      allowedDomains: string[];
      /** Secrets injected for allow-listed domains; sent again to every re-created container. @default none */
      domainSecrets?: DomainSecret[];
    };

/**
 * A skill the container is created with: one made with the Skills API (`/v1/skills`), by id, or an
 * inline zipped skill. Sent again to every re-created container, like the session's files.
 */
export type ContainerSkill =
  | {
      type: 'skill_reference';
      /** `skill_…` id from the Skills API. */
      skillId: string;
      /** A positive integer as a string, or `'latest'`. @default the skill's default version */
      version?: string;
    }
  | {
      type: 'inline';
      name: string;
      description: string;
      /** The skill's zip bundle: its bytes, or base64 of them. */
      zip: Uint8Array | string;
    };

/** How the session's container is made. Unset fields are not sent: the API owns their defaults. */
export interface ContainerOptions {
  /** Adopt this existing container instead of creating one (retrieved first; an expired one is replaced). */
  id?: string;
  /** Sent on create; the API requires a name. @default `code-interpreter-session-<session id>` */
  name?: string;
  /** @default the API's (`1g`) */
  memoryLimit?: MemoryLimit;
  /**
   * Idle minutes before the API expires the container, 1 to 20 (the API's maximum: it refuses more
   * with 400 `integer_above_max_value`). Keep-alive touches keep a session's container alive longer.
   * @default the API's (20)
   */
  expiresAfterMinutes?: number;
  /** Outbound network access of the container (and its domain secrets). @default the API's */
  networkPolicy?: NetworkPolicy;
  /** Skills installed in the container; a re-created container gets them again. @default none */
  skills?: ContainerSkill[];
}

/** The container object as the API sends it (the fields this library reads). */
export interface ApiContainer {
  id: string;
  name: string;
  status: string;
  created_at: number;
  last_active_at?: number;
  expires_after?: { anchor?: string; minutes?: number };
  memory_limit?: string;
}

export function toContainerInfo(c: ApiContainer): ContainerInfo {
  const info: ContainerInfo = { id: c.id, name: c.name, status: c.status, createdAt: c.created_at };
  if (c.last_active_at !== undefined) info.lastActiveAt = c.last_active_at;
  if (c.expires_after?.minutes !== undefined) info.expiresAfterMinutes = c.expires_after.minutes;
  if (c.memory_limit !== undefined) info.memoryLimit = c.memory_limit;
  return info;
}

/** The `network_policy` of a create request. */
export function toNetworkPolicyParam(policy: NetworkPolicy) {
  if (policy.type === 'disabled') return { type: 'disabled' as const };
  return {
    type: 'allowlist' as const,
    allowed_domains: policy.allowedDomains,
    ...(policy.domainSecrets?.length && { domain_secrets: policy.domainSecrets.map(({ domain, name, value }) => ({ domain, name, value })) }),
  };
}

/** A `skills` entry of a create request (`SkillReferenceParam` or `InlineSkillParam`). */
export function toSkillParam(skill: ContainerSkill) {
  if (skill.type === 'skill_reference') {
    return { type: 'skill_reference' as const, skill_id: skill.skillId, ...(skill.version !== undefined && { version: skill.version }) };
  }
  const data = typeof skill.zip === 'string' ? skill.zip : Buffer.from(skill.zip.buffer, skill.zip.byteOffset, skill.zip.byteLength).toString('base64');
  return { type: 'inline' as const, name: skill.name, description: skill.description, source: { type: 'base64' as const, media_type: 'application/zip' as const, data } };
}

/** Every secret value in the container options (to scrub from errors and events). */
export function containerSecrets(options: ContainerOptions | undefined): string[] {
  const policy = options?.networkPolicy;
  return policy?.type === 'allowlist' ? (policy.domainSecrets ?? []).map((s) => s.value) : [];
}
