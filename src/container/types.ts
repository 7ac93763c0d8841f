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

export type NetworkPolicy = { type: 'disabled' } | { type: 'allowlist'; allowedDomains: string[] };

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
  /** Outbound network access of the container. @default the API's */
  networkPolicy?: NetworkPolicy;
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
