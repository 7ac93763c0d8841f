import type OpenAI from 'openai';
import { InvalidOptionsError } from '../errors.js';
import type { RunInput } from '../runs/conversation.js';
import { isBase64 } from '../validation.js';
import { uploadFilenameProblem } from './filename.js';
import type { SessionFile } from './types.js';
import type { UploadCaller } from './upload-source.js';

type InputItem = OpenAI.Responses.ResponseInputItem;

/** An `input_file` content part (`ResponseInputFile`), as far as this module reads it. */
interface InputFilePart {
  type: 'input_file';
  file_id?: string | null;
  file_data?: string;
  file_url?: string;
  filename?: string;
  [key: string]: unknown;
}

function isInputFile(part: unknown): part is InputFilePart {
  return typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'input_file';
}

/** Every `input_file` part of the input's messages, with where it sits (item, part). */
function inputFileParts(input: RunInput): Array<{ item: number; part: number; value: InputFilePart }> {
  if (typeof input === 'string') return [];
  const found: Array<{ item: number; part: number; value: InputFilePart }> = [];
  input.forEach((item, i) => {
    const content = (item as { content?: unknown }).content;
    if (!Array.isArray(content)) return;
    content.forEach((part, j) => {
      if (isInputFile(part)) found.push({ item: i, part: j, value: part });
    });
  });
  return found;
}

/** The name a `file_data` part is uploaded under. */
const inputFilename = (part: InputFilePart): string => (typeof part.filename === 'string' && part.filename.trim() !== '' ? part.filename : 'input.bin');

/** The base64 text of a `file_data` value (a `data:…;base64,` URL or bare base64), or undefined when it is neither. */
function base64Of(fileData: string): string | undefined {
  const comma = fileData.startsWith('data:') ? fileData.indexOf(',') : -1;
  if (fileData.startsWith('data:') && (comma === -1 || !fileData.slice(0, comma).endsWith(';base64'))) return undefined;
  const base64 = comma === -1 ? fileData : fileData.slice(comma + 1);
  return isBase64(base64) ? base64 : undefined;
}

/**
 * Refuses, before anything is sent, the `input_file` parts of a run's input that could not be
 * uploaded: `file_data` that is not base64, and a `filename` an upload cannot carry
 * ({@link uploadFilenameProblem}). Every problem is named, with `method` (`run()`, `stream()`).
 */
export function validateInputFiles(method: string, input: RunInput): void {
  const issues: Array<{ path: string; message: string }> = [];
  for (const { item, part, value } of inputFileParts(input)) {
    if ((typeof value.file_id === 'string' && value.file_id !== '') || typeof value.file_data !== 'string') continue;
    const where = `input[${item}].content[${part}]`;
    if (base64Of(value.file_data) === undefined) issues.push({ path: `${where}.file_data`, message: 'expected base64 data: a `data:<type>;base64,…` URL or bare base64' });
    const problem = uploadFilenameProblem(inputFilename(value));
    if (problem) issues.push({ path: `${where}.filename`, message: `${problem} (the file is uploaded under it)` });
  }
  if (issues.length > 0) throw new InvalidOptionsError(method, issues);
}

/** The bytes of a `file_data` value checked by {@link validateInputFiles}. */
function decodeFileData(fileData: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64Of(fileData) ?? '', 'base64'));
}

/** What the session does with the files a run's input hands the model. */
export interface InputFileHooks {
  /** Whether the session tracks this Files API id already. */
  isTracked(fileId: string): boolean;
  /** A Files API file's details (`FileNotFoundError` when there is none). */
  describe(fileId: string, signal: AbortSignal | undefined): Promise<SessionFile>;
  /** Uploads inline bytes to the Files API (owned by the session); not attached to the container. */
  uploadBytes(bytes: Uint8Array, filename: string, signal: AbortSignal | undefined, caller: UploadCaller): Promise<SessionFile>;
  /** Takes the files uploaded for a run that failed before they could be handed back (close() deletes them). */
  abandon(files: readonly SessionFile[]): void;
}

/**
 * Files in a run's input (`input_file` parts), made to survive re-creation of the container:
 * - `file_id`: the service copies the file into the container for the run; the session tracks the id
 *   (as an attached file, not owned: `close()` does not delete it) so a re-created container gets it.
 *   A new id is looked up first (one `files.retrieve`): an unknown id fails before the run is sent.
 * - `file_data`: uploaded once to the Files API (owned: `close()` deletes it), and the part is sent as
 *   `file_id` instead, so the container gets one copy and a re-created container gets it back.
 * - `file_url`: sent as given and not tracked (the library does not fetch URLs on your behalf): the
 *   file is in the container for that run only.
 * Returns the input to send (the caller's input when nothing changed) and the files to track.
 * The parts are checked first ({@link validateInputFiles}), so a bad one sends nothing.
 */
export async function prepareInputFiles(
  method: string,
  input: RunInput,
  hooks: InputFileHooks,
  signal: AbortSignal | undefined,
): Promise<{ input: RunInput; files: SessionFile[] }> {
  const parts = inputFileParts(input);
  if (parts.length === 0) return { input, files: [] };
  validateInputFiles(method, input);
  const files: SessionFile[] = [];
  const seen = new Set<string>();
  const rewritten = new Map<string, InputFilePart>(); // "item/part" -> replacement
  try {
    for (const { item, part, value } of parts) {
      if (typeof value.file_id === 'string' && value.file_id !== '') {
        const fileId = value.file_id;
        if (seen.has(fileId) || hooks.isTracked(fileId)) continue;
        seen.add(fileId);
        files.push({ ...(await hooks.describe(fileId, signal)), origin: 'attached', owned: false });
      } else if (typeof value.file_data === 'string') {
        const uploaded = await hooks.uploadBytes(decodeFileData(value.file_data), inputFilename(value), signal, { method, path: `input[${item}].content[${part}].filename` });
        files.push(uploaded);
        const { file_data: _data, ...rest } = value;
        rewritten.set(`${item}/${part}`, { ...rest, file_id: uploaded.fileId });
      }
    }
  } catch (error) {
    hooks.abandon(files.filter((f) => f.owned)); // uploaded for this run, which now fails: not left behind
    throw error;
  }
  if (rewritten.size === 0 || typeof input === 'string') return { input, files };
  const copy = input.map((item, i) => {
    const content = (item as { content?: unknown }).content;
    if (!Array.isArray(content) || !content.some((_p, j) => rewritten.has(`${i}/${j}`))) return item;
    return { ...item, content: content.map((p: unknown, j) => rewritten.get(`${i}/${j}`) ?? p) } as InputItem;
  });
  return { input: copy, files };
}
