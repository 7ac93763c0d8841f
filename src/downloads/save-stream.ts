import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { raceSignal } from '../abort.js';
import { CodeInterpreterError, DownloadTooLargeError, FileSaveError, asError, clause, describeError, errnoCode, fsHint } from '../errors.js';
import { bodyChunks } from './body.js';
import { numberedName, safeFilename } from './safe-filename.js';

export interface SaveOptions {
  /**
   * Replace an existing file of the same name. In `saveAll`, this applies to files that were there
   * before the call: two files of one call with the same name never share a path (the later one
   * gets `name (1).ext`). @default false (a numbered name is chosen instead)
   */
  overwrite?: boolean;
  /** Abort with `DownloadTooLargeError` once the download grows past this many bytes (counted per attempt). @default no limit */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * Told the bytes written so far and the size the server announced. A download whose connection
   * broke is retried from the start; `bytes` never goes back: the new attempt is reported again
   * once it gets past what was reported.
   */
  onProgress?: (progress: { bytes: number; totalBytes: number | undefined }) => void;
}

/** Most numbered names tried before giving up (`name (1).ext` …). */
const MAX_NUMBERED = 10_000;

/**
 * Makes sure `dir` is a folder this process can write to (creating it when missing) and returns
 * its absolute path; otherwise a `FileSaveError` that names the folder and what to change. Called
 * before a download is opened, so an unusable folder costs no request and leaves no connection open.
 * Every step answers `signal` (rejecting with its reason): a file system that does not answer
 * cannot hold the call, or `close()`, which aborts it.
 */
export async function prepareFolder(dir: string, where = 'saveFile()', signal?: AbortSignal): Promise<string> {
  const folder = resolve(dir);
  const fail = (error: unknown, what: string): never => {
    if (signal?.aborted) throw signal.reason;
    const code = errnoCode(error) ?? 'ENOTDIR';
    throw new FileSaveError(`${where}: ${what} '${folder}' (${clause(describeError(error))}). ${fsHint(code)}`, folder, { cause: error, code });
  };
  await makeFolder(folder, signal).catch((error: unknown) => fail(error, 'cannot create the folder'));
  const info = await raceSignal(stat(folder), signal).catch((error: unknown) => fail(error, 'cannot read the folder'));
  if (!info.isDirectory()) fail(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }), 'cannot save into');
  await raceSignal(access(folder, constants.W_OK | constants.X_OK), signal).catch((error: unknown) => fail(error, 'cannot write into the folder'));
  return folder;
}

/**
 * `mkdir -p`, one `mkdir` per missing level and each tried at most twice, so it always ends. Node's
 * own `mkdir(…, { recursive: true })` never settles where `mkdir` answers ENOENT although the parent
 * exists (procfs: `/proc/x`), looping on the thread pool for ever; here that is ENOENT at once.
 */
async function makeFolder(folder: string, signal: AbortSignal | undefined): Promise<void> {
  const once = () =>
    raceSignal(mkdir(folder), signal).catch((error: unknown) => {
      if (errnoCode(error) !== 'EEXIST') throw error; // there already (a file there fails the stat check)
    });
  try {
    await once();
  } catch (error) {
    const parent = dirname(folder);
    if (errnoCode(error) !== 'ENOENT' || parent === folder) throw error;
    await makeFolder(parent, signal);
    await once(); // the parent exists now: ENOENT again means this file system makes no folder here
  }
}

/** A file system error while writing `name` in `folder`, as a `FileSaveError` saying what to do. */
function writeError(error: unknown, folder: string, name: string): unknown {
  const code = errnoCode(error);
  if (!code || error instanceof CodeInterpreterError) return error;
  return new FileSaveError(`saveFile(): could not write '${name}' in '${folder}' (${clause(describeError(error))}). ${fsHint(code)}`, join(folder, name), {
    cause: error,
    code,
  });
}

/**
 * Streams `body` into `folder` (absolute, already checked by {@link prepareFolder}) under a safe
 * version of `filename`: first to a temporary name in the same folder, then renamed (or
 * hard-linked, which refuses to replace an existing file) to the final name. Memory stays
 * constant; a failed or oversized download leaves nothing behind, and a folder that went away
 * meanwhile fails the write with a `FileSaveError` (the body is cancelled). A body that breaks
 * mid-way fails with `BodyInterruptedError`, which the caller's request runner retries.
 */
export async function saveStream(
  body: ReadableStream<Uint8Array>,
  folder: string,
  filename: string | undefined,
  fileId: string,
  options: SaveOptions = {},
  totalBytes?: number,
  /** Paths already given to other files of the same `saveAll`: never reused, even with `overwrite`. */
  claimed?: PathClaims,
): Promise<string> {
  const name = safeFilename(filename, fileId);
  const temp = join(folder, `.${name.slice(0, 40)}.${randomBytes(6).toString('hex')}.part`);
  let received = 0;
  const { maxBytes } = options;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (maxBytes !== undefined && received > maxBytes) return callback(new DownloadTooLargeError(fileId, maxBytes));
      try {
        options.onProgress?.({ bytes: received, totalBytes });
      } catch (error) {
        // A throwing listener fails this save like any write error; thrown out of _transform it
        // would escape the pipeline (an unhandled error on Node 22, and the download left open).
        return callback(asError(error));
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(bodyChunks(body, fileId, totalBytes, options.signal), counter, createWriteStream(temp, { flags: 'wx' }), {
      signal: options.signal,
    });
    return await placeFile(temp, folder, name, options.overwrite ?? false, claimed);
  } catch (error) {
    await unlink(temp).catch(() => {});
    // The pipeline cancels the body when it fails; a failure before it started did not.
    await body.cancel().catch(() => {});
    if (options.signal?.aborted) throw options.signal.reason;
    throw writeError(error, folder, name);
  }
}

/**
 * The paths one `saveAll` has given out, so two of its files never share one: `overwrite` replaces
 * files that were there before the call, not another file of the same call (that one gets a
 * numbered name). Compared case-insensitively where the file system usually is (macOS, Windows).
 */
export class PathClaims {
  private readonly taken = new Set<string>();
  private readonly key = process.platform === 'darwin' || process.platform === 'win32' ? (p: string) => p.normalize('NFC').toLowerCase() : (p: string) => p;

  /** Claims `path` unless another file of the call has it; true when claimed now. */
  claim(path: string): boolean {
    const key = this.key(path);
    if (this.taken.has(key)) return false;
    this.taken.add(key);
    return true;
  }

  release(path: string): void {
    this.taken.delete(this.key(path));
  }
}

async function placeFile(temp: string, folder: string, name: string, overwrite: boolean, claimed?: PathClaims): Promise<string> {
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const target = inside(folder, numberedName(name, n));
    if (claimed && !claimed.claim(target)) continue; // another file of this saveAll has this path
    try {
      if (overwrite) {
        await rename(temp, target);
        return target;
      }
      await link(temp, target); // fails with EEXIST instead of replacing: no race with another writer
      await unlink(temp);
      return target;
    } catch (error) {
      claimed?.release(target);
      if (overwrite || (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new FileSaveError(`saveFile(): ${MAX_NUMBERED} files named like '${name}' already exist in ${folder}; pass { overwrite: true } or another dir`, join(folder, name), { code: 'EEXIST' });
}

/** The path of `name` in `folder`, asserting it cannot escape (the name is already sanitised). */
function inside(folder: string, name: string): string {
  const target = resolve(folder, name);
  if (!target.startsWith(folder.endsWith(sep) ? folder : folder + sep)) throw new FileSaveError(`saveFile(): refusing to write outside ${folder}: ${name}`, target);
  return target;
}
