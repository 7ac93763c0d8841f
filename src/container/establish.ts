import { ContainerExpiredError, SessionClosedError, asError } from '../errors.js';
import type { CostTracker } from '../cost/tracker.js';
import type { TypedEmitter } from '../events.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { StateHolder } from '../store/state-holder.js';
import { createContainer } from './create.js';
import type { CallKind } from './expiry.js';
import type { ContainerOrphans } from './orphans.js';
import type { ContainerInfo, ContainerOptions } from './types.js';

/** What {@link establishContainer} uses of the `ContainerLifecycle` it works for. */
export interface EstablishHost {
  readonly deps: { runner: RequestRunner; state: StateHolder; events: TypedEmitter; options: ContainerOptions; defaultName: string; cost?: CostTracker | undefined };
  readonly orphans: ContainerOrphans;
  /** `close()` was called: no container may be made. */
  readonly closed: boolean;
  retrieve(id: string, signal?: AbortSignal): Promise<ContainerInfo | undefined>;
  adopt(info: ContainerInfo): string;
  holdsFile(containerId: string, fileId: string): boolean;
  noteFile(containerId: string, fileId: string): void;
  attach(containerId: string, fileId: string, signal?: AbortSignal): Promise<string>;
  isExpiry(error: unknown, kind: CallKind, containerId: string, signal?: AbortSignal): Promise<boolean>;
  deleteContainer(id: string): Promise<void>;
}

/**
 * Makes the session's container when the store has none (`replacing` undefined) or replaces the
 * dead `replacing`; run under the store's `container` lock (see `ContainerLifecycle`), so one
 * container is made per session across every process, also when they start together: whoever
 * comes second finds the first one's container and uses it. The store's compare-and-set
 * (`replaceContainer`) is the final word; a process that loses it (a store without locks, a lock
 * that lapsed) deletes the container it made and uses the winner's.
 */
export async function establishContainer(host: EstablishHost, replacing: string | undefined, signal?: AbortSignal): Promise<string> {
  const { state } = host.deps;
  for (let round = 0; ; round++) {
    await state.reload(signal);
    const current = state.current.containerId;
    if (current && current !== replacing) {
      // Another process (or an earlier round) made or adopted it meanwhile: use it if it lives.
      const info = await host.retrieve(current, signal);
      if (info && info.status !== 'expired') return host.adopt(info);
    }
    if (host.closed) throw new SessionClosedError('run');
    const { info, made } = await obtain(host, current === undefined, signal);
    let applied: boolean;
    try {
      // A container made is recorded even when every caller gave up meanwhile: it is kept for the next call.
      applied = await state.update({ type: 'replaceContainer', from: current, to: info.id }, made ? undefined : signal);
    } catch (error) {
      // Closed meanwhile, or the store failed: the container must not outlive this call unowned.
      if (made) await discard(host, info.id);
      throw error;
    }
    if (applied) {
      const id = announce(host, info, made, current);
      // Files other processes added after this one read the manifest (and before the
      // compare-and-set) are in the state now, but not in the container: attach them.
      try {
        for (const file of state.current.files) {
          if (!host.holdsFile(info.id, file.fileId)) await host.attach(info.id, file.fileId, signal);
        }
      } catch (error) {
        // The new container died before its files were in (expired at once): replace it too.
        if (signal?.aborted || host.closed || !(await host.isExpiry(error, 'container-file', info.id, signal))) throw error;
        if (round >= 2) throw new ContainerExpiredError(info.id, `Container ${info.id} expired while its files were being put in; try again.`, { cause: error });
        replacing = info.id;
        continue;
      }
      return id;
    }
    if (made) await discard(host, info.id);
    if (round >= 2) throw new ContainerExpiredError(current ?? info.id, 'Other processes kept replacing the container; try again.');
    replacing = current;
  }
}

/** The container to record: the one named in `container.id` when first asked and alive, else a new one with every tracked file. */
async function obtain(host: EstablishHost, first: boolean, signal?: AbortSignal): Promise<{ info: ContainerInfo; made: boolean }> {
  const { deps } = host;
  const requested = deps.options.id;
  if (first && requested) {
    const info = await host.retrieve(requested, signal);
    if (info && info.status !== 'expired') return { info, made: false };
  }
  const fileIds = deps.state.current.files.map((f) => f.fileId);
  const info = await createContainer(deps, host.orphans, fileIds, signal);
  for (const fileId of fileIds) host.noteFile(info.id, fileId);
  return { info, made: true };
}

function announce(host: EstablishHost, info: ContainerInfo, made: boolean, previous: string | undefined): string {
  const { events, runner, state } = host.deps;
  const id = host.adopt(info);
  if (!made) return id;
  if (previous === undefined) {
    events.emit('container.created', { container: info });
  } else {
    runner.stats.recreations++;
    events.emit('container.recreated', { previousContainerId: previous, container: info, restoredFiles: state.current.files.length });
  }
  return id;
}

/** Deletes a container this process made but may not keep; a failure is reported, not thrown (the caller has its own). */
async function discard(host: EstablishHost, id: string): Promise<void> {
  try {
    await host.deleteContainer(id);
  } catch (error) {
    host.deps.events.emit('error', { operation: 'containers.delete (discarding a container another process replaced)', error: asError(error) });
  }
}
