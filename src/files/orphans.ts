import { createHash } from 'node:crypto';
import { CLOCK_SLACK_SECONDS, deleteRemembering } from '../orphans.js';
import type { RequestRunner } from '../retry/request-runner.js';

/** An upload whose answer was lost and that no look-up could settle: a Files API file may exist. */
export interface UnconfirmedFile {
  name: string;
  /** Unix seconds. */
  createdAfter: number;
  candidateIds: string[];
}

interface ApiFile {
  id: string;
  filename: string;
  bytes: number;
  created_at: number;
}

/**
 * Files API copies the session made but is not tracking: uploads whose answer was lost (claimed
 * by name, size and time), uploads the caller abandoned (deleted), deletions that failed.
 * `close()` sweeps them and reports what is left.
 */
export class FileOrphans {
  /** Files this session made and failed to delete. */
  readonly undeleted = new Set<string>();
  private readonly unconfirmed: Array<{ name: string; bytes: number | undefined; since: number; digest: (() => Promise<string>) | undefined }> = [];
  private readonly claimed = new Set<string>();

  constructor(
    private readonly deps: {
      runner: RequestRunner;
      /** Whether the session tracks Files API file `id`. */
      isKnown: (id: string) => boolean;
    },
  ) {}

  /**
   * After an upload whose answer was lost: the file it made, if the Files API has one named
   * `name` of `bytes` bytes made since `since` (unix seconds) that the session does not track
   * (the oldest such). The look-up is retried like any request; if it still fails, the upload is
   * remembered for `close()`.
   */
  async claim(name: string, bytes: number | undefined, since: number, digest?: () => Promise<string>): Promise<ApiFile | undefined> {
    if (!digest) {
      // A one-shot stream: no content to compare, so nothing can be claimed safely. close() reports it.
      this.unconfirmed.push({ name, bytes, since, digest });
      return undefined;
    }
    let found: ApiFile[];
    try {
      found = await this.lookUp(name, bytes, since, digest);
    } catch {
      this.unconfirmed.push({ name, bytes, since, digest });
      return undefined;
    }
    const mine = found.at(-1);
    if (mine) this.claimed.add(mine.id);
    return mine;
  }

  /** A file the session made that the manifest may not name: `close()` deletes it (see {@link sweep}). */
  deleteAtClose(id: string): void {
    this.undeleted.add(id);
  }

  /** Deletes a Files API file the session made and no longer needs; a failure is remembered for the report. */
  discard(id: string): Promise<unknown> {
    return deleteRemembering(this.undeleted, id, () => this.deps.runner.send('files.delete', (client) => client.files.delete(id)));
  }

  /** At close: looks for unconfirmed uploads again (deleting what it finds), retries failed deletions; returns what is left. */
  async sweep(): Promise<{ fileIds: string[]; unconfirmed: UnconfirmedFile[]; errors: unknown[] }> {
    const errors: unknown[] = [];
    const left: UnconfirmedFile[] = [];
    for (const entry of this.unconfirmed.splice(0)) {
      try {
        const candidates = await this.lookUp(entry.name, entry.bytes, entry.since, entry.digest);
        if (entry.digest) {
          for (const file of candidates) this.undeleted.add(file.id);
        } else if (candidates.length > 0) {
          // Without the content to compare, a same-named file may be another session's: reported, never deleted.
          left.push({ name: entry.name, createdAfter: entry.since, candidateIds: candidates.map((f) => f.id) });
        }
      } catch (error) {
        errors.push(error);
        left.push({ name: entry.name, createdAfter: entry.since, candidateIds: [] });
        this.unconfirmed.push(entry);
      }
    }
    for (const id of [...this.undeleted]) {
      const error = await this.discard(id);
      if (error !== undefined) errors.push(error);
    }
    return { fileIds: [...this.undeleted], unconfirmed: left, errors };
  }

  /**
   * Matching files, newest first: same name, size and time, not tracked — and, when `digest` is
   * given, the same content (without it, the unverified candidates). Name, size and time alone are not enough: another session of the same
   * organization may have uploaded a file of that name and size in the same seconds, and adopting
   * (or deleting) it would be wrong; so a candidate is claimed only when its bytes hash the same.
   */
  private async lookUp(name: string, bytes: number | undefined, since: number, digest?: () => Promise<string>): Promise<ApiFile[]> {
    const page = await this.deps.runner.send('files.list (after a lost upload)', (client) => client.files.list({ purpose: 'user_data', order: 'desc', limit: 100 }));
    const candidates = (page.data as ApiFile[]).filter(
      (f) =>
        f.filename === name &&
        (bytes === undefined || f.bytes === bytes) &&
        f.created_at >= since - CLOCK_SLACK_SECONDS &&
        !this.deps.isKnown(f.id) &&
        !this.claimed.has(f.id),
    );
    if (!digest || candidates.length === 0) return candidates;
    const ours = await digest();
    const same: ApiFile[] = [];
    for (const file of candidates) {
      const response = await this.deps.runner.send('files.content (after a lost upload)', (client) => client.files.content(file.id));
      if (sha256(new Uint8Array(await response.arrayBuffer())) === ours) same.push(file);
    }
    return same;
  }
}

/** The hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
