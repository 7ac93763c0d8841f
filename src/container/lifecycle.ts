import { SharedTask } from '../abort.js';
import { ContainerExpiredError, SessionClosedError, asError, describeError } from '../errors.js';
import type { CostTracker } from '../cost/tracker.js';
import type { TypedEmitter } from '../events.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { StateHolder } from '../store/state-holder.js';
import { expirySignal, type CallKind } from './expiry.js';
import { DEFAULT_EXPIRES_AFTER_MINUTES } from './create.js';
import { establishContainer, type EstablishHost } from './establish.js';
import { ContainerOrphans } from './orphans.js';
import { probeContainer } from './probe.js';
import type { ContainerInfo, ContainerOptions } from './types.js';

/** Re-creations one call may cause (a replacement that expires too) before it gives up with `ContainerExpiredError`. */
export const MAX_RECREATIONS_PER_CALL = 3;

export interface ContainerCallResult<T> {
  value: T;
  containerId: string;
  /** A new container was made while serving this call. */
  recovered: boolean;
}

/**
 * Owns the session's container: makes it on first need (one creation however many callers wait),
 * adopts an existing one, notices expiry in any call's failure, re-creates it with every tracked
 * file in one request, and retries the call once. One expiry, one re-creation: concurrent callers
 * that see the same dead container share it, and with a shared store so do other processes.
 */
export class ContainerLifecycle implements EstablishHost {
  private bringingUp: SharedTask<string> | undefined;
  private recovering: { from: string; task: SharedTask<string> } | undefined;
  /** The container this process has confirmed alive (created, adopted or recovered), as the API last described it. */
  private info: ContainerInfo | undefined;
  /** Files known to be in each container this process made or attached to (by Files API id). */
  private readonly filesIn = new Map<string, Set<string>>();
  /** The work of {@link establish} in flight (a create sent, its recording in the store). */
  private readonly establishing = new Set<Promise<unknown>>();
  /** Set by the session's close(): no container may be made after it. */
  private stopped = false;
  /** Containers made by lost creates, and ones that could not be deleted: close() sweeps them. */
  readonly orphans: ContainerOrphans;
  /** Containers that replaced an expired one in this process so far (runs compare it to say `recovered`). */
  replacements = 0;
  /** From the API's container object; drives the keep-alive interval. */
  expiresAfterMinutes: number;

  constructor(
    readonly deps: {
      runner: RequestRunner;
      state: StateHolder;
      events: TypedEmitter;
      options: ContainerOptions;
      defaultName: string;
      /** Called whenever a request used the container (it refreshes the server's idle clock): for work, or a keep-alive touch. */
      onActivity: (kind?: 'work' | 'touch') => void;
      /** Follows each container's life for `stats.cost` and `container.ended`. */
      cost?: CostTracker;
    },
  ) {
    this.expiresAfterMinutes = deps.options.expiresAfterMinutes ?? DEFAULT_EXPIRES_AFTER_MINUTES;
    this.orphans = new ContainerOrphans({
      runner: deps.runner,
      isKnown: (id) => id === this.info?.id || id === deps.state.current.containerId,
      onDeleted: (id) => this.ended(id, 'deleted'),
    });
  }

  get containerId(): string | undefined {
    return this.deps.state.current.containerId;
  }

  /** A container is being created, adopted or re-created right now. */
  get busy(): boolean {
    return this.bringingUp !== undefined || this.recovering !== undefined;
  }

  /** `close()` was called: no container may be made. */
  get closed(): boolean {
    return this.stopped;
  }

  holdsFile(containerId: string, fileId: string): boolean {
    return this.filesIn.get(containerId)?.has(fileId) ?? false;
  }

  noteFile(containerId: string, fileId: string): void {
    let set = this.filesIn.get(containerId);
    if (!set) this.filesIn.set(containerId, (set = new Set()));
    set.add(fileId);
  }

  /** Puts a Files API file into the container (`containers.files.create`); answers the container file's id. */
  async attach(containerId: string, fileId: string, signal?: AbortSignal, reconcile?: () => Promise<{ id: string } | undefined>): Promise<string> {
    // Not aborted once sent (the copy may have been made): a caller that gave up leaves at once and
    // the copy is noted when the answer comes. `reconcile` finds the copy of an attach whose answer was lost.
    const attached = await this.deps.runner.send(
      'containers.files.create',
      (client, s) => client.containers.files.create(containerId, { file_id: fileId }, s ? { signal: s } : undefined),
      { signal, creates: 'container.file', detached: { abandoned: async () => this.noteFile(containerId, fileId) }, ...(reconcile && { reconcile }) },
    );
    this.noteFile(containerId, fileId);
    return attached.id;
  }

  /** A request used the container outside {@link call} (runs); its idle clock restarted. */
  noteActivity(): void {
    this.deps.onActivity();
  }

  /**
   * Stops making containers: a call still in flight that finds its container gone fails with
   * `SessionClosedError` instead of creating one nobody would delete.
   */
  close(): void {
    this.stopped = true;
    // Waits that sent nothing yet stop; a create already sent is finished (and then deleted).
    const reason = new SessionClosedError('close');
    this.bringingUp?.cancel(reason);
    this.recovering?.task.cancel(reason);
  }

  /** Waits for a creation or re-creation in flight (its outcome is the caller's business, not ours). */
  async settle(): Promise<void> {
    while (this.bringingUp || this.recovering || this.establishing.size > 0) {
      await this.bringingUp?.promise.catch(() => {});
      await this.recovering?.task.promise.catch(() => {});
      // The work under the store's lock goes on after the wait for the lock gave up (an abort, close()).
      await Promise.allSettled([...this.establishing]);
    }
  }

  /** The live container's id, creating or adopting one if needed. */
  async ensure(signal?: AbortSignal): Promise<string> {
    for (;;) {
      const recovering = this.recovering?.task;
      if (recovering) {
        const id = await this.joinShared(recovering, signal);
        if (id !== undefined) return id;
        continue;
      }
      const current = this.containerId;
      if (current && current === this.info?.id) return current;
      if (this.stopped) throw new SessionClosedError('run');
      // Shared by every caller: one aborting must not fail the others (SharedTask).
      if (!this.bringingUp) {
        const task = new SharedTask((shared) => this.bringUp(shared));
        this.bringingUp = task;
        void task.promise.finally(() => {
          if (this.bringingUp === task) this.bringingUp = undefined;
        }).catch(() => {});
      }
      const id = await this.joinShared(this.bringingUp, signal);
      if (id !== undefined) return id;
    }
  }

  /**
   * Waits for shared work; undefined when it failed only because everyone else gave up while this
   * caller still waits (then the caller starts it again).
   */
  private async joinShared(task: SharedTask<string>, signal: AbortSignal | undefined): Promise<string | undefined> {
    try {
      return await task.join(signal);
    } catch (error) {
      if (!task.cancelled || signal?.aborted || this.stopped) throw error;
      if (this.bringingUp === task) this.bringingUp = undefined;
      if (this.recovering?.task === task) this.recovering = undefined;
      return undefined;
    }
  }

  /** Like {@link ensure}, with the container's details as last reported by the API. */
  async start(signal?: AbortSignal): Promise<ContainerInfo> {
    const id = await this.ensure(signal);
    if (this.info?.id === id) return this.info;
    const info = await this.retrieve(id, signal);
    if (!info || info.status === 'expired') throw new ContainerExpiredError(id, `Container ${id} expired while starting; call start() again.`);
    return info;
  }

  /**
   * Runs `fn` against the live container. If the call fails because the container is gone, the
   * container is re-created (files restored) and `fn` runs once more against the new one.
   */
  async call<T>(kind: CallKind, fn: (containerId: string) => Promise<T>, signal?: AbortSignal): Promise<ContainerCallResult<T>> {
    let containerId = await this.ensure(signal);
    for (let recoveries = 0; ; recoveries++) {
      try {
        const value = await fn(containerId);
        this.deps.onActivity();
        return { value, containerId, recovered: recoveries > 0 };
      } catch (error) {
        if (!(await this.isExpiry(error, kind, containerId, signal))) throw error;
        containerId = await this.recoverOnce(containerId, error, recoveries, signal);
      }
    }
  }

  /**
   * Recovery number `recoveries + 1` of one call from the expiry `error` of `containerId`; past
   * {@link MAX_RECREATIONS_PER_CALL} a `ContainerExpiredError` with the cause instead.
   */
  recoverOnce(containerId: string, error: unknown, recoveries: number, signal?: AbortSignal): Promise<string> {
    if (recoveries >= MAX_RECREATIONS_PER_CALL) {
      return Promise.reject(
        new ContainerExpiredError(
          containerId,
          `Container ${containerId} expired again after ${recoveries} re-creations in one call (${describeError(error)}). ` +
            'The service is expiring new containers at once; the session stays usable: try the call again later.',
          { cause: error },
        ),
      );
    }
    return this.recover(containerId, describeError(error), signal);
  }

  /** Whether `error` from a call on `containerId` means the container is gone. */
  async isExpiry(error: unknown, kind: CallKind, containerId: string, signal?: AbortSignal): Promise<boolean> {
    const verdict = expirySignal(error, kind, containerId);
    if (verdict === 'expired') return true;
    if (verdict !== 'ask-container') return false;
    const info = await this.retrieve(containerId, signal);
    return !info || info.status === 'expired';
  }

  /**
   * Touches the container (`containers.retrieve`, which refreshes its idle clock); a dead one is
   * re-created so its files are back before the next call. Returns the id touched, if any.
   */
  async touch(): Promise<string | undefined> {
    const id = this.containerId;
    if (!id || this.recovering) return undefined;
    this.deps.runner.stats.touches++;
    const info = await this.retrieve(id, undefined, 'containers.retrieve (touch)', 'touch');
    if (!info || info.status === 'expired') return this.recover(id, 'a touch found the container expired');
    return id;
  }

  /**
   * Replaces the dead container `expiredId`. Concurrent callers share one re-creation; a caller
   * that arrives after it finished gets the new container.
   */
  async recover(expiredId: string, reason: string, signal?: AbortSignal): Promise<string> {
    for (;;) {
      if (this.recovering?.from === expiredId) {
        const id = await this.joinShared(this.recovering.task, signal);
        if (id !== undefined) return id;
        continue;
      }
      if (this.stopped) throw new SessionClosedError('run');
      const current = this.containerId;
      if (current && current !== expiredId && current === this.info?.id) return current;
      const task = new SharedTask((shared) => this.recreate(expiredId, reason, shared));
      this.recovering = { from: expiredId, task };
      void task.promise.finally(() => {
        if (this.recovering?.task === task) this.recovering = undefined;
      }).catch(() => {});
    }
  }

  /** Deletes container `id` at the API; one that is already gone is fine. A failure is remembered for `close()`'s report. */
  deleteContainer(id: string): Promise<void> {
    return this.orphans.delete(id); // ends its cost (container.ended)
  }

  /** A container of ours died or was deleted: its cost is final (`container.ended`). */
  private ended(containerId: string, reason: 'expired' | 'deleted'): void {
    const cost = this.deps.cost?.ended(containerId, reason);
    if (cost) this.deps.events.emit('container.ended', cost);
  }

  private async bringUp(signal: AbortSignal): Promise<string> {
    const { state } = this.deps;
    await state.reload(signal);
    const stored = state.current.containerId;
    if (stored) {
      const info = await this.retrieve(stored, signal);
      if (info && info.status !== 'expired') return this.adopt(info);
      // A container this session was using (here or in another process) died: that is a recovery.
      return this.recreate(stored, 'the stored container had expired', signal);
    }
    return this.establish(undefined, signal);
  }

  /** Records `info` as the container this process confirmed alive. */
  adopt(info: ContainerInfo): string {
    this.info = info;
    if (info.expiresAfterMinutes) this.expiresAfterMinutes = info.expiresAfterMinutes;
    this.deps.onActivity();
    return info.id;
  }

  private async recreate(expiredId: string, reason: string, signal?: AbortSignal): Promise<string> {
    const { events } = this.deps;
    events.emit('container.expired', { containerId: expiredId, reason });
    this.ended(expiredId, 'expired');
    this.filesIn.delete(expiredId);
    if (this.info?.id === expiredId) this.info = undefined;
    try {
      const id = await this.establish(expiredId, signal);
      this.replacements++;
      return id;
    } catch (error) {
      if (signal?.aborted || error instanceof SessionClosedError) throw error; // not a failure of recovery
      throw new ContainerExpiredError(
        expiredId,
        `Container ${expiredId} expired and a replacement could not be made: ${describeError(error)}. ` +
          'The session stays usable: the next call tries again.',
        { cause: error },
      );
    }
  }

  /**
   * Makes the session's container, or replaces the dead `replacing` ({@link establishContainer}),
   * under the store's `container` lock; {@link settle} waits for it even when every caller
   * stopped waiting (the work under the lock goes on after the wait for the lock gave up).
   */
  private establish(replacing: string | undefined, signal?: AbortSignal): Promise<string> {
    return this.deps.state.withLock('container', () => this.whileEstablishing(() => establishContainer(this, replacing, signal)), signal);
  }

  /** Runs `work`, which {@link settle} waits for even when every caller stopped waiting. */
  private whileEstablishing<T>(work: () => Promise<T>): Promise<T> {
    const running = work();
    this.establishing.add(running);
    void running.then(
      () => this.establishing.delete(running),
      () => this.establishing.delete(running),
    );
    return running;
  }

  /**
   * The container's details, or undefined when the API no longer knows it (404) or says it
   * expired. Where `containers.retrieve` is refused (Azure OpenAI) the container is looked at by
   * listing its files instead; when even that cannot tell, it counts as alive (see probe.ts).
   */
  async retrieve(id: string, signal?: AbortSignal, operation = 'containers.retrieve', kind: 'work' | 'touch' = 'work'): Promise<ContainerInfo | undefined> {
    const found = await probeContainer(this.deps.runner, id, operation, signal, this.info);
    if (found.state === 'gone') return undefined;
    if (found.state === 'unknown') {
      this.deps.events.emit('error', { operation: `${operation}: could not tell whether container ${id} is alive; assuming it is`, error: asError(found.error) });
      if (kind === 'touch') this.deps.onActivity(kind); // keep-alive goes on: the next round looks again
      return this.info?.id === id ? this.info : { id, name: '', status: 'unknown', createdAt: 0 };
    }
    this.deps.onActivity(kind);
    return found.info;
  }
}
