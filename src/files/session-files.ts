import type { OpenAI, Uploadable } from 'openai';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import { FileNotFoundError, SessionClosedError, asError } from '../errors.js';
import type { TypedEmitter } from '../events.js';
import { isNotFound } from '../retry/error-shape.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { StateHolder } from '../store/state-holder.js';
import type { RunInput } from '../runs/conversation.js';
import { containerFilename } from './container-path.js';
import { prepareInputFiles } from './input-files.js';
import { FileOrphans } from './orphans.js';
import type { ContainerFile, SessionFile, UploadSource } from './types.js';
import { prepareUpload, type PreparedUpload, type ProgressListener, type UploadCaller } from './upload-source.js';

/** Options of `upload()`. */
export interface UploadOptions {
  /**
   * The name the file gets in the container. Refused with `InvalidOptionsError` (before anything
   * is sent, whether given here or taken from the source): control characters, a backslash, more
   * than 255 UTF-8 bytes. Quotes and non-ASCII are fine.
   * @default the path's base name, a File's name, or `upload.bin`
   */
  filename?: string;
  signal?: AbortSignal;
  /** Told the bytes sent so far (for paths and streams, as they are read). */
  onProgress?: ProgressListener;
}

interface ApiContainerFile {
  id: string;
  container_id: string;
  path: string;
  bytes: number | null;
  source: string;
  created_at: number;
}

export function toContainerFile(f: ApiContainerFile): ContainerFile {
  return {
    id: f.id,
    containerId: f.container_id,
    path: f.path,
    filename: containerFilename(f.path, f.source),
    bytes: f.bytes ?? 0,
    source: f.source,
    createdAt: f.created_at,
  };
}

/**
 * The session's files. Each upload goes to the Files API once (`purpose: "user_data"`) and is
 * attached to the container by id, so a re-created container gets every file back in the one
 * `containers.create({ file_ids })` request. Before the first container exists nothing is
 * attached: the container is created with all files at once.
 */
export class SessionFiles {
  /** Files API copies made but not tracked (lost answers, abandoned uploads): close() sweeps them. */
  readonly orphans: FileOrphans;

  constructor(
    private readonly deps: {
      runner: RequestRunner;
      lifecycle: ContainerLifecycle;
      state: StateHolder;
      events: TypedEmitter;
    },
  ) {
    this.orphans = new FileOrphans({ runner: deps.runner, isKnown: (id) => this.tracked.some((f) => f.fileId === id) });
  }

  /**
   * Sends one Files API upload. Once the body is sent whole the request is not aborted (it may
   * have made the file): a caller that gave up gets its abort at once and the file is deleted in
   * the background. An answer lost on the way is reconciled by name, size and time, never by a
   * second upload of the same file.
   */
  async createFile(
    operation: string,
    body: {
      filename: string;
      bytes: number | undefined;
      replayable: boolean;
      make: (client: OpenAI) => Uploadable;
      sentWhole: () => boolean;
      /** The SHA-256 of the content, to recognise this upload's file after a lost answer (replayable bodies only). */
      digest?: () => Promise<string>;
    },
    signal: AbortSignal | undefined,
  ): Promise<{ id: string; bytes: number; filename: string }> {
    const since = Math.floor(Date.now() / 1000);
    return this.deps.runner.send(operation, (client, s) => client.files.create({ file: body.make(client), purpose: 'user_data' }, s ? { signal: s } : undefined), {
      signal,
      creates: 'file',
      replayable: body.replayable,
      detached: { abandoned: async (file) => void (await this.orphans.discard(file.id)), abortable: () => !body.sentWhole() },
      reconcile: () => this.orphans.claim(body.filename, body.bytes, since, body.digest),
    });
  }

  get tracked(): readonly SessionFile[] {
    return this.deps.state.current.files;
  }

  /**
   * Checks a source and its name and makes it ready to send ({@link prepareUpload}); nothing is
   * sent. `caller` names the call and option it came from in the errors (default: `upload()`).
   */
  prepare(source: UploadSource, opts: Pick<UploadOptions, 'filename' | 'onProgress'> = {}, caller?: UploadCaller): Promise<PreparedUpload> {
    return prepareUpload(source, opts.filename, opts.onProgress, caller);
  }

  /** Uploads a prepared source ({@link prepare}), tracks it and puts it in the container. */
  async upload(prepared: PreparedUpload, opts: Pick<UploadOptions, 'signal' | 'onProgress'> = {}): Promise<SessionFile> {
    const file = await this.create(prepared, opts);
    await this.keepingOwned(file, () => this.track(file, opts.signal));
    this.deps.events.emit('file.uploaded', { file });
    return file;
  }

  /**
   * Runs `record`, which puts `file` (made by the session) in the manifest, so that the file is
   * never lost when it fails: closed by another process meanwhile (its close() could not know the
   * file), it is deleted here; aborted, or the store failed, before the manifest here names it (the
   * store may have it or not, so a later container may still get it), `close()` deletes it.
   */
  private async keepingOwned(file: SessionFile, record: () => Promise<void>): Promise<void> {
    try {
      await record();
    } catch (error) {
      if (error instanceof SessionClosedError) await this.deleteUntracked(file.fileId);
      else if (!this.tracked.some((f) => f.fileId === file.fileId)) this.orphans.deleteAtClose(file.fileId);
      throw error;
    }
  }

  /** Sends a prepared file to the Files API (owned by the session) without tracking or attaching it. */
  private async create(prepared: PreparedUpload, opts: Pick<UploadOptions, 'signal' | 'onProgress'>): Promise<SessionFile> {
    const { runner } = this.deps;
    const created = await this.createFile(
      'files.create',
      {
        filename: prepared.filename,
        bytes: prepared.bytes,
        replayable: prepared.replayable,
        make: (client) => prepared.body(client),
        sentWhole: () => prepared.sentWhole(),
        ...(prepared.digest && { digest: prepared.digest }),
      },
      opts.signal,
    );
    runner.stats.uploads++;
    opts.onProgress?.({ bytes: created.bytes, totalBytes: created.bytes });
    return { fileId: created.id, filename: created.filename || prepared.filename, bytes: created.bytes, origin: 'upload', owned: true };
  }

  async attachFile(fileId: string, signal?: AbortSignal): Promise<SessionFile> {
    const existing = this.tracked.find((f) => f.fileId === fileId);
    if (existing) return existing;
    const file = await this.describe(fileId, signal);
    await this.track(file, signal);
    return file;
  }

  /** An existing Files API file as an attached (not owned) session file; `FileNotFoundError` when there is none. */
  async describe(fileId: string, signal?: AbortSignal): Promise<SessionFile> {
    const info = await this.deps.runner
      .send('files.retrieve', (client, s) => client.files.retrieve(fileId, s ? { signal: s } : undefined), { signal })
      .catch((error: unknown) => {
        if (isNotFound(error)) {
          throw new FileNotFoundError(fileId, undefined, 'the Files API has no such file; pass the id of an uploaded file (`file-…`)', { cause: error });
        }
        throw error;
      });
    return { fileId, filename: info.filename, bytes: info.bytes, origin: 'attached', owned: false };
  }

  /**
   * The run's input files ({@link prepareInputFiles}): `file_id` parts are looked up and
   * `file_data` parts uploaded; the input to send comes back with `file_data` replaced by `file_id`.
   * Track the files with {@link trackInputFiles} once the run's request went out.
   */
  prepareInput(method: string, input: RunInput, signal: AbortSignal | undefined): Promise<{ input: RunInput; files: SessionFile[] }> {
    return prepareInputFiles(
      method,
      input,
      {
        isTracked: (fileId) => this.tracked.some((f) => f.fileId === fileId),
        describe: (fileId, s) => this.describe(fileId, s),
        uploadBytes: async (bytes, filename, s, caller) => {
          const file = await this.create(await this.prepare(bytes, { filename }, caller), s ? { signal: s } : {});
          this.deps.events.emit('file.uploaded', { file });
          return file;
        },
        abandon: (files) => files.forEach((f) => this.orphans.deleteAtClose(f.fileId)),
      },
      signal,
    );
  }

  /**
   * Adds a run's input files to the manifest without attaching them: the run's request put them in
   * `containerId` (the service copies input files into the container), and every later container
   * gets them through `file_ids`. Without `containerId` (the run failed) they are only recorded, so
   * owned copies are still deleted by `close()` and the next container gets them.
   */
  async trackInputFiles(files: readonly SessionFile[], containerId: string | undefined): Promise<void> {
    const added = files.filter((file) => !this.tracked.some((f) => f.fileId === file.fileId));
    if (added.length === 0) return;
    for (const file of added) {
      await this.deps.state.update({ type: 'putFile', file });
      if (containerId) this.deps.lifecycle.noteFile(containerId, file.fileId);
    }
  }

  /**
   * Adds a file to the manifest (one atomic change: files other processes add at the same time are
   * kept) and, when a container exists, puts it there too.
   */
  async track(file: SessionFile, signal?: AbortSignal): Promise<void> {
    const { state, lifecycle } = this.deps;
    await state.update({ type: 'putFile', file }, signal);
    if (!lifecycle.containerId && !lifecycle.busy) return; // the first container is created with it
    await lifecycle.call(
      'container-file',
      async (containerId) => {
        if (lifecycle.holdsFile(containerId, file.fileId)) return; // e.g. a re-created container got it via file_ids
        const since = Math.floor(Date.now() / 1000);
        // An answer lost on the way is looked for in the container before attaching again, so the file is there once.
        file.containerFileId = await lifecycle.attach(containerId, file.fileId, signal, () => this.findAttached(containerId, file, since));
      },
      signal,
    );
    if (file.containerFileId) await state.update({ type: 'putFile', file }, signal);
  }

  /** The container's copy of `file` made by an attach whose answer was lost, if any (not abortable: it decides whether to attach again). */
  private async findAttached(containerId: string, file: SessionFile, since: number): Promise<{ id: string } | undefined> {
    const known = new Set(this.tracked.map((f) => f.containerFileId));
    const files = await this.listIn(containerId, undefined).catch(() => []);
    return files.find(
      (f) => f.source === 'user' && f.filename === file.filename && f.createdAt >= since - 5 && !known.has(f.id),
    );
  }

  /** Adds a file that is already in `containerId` to the manifest, without attaching it again. */
  async trackOnly(file: SessionFile, containerId: string, signal?: AbortSignal): Promise<void> {
    await this.keepingOwned(file, async () => void (await this.deps.state.update({ type: 'putFile', file }, signal)));
    this.deps.lifecycle.noteFile(containerId, file.fileId);
  }

  /** Deletes a Files API file the manifest does not hold; a failure is reported on `error`. */
  private async deleteUntracked(fileId: string): Promise<void> {
    try {
      await this.deps.runner.send('files.delete', (client) => client.files.delete(fileId));
    } catch (error) {
      if (isNotFound(error)) return;
      this.deps.events.emit('error', { operation: `files.delete (${fileId}, uploaded while the session was closed)`, error: asError(error) });
    }
  }

  /** Every file in the container, all pages. */
  async list(signal?: AbortSignal): Promise<ContainerFile[]> {
    const { lifecycle } = this.deps;
    const { value } = await lifecycle.call('container', (containerId) => this.listIn(containerId, signal), signal);
    return value;
  }

  private async listIn(containerId: string, signal: AbortSignal | undefined): Promise<ContainerFile[]> {
    const files: ContainerFile[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.runner.send(
        'containers.files.list',
        (client, s) => client.containers.files.list(containerId, { limit: 100, ...(after && { after }) }, s ? { signal: s } : undefined),
        { signal },
      );
      files.push(...page.data.map((f) => toContainerFile(f as ApiContainerFile)));
      if (!page.has_more || page.data.length === 0) return files;
      after = page.data.at(-1)!.id;
    }
  }
}
