import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { Uploadable } from 'openai';
import { InvalidOptionsError } from '../errors.js';
import { uploadFilenameProblem } from './filename.js';
import { sha256 } from './orphans.js';
import type { UploadSource } from './types.js';

/** An upload source made ready to send: a fresh body for each attempt when the source allows it. */
export interface PreparedUpload {
  filename: string;
  /** Size when known up front. */
  bytes: number | undefined;
  /** False for one-shot streams: such an upload gets one attempt. */
  replayable: boolean;
  /** The SHA-256 of the content (hex), for replayable sources: recognises this upload's file after a lost answer. */
  digest?: () => Promise<string>;
  /** A body for one attempt, built for `client` (whose copy of `openai` must recognise it). */
  body(client: OpenAI): Uploadable;
  /**
   * Whether the last body may have reached the server whole (always, for bytes in memory): until
   * then an abort may cancel the request, since no file can have been made.
   */
  sentWhole(): boolean;
}

type StreamingFileMaker = (data: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, name: string) => Uploadable;

/**
 * A streamed upload body that the given client's own copy of `openai` recognises. openai marks
 * streaming files with a symbol private to each copy, so a body made by this library's import of
 * `openai` is not recognised by a client from another copy (its CJS build, another version): it
 * would be sent as `file[data]`/`file[name]` fields and refused. The client class carries its copy's
 * `toStreamingFile` as a static; a client without it gets a plain async iterable with a `name`,
 * which every version reads (buffered in memory by the SDK before sending).
 */
export function streamingFile(client: OpenAI, data: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, name: string): Uploadable {
  const make = (client.constructor as { toStreamingFile?: StreamingFileMaker }).toStreamingFile;
  if (typeof make === 'function') return make(data, name);
  const iterable = data as AsyncIterable<Uint8Array>;
  return { name, [Symbol.asyncIterator]: () => iterable[Symbol.asyncIterator]() } as unknown as Uploadable;
}

const FALLBACK_NAME = 'upload.bin';

function isNodeReadable(value: unknown): value is NodeJS.ReadableStream {
  return typeof value === 'object' && value !== null && typeof (value as NodeJS.ReadableStream).pipe === 'function' && Symbol.asyncIterator in value;
}

/** Progress of an upload or download: bytes so far, and the total when known. */
export type ProgressListener = (progress: { bytes: number; totalBytes: number | undefined }) => void;

/** Passes chunks through, calling `onEnd` once the source is exhausted. */
export async function* watchEnd(source: AsyncIterable<Uint8Array>, onEnd: () => void): AsyncGenerator<Uint8Array> {
  yield* source;
  onEnd();
}

/** Passes chunks through, reporting the running byte count. */
async function* counted(source: AsyncIterable<Uint8Array>, total: number | undefined, onProgress: ProgressListener): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    onProgress({ bytes, totalBytes: total });
    yield chunk;
  }
}

/**
 * Where an upload's source came from, for the errors that refuse it: `upload()`'s own arguments
 * (the default), or an option of another call that uploads, e.g. `{ method: 'run()', path: 'files.1' }`
 * (such a source has no `filename` of its own: its name is taken from the source).
 */
export interface UploadCaller {
  /** The method the user called, as errors name it (`upload()`, `run()`, `stream()`). */
  method: string;
  /** The option that holds the source; absent for `upload()`'s arguments (`source`, `filename`). */
  path?: string;
}

/** The name a source is uploaded under: `filename`, else the path's base name, a File's name, a file stream's path, or `upload.bin`. */
export function uploadSourceName(source: UploadSource, filename?: string): string {
  if (filename !== undefined) return filename;
  if (typeof source === 'string') return basename(source);
  if (source instanceof Blob) return (source as File).name || FALLBACK_NAME;
  if (isNodeReadable(source) && 'path' in source && typeof source.path === 'string') return basename(source.path);
  return FALLBACK_NAME;
}

/**
 * Why the name `source` would be uploaded under is refused ({@link uploadFilenameProblem}), said
 * for `caller`, or `undefined` when it is fine.
 */
export function uploadNameIssue(source: UploadSource, filename: string | undefined, caller?: UploadCaller): { path: string; message: string } | undefined {
  const name = uploadSourceName(source, filename);
  const problem = uploadFilenameProblem(name);
  if (!problem) return undefined;
  if (filename !== undefined) return { path: caller?.path ?? 'filename', message: problem };
  const taken = `the name taken from the source, ${JSON.stringify(name.slice(0, 80))}, ${problem}`;
  return caller?.path === undefined
    ? { path: 'filename', message: `${taken}, or pass \`filename\` to upload it under another name` }
    : { path: caller.path, message: `${taken}, or upload it under another name with upload(source, { filename }) before calling ${caller.method}` };
}

/**
 * Turns any accepted source into an upload body without reading a file or stream into memory:
 * paths are re-opened per attempt, streams are sent as they are read ({@link streamingFile}).
 * Bytes and Blobs become a global `File`, which every copy of `openai` accepts. Whatever is wrong
 * with the source or its name is refused here, before anything is sent, naming `caller`.
 */
export async function prepareUpload(source: UploadSource, filename?: string, onProgress?: ProgressListener, caller?: UploadCaller): Promise<PreparedUpload> {
  const method = caller?.method ?? 'upload()';
  if (filename !== undefined && (typeof filename !== 'string' || filename.trim() === '')) {
    throw new InvalidOptionsError(method, [{ path: caller?.path ?? 'filename', message: 'expected a non-empty string' }]);
  }
  // Checked before anything is sent, whether given or taken from the source (a path, File.name).
  const issue = uploadNameIssue(source, filename, caller);
  if (issue) throw new InvalidOptionsError(method, [issue]);
  return prepareSource(source, filename, onProgress, { method, path: caller?.path ?? 'source' });
}

async function prepareSource(source: UploadSource, filename: string | undefined, onProgress: ProgressListener | undefined, at: Required<UploadCaller>): Promise<PreparedUpload> {
  const name = uploadSourceName(source, filename);
  if (typeof source === 'string') {
    const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidOptionsError(at.method, [{ path: at.path, message: `no readable file at '${source}' (${error.code ?? error.message}); pass an existing path, bytes, a Blob or a stream` }]);
    });
    if (!info.isFile()) throw new InvalidOptionsError(at.method, [{ path: at.path, message: `'${source}' is not a file` }]);
    let whole = false;
    const open = () => {
      whole = false;
      const data = onProgress ? counted(createReadStream(source), info.size, onProgress) : createReadStream(source);
      return watchEnd(data as AsyncIterable<Uint8Array>, () => (whole = true));
    };
    const digest = async () => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    };
    return { filename: name, bytes: info.size, replayable: true, body: (client) => streamingFile(client, open(), name), sentWhole: () => whole, digest };
  }
  if (source instanceof Uint8Array) {
    return {
      filename: name,
      bytes: source.byteLength,
      replayable: true,
      body: () => new File([source as Uint8Array<ArrayBuffer>], name),
      sentWhole: () => true,
      digest: async () => sha256(source),
    };
  }
  if (source instanceof Blob) {
    return {
      filename: name,
      bytes: source.size,
      replayable: true,
      body: () => new File([source], name, { type: source.type }),
      sentWhole: () => true,
      digest: async () => sha256(new Uint8Array(await source.arrayBuffer())),
    };
  }
  if (source instanceof ReadableStream || isNodeReadable(source)) {
    let used = false;
    let whole = false;
    return {
      filename: name,
      bytes: undefined,
      replayable: false,
      sentWhole: () => whole,
      body: (client) => {
        if (used) throw new Error('a stream upload can be sent only once');
        used = true;
        const data = source instanceof ReadableStream ? source : (Readable.from(source as AsyncIterable<Uint8Array>) as AsyncIterable<Uint8Array>);
        const counting = onProgress ? counted(data as AsyncIterable<Uint8Array>, undefined, onProgress) : (data as AsyncIterable<Uint8Array>);
        return streamingFile(client, watchEnd(counting, () => (whole = true)), name);
      },
    };
  }
  throw new InvalidOptionsError(at.method, [
    { path: at.path, message: 'expected a file path, a Uint8Array, a Blob, a web ReadableStream or a Node readable stream' },
  ]);
}
