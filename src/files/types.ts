import type { Readable } from 'node:stream';

/** What `upload()` accepts: a file path, bytes, a Blob/File, a web stream or a Node stream. */
export type UploadSource = string | Uint8Array | Blob | ReadableStream<Uint8Array> | Readable | NodeJS.ReadableStream;

/** A file the session tracks and brings back into every container it makes (the manifest). */
export interface SessionFile {
  /** The Files API id the container gets the file from. */
  fileId: string;
  filename: string;
  bytes: number;
  /** `upload`: sent by `upload()`; `attached`: an existing file id; `generated`: a model-written file copied by `persistGeneratedFiles`. */
  origin: 'upload' | 'attached' | 'generated';
  /** True when this session created the Files API copy, so `close()` deletes it. */
  owned: boolean;
  /** The container file this came from (generated files) or was attached as, when known. */
  containerFileId?: string;
}

/** A file in the container, as `listFiles()` returns it. */
export interface ContainerFile {
  id: string;
  containerId: string;
  /** Where the code sees it, e.g. `/mnt/data/sales.csv`. */
  path: string;
  /** The base name of `path`. */
  filename: string;
  bytes: number;
  /** `user` (uploaded or attached) or `assistant` (written by the model's code). */
  source: string;
  /** Unix seconds. */
  createdAt: number;
}
