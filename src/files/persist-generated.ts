import type { Downloads } from '../downloads/downloads.js';
import { asError } from '../errors.js';
import type { TypedEmitter } from '../events.js';
import type { RequestRunner } from '../retry/request-runner.js';
import type { RunResult } from '../runs/result.js';
import type { SessionFiles } from './session-files.js';
import type { ContainerFile, SessionFile } from './types.js';
import { sha256 } from './orphans.js';
import { streamingFile, watchEnd } from './upload-source.js';

/** Generated files up to this size are buffered so their upload can be retried; larger ones stream once. */
export const BUFFERED_COPY_LIMIT = 16 * 1024 * 1024;

/**
 * `persistGeneratedFiles`: copies every file the model wrote in this run (cited, or listed with
 * `source: "assistant"`) to the Files API and tracks the copy, so a re-created container gets it
 * back and downloads still work after expiry. Costs one listing per run and two requests per new
 * file (download, upload).
 *
 * The run has succeeded (and is part of the conversation) by the time this runs, so a copy that
 * fails does not fail the run: the file is added to `result.persistErrors` and reported on the
 * `error` event, and the other files are still copied. Only an abort (the caller's signal, or
 * `close()`) stops it with an error.
 */
export async function persistGeneratedFiles(
  deps: { runner: RequestRunner; files: SessionFiles; downloads: Downloads; events: TypedEmitter },
  result: RunResult,
  signal?: AbortSignal,
  /** The container's files, when the caller listed them already (one listing per run). */
  listing?: readonly ContainerFile[],
): Promise<SessionFile[]> {
  const { files } = deps;
  const failures = (result.persistErrors ??= []);
  const known = new Set(files.tracked.map((f) => f.containerFileId).filter(Boolean));
  const listed = listing ?? (await files.list(signal));
  const candidates = new Map<string, { fileId: string; containerId: string; filename: string }>();
  for (const f of result.files) if (f.containerId === result.containerId) candidates.set(f.fileId, f);
  for (const f of listed) if (f.source === 'assistant') candidates.set(f.id, { fileId: f.id, containerId: f.containerId, filename: f.filename });
  const copied: SessionFile[] = [];
  for (const generated of candidates.values()) {
    if (known.has(generated.fileId)) continue;
    try {
      copied.push(await copyOne(deps, generated, result.containerId, signal));
    } catch (caught) {
      if (signal?.aborted) throw caught;
      // The run's answer is good and already in the conversation: it is returned, and the file
      // that could not be copied is reported, on the result and the `error` event.
      const error = asError(caught);
      failures.push({ containerId: generated.containerId, fileId: generated.fileId, filename: generated.filename, error });
      deps.events.emit('error', { operation: 'persistGeneratedFiles', error });
    }
  }
  return copied;
}

/** Copies one generated file to the Files API (download, upload) and tracks the copy. */
async function copyOne(
  deps: { runner: RequestRunner; files: SessionFiles; downloads: Downloads },
  generated: { fileId: string; containerId: string; filename: string },
  containerId: string,
  signal: AbortSignal | undefined,
): Promise<SessionFile> {
  const { runner, files, downloads } = deps;
  const opened = await downloads.open(generated, signal);
  const small = opened.size !== undefined && opened.size <= BUFFERED_COPY_LIMIT;
  let whole = small;
  try {
    const buffered = small ? new File([new Uint8Array(await new Response(opened.body).arrayBuffer())], opened.filename) : undefined;
    const created = await files.createFile(
      'files.create (persist generated file)',
      {
        filename: opened.filename,
        bytes: opened.size,
        replayable: small,
        make: (client) => buffered ?? streamingFile(client, watchEnd(opened.body as AsyncIterable<Uint8Array>, () => (whole = true)), opened.filename),
        sentWhole: () => whole,
        ...(buffered && { digest: async () => sha256(new Uint8Array(await buffered.arrayBuffer())) }),
      },
      signal,
    );
    runner.stats.uploads++;
    const file: SessionFile = {
      fileId: created.id,
      filename: opened.filename,
      bytes: created.bytes,
      origin: 'generated',
      owned: true,
      containerFileId: generated.fileId,
    };
    // Tracked but not attached: the file is already in this container under its original id.
    await files.trackOnly(file, containerId, signal);
    return file;
  } catch (error) {
    // A download whose upload failed part way: release its connection.
    if (!whole) await opened.body.cancel().catch(() => undefined);
    throw error;
  }
}
