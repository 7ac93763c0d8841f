import type { KeepAlive } from '../container/keep-alive.js';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import { SessionCleanupError, SessionClosedError } from '../errors.js';
import type { SessionFiles } from '../files/session-files.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { StateHolder } from '../store/state-holder.js';
import type { SessionState } from '../store/types.js';
import type { InFlightCalls } from './in-flight.js';

/** Options of `close()`. */
export interface CloseOptions {
  /** Delete the container. @default true */
  deleteContainer?: boolean;
  /** Delete the Files API copies this session made (uploads, persisted generated files). @default true */
  deleteFiles?: boolean;
}

/**
 * The work of `close()`: stops timers, stops every call in flight and waits for them, lets creates
 * and uploads already sent finish, then deletes the container and the Files API copies the session
 * made (unless told not to), in every process's state when it shares a store. Rejects with
 * `SessionCleanupError` listing what it could not delete.
 */
export async function shutdown(
  parts: { keepAlive: KeepAlive | undefined; lifecycle: ContainerLifecycle; calls: { inFlight: InFlightCalls }; runner: RequestRunner; state: StateHolder; files: SessionFiles },
  opts: CloseOptions,
): Promise<void> {
  const { keepAlive, lifecycle, state } = parts;
  keepAlive?.stop();
  lifecycle.close(); // no container is made from now on
  await parts.calls.inFlight.close(); // calls in flight stop (SessionClosedError) and are waited for
  await keepAlive?.idle();
  // Creates and uploads already sent finish and hand over what they made (kept, then deleted below).
  await lifecycle.settle();
  await parts.runner.drain();
  const deleteContainer = opts.deleteContainer !== false;
  const deleteFiles = opts.deleteFiles !== false;
  const problems: unknown[] = [];
  const local = state.current;
  let shared: SessionState | undefined;
  try {
    if (deleteContainer && deleteFiles) {
      // The session ends for every process: take the shared state away (leaving a tombstone),
      // then delete everything it names, whichever process made it.
      shared = await state.delete();
    } else if (deleteContainer || deleteFiles) {
      shared = await state.reload();
    }
  } catch (error) {
    // A session closed elsewhere has nothing shared left; anything else (the store unreachable)
    // is reported, and what this process knows is still cleaned up.
    if (!(error instanceof SessionClosedError)) problems.push(error);
  }
  if (deleteContainer) {
    const ids = new Set([shared?.containerId, local.containerId].filter((id): id is string => !!id));
    // A failed deletion is remembered and tried again by the sweep below, which reports it only if
    // it fails again: a DELETE whose answer was lost may have worked (the second one then finds
    // the container gone, 404, which counts as deleted).
    for (const id of ids) await lifecycle.deleteContainer(id).catch(() => {});
    if (!deleteFiles && shared?.containerId) {
      await state.update({ type: 'replaceContainer', from: shared.containerId, to: undefined }).catch((e: unknown) => problems.push(e));
    }
  }
  // Containers made by creates whose answer was lost, and deletions that failed: looked for again.
  const containers = await lifecycle.orphans.sweep(deleteContainer ? undefined : (shared?.containerId ?? local.containerId));
  const owned = new Set(deleteFiles ? [...local.files, ...(shared?.files ?? [])].filter((f) => f.owned).map((f) => f.fileId) : []);
  // As for the container: a failed deletion is tried again by the sweep, which reports what stays.
  for (const fileId of owned) await parts.files.orphans.discard(fileId);
  const files = await parts.files.orphans.sweep();
  if (!deleteContainer) {
    // The container stays for the other processes: the files deleted leave its manifest.
    for (const fileId of owned) {
      if (!files.fileIds.includes(fileId)) await state.update({ type: 'removeFile', fileId }).catch((e: unknown) => problems.push(e));
    }
  }
  problems.push(...containers.errors, ...files.errors);
  const left = {
    containerIds: containers.containerIds,
    fileIds: files.fileIds,
    unconfirmedContainers: containers.unconfirmed,
    unconfirmedFiles: files.unconfirmed,
  };
  if (problems.length > 0 || Object.values(left).some((list) => list.length > 0)) throw new SessionCleanupError(left, problems);
}
