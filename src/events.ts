import type { ContainerInfo } from './container/types.js';
import type { SessionFile } from './files/types.js';

/** The payload of every event a session emits, by name. */
export interface SessionEvents {
  'container.created': { container: ContainerInfo };
  'container.expired': { containerId: string; reason: string };
  'container.recreated': { previousContainerId: string; container: ContainerInfo; restoredFiles: number };
  keepalive: { containerId: string; idleMs: number };
  'file.uploaded': { file: SessionFile };
  'request.retry': { operation: string; attempt: number; delayMs: number; status: number | undefined; message: string };
  'request.throttled': { operation: string; waitedMs: number };
  error: { operation: string; error: Error };
}

export type SessionEventName = keyof SessionEvents;
export type SessionListener<K extends SessionEventName> = (payload: SessionEvents[K]) => void;

/**
 * A tiny typed emitter. A throwing listener is reported on `error` (or, for `error` itself,
 * dropped) rather than breaking the request that emitted.
 */
export class TypedEmitter {
  private readonly listeners = new Map<SessionEventName, Set<(payload: never) => void>>();

  on<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return this;
  }

  off<K extends SessionEventName>(event: K, listener: SessionListener<K>): this {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
    return this;
  }

  emit<K extends SessionEventName>(event: K, payload: SessionEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as SessionListener<K>)(payload);
      } catch (error) {
        if (event !== 'error') this.emit('error', { operation: `listener for ${event}`, error: error as Error });
      }
    }
  }
}
