import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rename, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DownloadTooLargeError } from '../errors.js';
import { numberedName, safeFilename } from './safe-filename.js';

export interface SaveOptions {
  /** Replace an existing file of the same name. @default false (a numbered name is chosen instead) */
  overwrite?: boolean;
  /** Abort with `DownloadTooLargeError` once the download grows past this many bytes. @default no limit */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Told the bytes written so far and the size the server announced. */
  onProgress?: (progress: { bytes: number; totalBytes: number | undefined }) => void;
}

/** Most numbered names tried before giving up (`name (1).ext` …). */
const MAX_NUMBERED = 10_000;

/**
 * Streams `body` into `dir` under a safe version of `filename`: first to a temporary name in the
 * same folder, then renamed (or hard-linked, which refuses to replace an existing file) to the
 * final name. Memory stays constant; a failed or oversized download leaves nothing behind.
 */
export async function saveStream(
  body: ReadableStream<Uint8Array>,
  dir: string,
  filename: string | undefined,
  fileId: string,
  options: SaveOptions = {},
  totalBytes?: number,
): Promise<string> {
  const folder = resolve(dir);
  await mkdir(folder, { recursive: true });
  const name = safeFilename(filename, fileId);
  const temp = join(folder, `.${name.slice(0, 40)}.${randomBytes(6).toString('hex')}.part`);
  let received = 0;
  const { maxBytes } = options;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (maxBytes !== undefined && received > maxBytes) return callback(new DownloadTooLargeError(fileId, maxBytes));
      options.onProgress?.({ bytes: received, totalBytes });
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), counter, createWriteStream(temp, { flags: 'wx' }), {
      signal: options.signal,
    });
    return await placeFile(temp, folder, name, options.overwrite ?? false);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

async function placeFile(temp: string, folder: string, name: string, overwrite: boolean): Promise<string> {
  if (overwrite) {
    const target = inside(folder, name);
    await rename(temp, target);
    return target;
  }
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const target = inside(folder, numberedName(name, n));
    try {
      await link(temp, target); // fails with EEXIST instead of replacing: no race with another writer
      await unlink(temp);
      return target;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`saveFile(): ${MAX_NUMBERED} files named like '${name}' already exist in ${folder}; pass { overwrite: true } or another dir`);
}

/** The path of `name` in `folder`, asserting it cannot escape (the name is already sanitised). */
function inside(folder: string, name: string): string {
  const target = resolve(folder, name);
  if (!target.startsWith(folder + sep)) throw new Error(`refusing to write outside ${folder}: ${name}`);
  return target;
}
