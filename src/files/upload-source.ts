import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { toStreamingFile, type Uploadable } from 'openai';
import { InvalidOptionsError } from '../errors.js';
import type { UploadSource } from './types.js';

/** An upload source made ready to send: a fresh body for each attempt when the source allows it. */
export interface PreparedUpload {
  filename: string;
  /** Size when known up front. */
  bytes: number | undefined;
  /** False for one-shot streams: such an upload gets one attempt. */
  replayable: boolean;
  /** A body for one attempt. */
  body(): Uploadable;
}

const FALLBACK_NAME = 'upload.bin';

function isNodeReadable(value: unknown): value is NodeJS.ReadableStream {
  return typeof value === 'object' && value !== null && typeof (value as NodeJS.ReadableStream).pipe === 'function' && Symbol.asyncIterator in value;
}

/**
 * Turns any accepted source into an upload body without reading a file or stream into memory:
 * paths are re-opened per attempt, streams are sent as they are read (openai's `toStreamingFile`).
 */
/** Progress of an upload or download: bytes so far, and the total when known. */
export type ProgressListener = (progress: { bytes: number; totalBytes: number | undefined }) => void;

/** Passes chunks through, reporting the running byte count. */
async function* counted(source: AsyncIterable<Uint8Array>, total: number | undefined, onProgress: ProgressListener): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    onProgress({ bytes, totalBytes: total });
    yield chunk;
  }
}

export async function prepareUpload(source: UploadSource, filename?: string, onProgress?: ProgressListener): Promise<PreparedUpload> {
  if (filename !== undefined && (typeof filename !== 'string' || filename.trim() === '')) {
    throw new InvalidOptionsError('upload()', [{ path: 'filename', message: 'expected a non-empty string' }]);
  }
  if (typeof source === 'string') {
    const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidOptionsError('upload()', [{ path: 'source', message: `no readable file at '${source}' (${error.code ?? error.message}); pass an existing path, bytes, a Blob or a stream` }]);
    });
    if (!info.isFile()) throw new InvalidOptionsError('upload()', [{ path: 'source', message: `'${source}' is not a file` }]);
    const name = filename ?? basename(source);
    const open = () => (onProgress ? counted(createReadStream(source), info.size, onProgress) : createReadStream(source));
    return { filename: name, bytes: info.size, replayable: true, body: () => toStreamingFile(open(), name) };
  }
  if (source instanceof Uint8Array) {
    const name = filename ?? FALLBACK_NAME;
    return { filename: name, bytes: source.byteLength, replayable: true, body: () => new File([source as Uint8Array<ArrayBuffer>], name) };
  }
  if (source instanceof Blob) {
    const name = filename ?? ((source as File).name || FALLBACK_NAME);
    return { filename: name, bytes: source.size, replayable: true, body: () => new File([source], name, { type: source.type }) };
  }
  if (source instanceof ReadableStream || isNodeReadable(source)) {
    const name = filename ?? (isNodeReadable(source) && 'path' in source && typeof source.path === 'string' ? basename(source.path) : FALLBACK_NAME);
    let used = false;
    return {
      filename: name,
      bytes: undefined,
      replayable: false,
      body: () => {
        if (used) throw new Error('a stream upload can be sent only once');
        used = true;
        const data = source instanceof ReadableStream ? source : (Readable.from(source as AsyncIterable<Uint8Array>) as AsyncIterable<Uint8Array>);
        return toStreamingFile(onProgress ? counted(data as AsyncIterable<Uint8Array>, undefined, onProgress) : data, name);
      },
    };
  }
  throw new InvalidOptionsError('upload()', [
    { path: 'source', message: 'expected a file path, a Uint8Array, a Blob, a web ReadableStream or a Node readable stream' },
  ]);
}
