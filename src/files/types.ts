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
  /** Where the code sees it, e.g. `/mnt/data/88e12fa445d32636f190a0b33daed6cb-sales.csv` for a file you put there, `/mnt/data/chart.png` for one the code wrote. */
  path: string;
  /** The base name of `path`, without the `<hash>-` prefix the service gives files you put in the container (`sales.csv`). */
  filename: string;
  bytes: number;
  /** `user` (uploaded or attached) or `assistant` (written by the model's code). */
  source: string;
  /** Unix seconds. */
  createdAt: number;
}
