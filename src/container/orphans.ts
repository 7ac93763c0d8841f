import { CLOCK_SLACK_SECONDS, deleteRemembering } from '../orphans.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { ApiContainer } from './types.js';

/** A container create whose answer was lost and that no look-up could settle: it may be running. */
export interface UnconfirmedContainer {
  /** The name it was created with. */
  name: string;
  /** Unix seconds: it was created at or after this time, if at all. */
  createdAfter: number;
  /** Running containers of that name created since, which may be it (for names the session did not generate). */
  candidateIds: string[];
}

/**
 * Containers the session made but may not be using: creates whose answer was lost (claimed by
 * name when the name is the session's own, else remembered as unconfirmed) and containers it
 * could not delete. `close()` looks again, deletes what it can and reports the rest.
 */
export class ContainerOrphans {
  /** Containers this session made and failed to delete. */
  readonly undeleted = new Set<string>();
  private readonly unconfirmed: Array<{ name: string; since: number; claimable: boolean }> = [];
  /** Containers claimed here, so two look-ups never claim the same one. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly deps: {
      runner: RequestRunner;
      /** Whether `id` is a container the session already uses. */
      isKnown: (id: string) => boolean;
      /** A container was deleted here (its cost is final). */
      onDeleted?: (id: string) => void;
    },
  ) {}

  /**
   * After a create whose answer was lost: a running container named `name` made since `since`
   * (unix seconds) that nobody here owns. The look-up is retried like any request and not
   * abortable (it decides whether a container exists); if it still fails, or the name is not
   * unique to the session, the create is remembered for `close()`. Further matches (several lost
   * attempts) are deleted.
   */
  async claim(name: string, since: number, claimable: boolean): Promise<ApiContainer | undefined> {
    if (!claimable) {
      this.unconfirmed.push({ name, since, claimable });
      return undefined;
    }
    let found: ApiContainer[];
    try {
      found = await this.lookUp(name, since);
    } catch {
      this.unconfirmed.push({ name, since, claimable });
      return undefined;
    }
    const [mine, ...extra] = found;
    if (mine) this.claimed.add(mine.id);
    for (const container of extra) await this.delete(container.id).catch(() => {}); // remembered in `undeleted` for close()
    return mine;
  }

  /** Deletes a container; one already gone is fine. A failure is remembered (and reported by close()). */
  async delete(id: string): Promise<void> {
    const error = await deleteRemembering(this.undeleted, id, () => this.deps.runner.send('containers.delete', (client) => client.containers.delete(id)));
    if (error !== undefined) throw error;
    this.deps.onDeleted?.(id);
  }

  /**
   * At close: looks for every unconfirmed create again and deletes what it finds under the
   * session's own name (except `keepId`); retries deletions that failed. Returns what is left.
   */
  async sweep(keepId: string | undefined): Promise<{ containerIds: string[]; unconfirmed: UnconfirmedContainer[]; errors: unknown[] }> {
    const errors: unknown[] = [];
    const left: UnconfirmedContainer[] = [];
    for (const entry of this.unconfirmed.splice(0)) {
      let found: ApiContainer[];
      try {
        found = (await this.lookUp(entry.name, entry.since)).filter((c) => c.id !== keepId);
      } catch (error) {
        errors.push(error);
        left.push({ name: entry.name, createdAfter: entry.since, candidateIds: [] });
        continue;
      }
      if (!entry.claimable) {
        if (found.length > 0) left.push({ name: entry.name, createdAfter: entry.since, candidateIds: found.map((c) => c.id) });
        continue;
      }
      for (const container of found) await this.delete(container.id).catch((error: unknown) => errors.push(error));
    }
    for (const id of [...this.undeleted]) if (id !== keepId) await this.delete(id).catch((error: unknown) => errors.push(error));
    this.unconfirmed.push(...left.map((l) => ({ name: l.name, since: l.createdAfter, claimable: false })));
    return { containerIds: [...this.undeleted].filter((id) => id !== keepId), unconfirmed: left, errors };
  }

  private async lookUp(name: string, since: number): Promise<ApiContainer[]> {
    const page = await this.deps.runner.send('containers.list (after a lost create)', (client) => client.containers.list({ name, order: 'desc', limit: 100 }));
    return (page.data as ApiContainer[]).filter(
      (c) => c.name === name && c.status === 'running' && c.created_at >= since - CLOCK_SLACK_SECONDS && !this.deps.isKnown(c.id) && !this.claimed.has(c.id),
    );
  }
}
