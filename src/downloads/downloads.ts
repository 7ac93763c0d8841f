import { containerFilename } from '../files/container-path.js';
import { filesToSave } from '../files/generated-files.js';
import { isNotFound, statusOf } from '../retry/error-shape.js';
import type { ContainerLifecycle } from '../container/lifecycle.js';
import {
  CodeInterpreterError,
  DownloadTooLargeError,
  FileContentUnavailableError,
  FileNotFoundError,
  RetriesExhaustedError,
  SaveAllError,
  toLibraryError,
} from '../errors.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { FileCitation, GeneratedFile, RunResult } from '../runs/result.js';
import type { StateHolder } from '../store/state-holder.js';
import { bodyChunks } from './body.js';
import { PathClaims, prepareFolder, saveStream, type SaveOptions } from './save-stream.js';

/** A file to download: a citation or generated-file entry of a result, or a container file id. */
export type FileRef = FileCitation | GeneratedFile | string;

export interface DownloadedFile {
  filename: string;
  bytes: Uint8Array;
  contentType?: string;
}

export interface OpenedDownload {
  fileId: string;
  /** The container it was read from; undefined for a kept copy read while the session has no container. */
  containerId: string | undefined;
  filename: string;
  contentType: string | undefined;
  /** From `content-length`, when the server sent it. */
  size: number | undefined;
  body: ReadableStream<Uint8Array>;
}

/** A content request that got 500 on every attempt, as the typed error that says what it is. */
function persistentContentFailure(error: unknown, fileId: string, containerId: string): FileContentUnavailableError | undefined {
  if (!(error instanceof RetriesExhaustedError) || statusOf(error.cause) !== 500) return undefined;
  return new FileContentUnavailableError(fileId, containerId, error.attempts, { cause: error });
}

/** How many files `saveAll` downloads at once. */
export const SAVE_ALL_CONCURRENCY = 4;

/**
 * Fetching generated files. Container files are read from the container; when the container has
 * expired, a copy kept by `persistGeneratedFiles` is read from the Files API instead.
 */
export class Downloads {
  constructor(
    private readonly deps: { runner: RequestRunner; lifecycle: ContainerLifecycle; state: StateHolder; onActivity: () => void },
  ) {}

  /** The file's answer, its body unread (for `downloadStream()` and copies): a break in the body reaches its reader. */
  open(ref: FileRef, signal?: AbortSignal): Promise<OpenedDownload> {
    return this.fetchContent(ref, signal, async (opened) => opened);
  }

  /**
   * Sends the content request for `ref` and hands the answer to `consume` inside the retried call,
   * so a body that breaks mid-way (`BodyInterruptedError`, from {@link bodyChunks}) fails that
   * attempt and the retry starts over with a new request. A file its container lost is read
   * from the copy `persistGeneratedFiles` kept, if any.
   */
  private async fetchContent<T>(ref: FileRef, signal: AbortSignal | undefined, consume: (opened: OpenedDownload) => Promise<T>): Promise<T> {
    const { runner, lifecycle } = this.deps;
    const fileId = typeof ref === 'string' ? ref : ref.fileId;
    if (typeof ref === 'string' && lifecycle.containerId === undefined) {
      // No container: nothing to read from, and none is made (billed) just to find that out.
      const copied = await this.readCopy(fileId, undefined, undefined, consume, signal);
      if (copied) return copied.value;
      throw new FileNotFoundError(
        fileId,
        undefined,
        'the session has no container, so no container file to download (nothing was sent). Pass an entry of `result.files` or `result.citations`, which names its container.',
      );
    }
    const containerId = typeof ref === 'string' ? lifecycle.containerId! : ref.containerId;
    let filename = typeof ref === 'string' ? undefined : ref.filename;
    const options = signal ? { signal } : undefined;
    try {
      if (filename === undefined) {
        const meta = await runner.send('containers.files.retrieve', (c, s) => c.containers.files.retrieve(fileId, { container_id: containerId }, s ? { signal: s } : undefined), { signal });
        filename = containerFilename(meta.path, meta.source);
      }
      const name = filename;
      const value = await runner
        .send(
          'containers.files.content',
          async (c, s) => consume(this.opened(fileId, containerId, name, await c.containers.files.content.retrieve(fileId, { container_id: containerId }, s ? { signal: s } : options))),
          { signal },
        )
        .catch((error: unknown) => {
          throw persistentContentFailure(error, fileId, containerId) ?? error;
        });
      if (containerId === lifecycle.containerId) this.deps.onActivity();
      runner.stats.downloads++;
      return value;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const copied = await this.readCopy(fileId, containerId, filename, consume, signal);
      if (copied) return copied.value;
      const gone = containerId !== lifecycle.containerId || (await lifecycle.isExpiry(error, 'container-file', containerId, signal));
      throw new FileNotFoundError(
        fileId,
        containerId,
        gone
          ? 'its container has expired or was replaced, and its files with it. Set `persistGeneratedFiles: true` to keep copies of generated files.'
          : 'the container has no such file.',
        { cause: error },
      );
    }
  }

  /** The copy `persistGeneratedFiles` kept of container file `fileId`, read from the Files API; undefined when there is none. */
  private async readCopy<T>(
    fileId: string,
    containerId: string | undefined,
    filename: string | undefined,
    consume: (opened: OpenedDownload) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<{ value: T } | undefined> {
    const copy = this.deps.state.current.files.find((f) => f.containerFileId === fileId && f.origin === 'generated');
    if (!copy) return undefined;
    const { runner } = this.deps;
    const value = await runner.send(
      'files.content',
      async (c, s) => consume(this.opened(fileId, containerId, filename ?? copy.filename, await c.files.content(copy.fileId, s ? { signal: s } : undefined))),
      { signal },
    );
    runner.stats.downloads++;
    return { value };
  }

  private opened(fileId: string, containerId: string | undefined, filename: string | undefined, response: Response): OpenedDownload {
    if (!response.body) throw new FileNotFoundError(fileId, containerId, 'the API answered without a body');
    const length = Number(response.headers.get('content-length'));
    return {
      fileId,
      containerId,
      filename: filename ?? fileId,
      contentType: response.headers.get('content-type') ?? undefined,
      size: Number.isFinite(length) && response.headers.has('content-length') ? length : undefined,
      body: response.body,
    };
  }

  /** The whole file in memory; `maxBytes` guards against surprises (per attempt: a broken download starts over). */
  download(ref: FileRef, opts: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<DownloadedFile> {
    return this.fetchContent(ref, opts.signal, async (opened) => {
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of bodyChunks(opened.body, opened.fileId, opened.size, opts.signal)) {
        total += chunk.byteLength;
        if (opts.maxBytes !== undefined && total > opts.maxBytes) throw new DownloadTooLargeError(opened.fileId, opts.maxBytes); // the body is cancelled
        chunks.push(chunk);
      }
      const bytes = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return { filename: opened.filename, bytes, ...(opened.contentType !== undefined && { contentType: opened.contentType }) };
    });
  }

  /**
   * Saves one file into `dir`. The folder is checked (and created) before the download is opened;
   * once it is open, every failure cancels the body, so no connection is left behind. A body that
   * breaks mid-way is retried from the start into a fresh temporary file.
   */
  async save(ref: FileRef, dir: string, opts: SaveOptions = {}, claimed?: PathClaims): Promise<string> {
    const folder = await prepareFolder(dir, 'saveFile()', opts.signal);
    const { onProgress } = opts;
    // Each attempt counts from 0; the caller's progress never goes back.
    let reported = 0;
    const options: SaveOptions = onProgress
      ? {
          ...opts,
          onProgress: (progress) => {
            if (progress.bytes <= reported) return;
            reported = progress.bytes;
            onProgress(progress);
          },
        }
      : opts;
    return this.fetchContent(ref, opts.signal, async (opened) => {
      if (opts.maxBytes !== undefined && opened.size !== undefined && opened.size > opts.maxBytes) {
        await opened.body.cancel().catch(() => {});
        throw new DownloadTooLargeError(opened.fileId, opts.maxBytes);
      }
      return saveStream(opened.body, folder, opened.filename, opened.fileId, options, opened.size, claimed);
    });
  }

  /**
   * Saves every file a result cites (then its `generatedFiles` not cited), a few at a time, and settles them all before answering: the
   * paths in the result's order, or, when any failed, a `SaveAllError` listing what was saved
   * (with paths) and what failed (with errors). Nothing is written after it answers, and a failed
   * file leaves no temporary file. An unusable `dir` fails at once, before any download; an abort
   * rejects with the signal's reason once the saves under way have stopped.
   */
  async saveAll(result: Pick<RunResult, 'files' | 'generatedFiles'>, dir: string, opts: SaveOptions & { concurrency?: number } = {}): Promise<string[]> {
    const { concurrency = SAVE_ALL_CONCURRENCY, ...saveOptions } = opts;
    const files = filesToSave(result); // cited files, then listed generated ones (structured output drops citations)
    const folder = await prepareFolder(dir, 'saveAll()', opts.signal);
    const outcomes: Array<{ path: string } | { error: CodeInterpreterError }> = new Array(files.length);
    const claimed = new PathClaims(); // two files of one call never get the same path, `overwrite` or not
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const index = next++;
        try {
          outcomes[index] = { path: await this.save(files[index]!, folder, saveOptions, claimed) };
        } catch (error) {
          outcomes[index] = { error: toLibraryError(error, { operation: `saving ${files[index]!.filename}`, scrubber: this.deps.runner.scrubber }) as CodeInterpreterError };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
    opts.signal?.throwIfAborted();
    const saved: Array<{ fileId: string; filename: string; path: string }> = [];
    const failed: Array<{ fileId: string; filename: string; error: CodeInterpreterError }> = [];
    outcomes.forEach((outcome, i) => {
      const { fileId, filename } = files[i]!;
      if ('path' in outcome) saved.push({ fileId, filename, path: outcome.path });
      else failed.push({ fileId, filename, error: outcome.error });
    });
    if (failed.length) throw new SaveAllError(saved, failed);
    return saved.map((s) => s.path);
  }
}
