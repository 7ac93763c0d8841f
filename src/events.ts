import type { ContainerInfo } from './container/types.js';
import type { ContainerCost } from './cost/tracker.js';
import type { SessionFile } from './files/types.js';
import { patternScrubber, type SecretScrubber } from './secrets.js';

/** The payload of every event a session emits, by name. */
export interface SessionEvents {
  'container.created': { container: ContainerInfo };
  'container.expired': { containerId: string; reason: string };
  'container.recreated': { previousContainerId: string; container: ContainerInfo; restoredFiles: number };
  /** A container of this session was deleted or found expired: how long it lived and what it cost. */
  'container.ended': ContainerCost;
  keepalive: { containerId: string; idleMs: number };
  'file.uploaded': { file: SessionFile };
  'request.retry': { operation: string; attempt: number; delayMs: number; status: number | undefined; message: string };
  'request.throttled': { operation: string; waitedMs: number };
  error: { operation: string; error: Error };
}

export type SessionEventName = keyof SessionEvents;
export type SessionListener<K extends SessionEventName> = (payload: SessionEvents[K]) => void;

/**
 * A tiny typed emitter over an event map `E`. A throwing listener is reported on `error` (or, for
 * `error` itself, dropped) rather than breaking the code that emitted.
 */
export class Emitter<E extends { error: { operation: string; error: Error } }> {
  /** Every payload is scrubbed of these secrets before a listener sees it (the session sets its own). */
  scrubber: SecretScrubber = patternScrubber;

  private readonly listeners = new Map<keyof E, Set<(payload: never) => void>>();

  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return this;
  }

  off<K extends keyof E>(event: K, listener: (payload: E[K]) => void): this {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
    return this;
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const listeners = this.listeners.get(event);
    if (!listeners?.size) return;
    this.scrubber.value(payload);
    for (const listener of listeners) {
      try {
        (listener as (payload: E[K]) => void)(payload);
      } catch (error) {
        if (event !== 'error') this.emit('error', { operation: `listener for ${String(event)}`, error: error as Error } as E['error']);
      }
    }
  }
}

/** The session's emitter. */
export class TypedEmitter extends Emitter<SessionEvents> {}
