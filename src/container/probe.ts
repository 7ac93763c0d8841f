import { RetriesExhaustedError } from '../errors.js';
import { httpErrorOf, isNotFound } from '../retry/error-shape.js';
import type { RequestRunner } from '../retry/request-runner.js';
import { expirySignal } from './expiry.js';
import { toContainerInfo, type ApiContainer, type ContainerInfo } from './types.js';

/**
 * Clients (their retry-less copies, shared by every session on a client) whose service refused
 * `containers.retrieve`: Azure OpenAI answers "OperationId get-container not supported for
 * CheckAccess". Remembered so each later check goes straight to the fallback.
 */
const refusesRetrieve = new WeakSet<object>();

const REFUSAL_MESSAGE = /not supported|CheckAccess|OperationId|unsupported|not implemented/i;

/** Whether a failed `containers.retrieve` was the service refusing the operation itself (not the container being gone). */
export function isRetrieveRefused(error: unknown, containerId: string): boolean {
  // The status Azure uses for the refusal is not documented: read the message whatever the
  // status (a 5xx reaches here after the retries, as RetriesExhaustedError).
  const last = error instanceof RetriesExhaustedError ? error.cause : error;
  const http = httpErrorOf(last);
  if (!http || expirySignal(last, 'container', containerId) !== undefined) return false;
  if (http.status === 405 || http.status === 501) return true;
  return http.status !== 404 && http.status !== 429 && REFUSAL_MESSAGE.test(http.message);
}

/** What a look at a container found. */
export type ProbeResult =
  | { state: 'alive'; info: ContainerInfo }
  | { state: 'gone' }
  /** The service would not say (the fallback failed too): counted as alive, the next real call will tell. */
  | { state: 'unknown'; error: unknown };

/**
 * Looks at a container: `containers.retrieve`, or — where the service refuses it (Azure OpenAI) —
 * `containers.files.list` with `limit: 1`, an operation Azure accepts that also refreshes the
 * container's `last_active_at`, so it serves as a keep-alive touch too. "Cannot tell" is
 * reported as `unknown`, never as gone: a container is only re-created on evidence.
 */
export async function probeContainer(runner: RequestRunner, id: string, operation: string, signal?: AbortSignal, known?: ContainerInfo): Promise<ProbeResult> {
  const opts = signal ? { signal } : {};
  if (!refusesRetrieve.has(runner.client)) {
    try {
      const info = toContainerInfo((await runner.send(operation, (client, s) => client.containers.retrieve(id, s ? { signal: s } : undefined), opts)) as ApiContainer);
      return info.status === 'expired' ? { state: 'gone' } : { state: 'alive', info };
    } catch (error) {
      if (isNotFound(error)) return { state: 'gone' };
      if (!isRetrieveRefused(error, id)) throw error;
      refusesRetrieve.add(runner.client);
    }
  }
  try {
    await runner.send(`${operation} via containers.files.list`, (client, s) => client.containers.files.list(id, { limit: 1 }, s ? { signal: s } : undefined), opts);
    return { state: 'alive', info: known?.id === id ? known : { id, name: '', status: 'running', createdAt: Math.floor(Date.now() / 1000) } };
  } catch (error) {
    if (signal?.aborted) throw error;
    if (expirySignal(error, 'container', id) === 'expired') return { state: 'gone' };
    return { state: 'unknown', error };
  }
}
