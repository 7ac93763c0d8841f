/**
 * Reads the `input` of `POST /responses`: messages (text and `input_file` parts), replayed
 * `code_interpreter_call` items and `item_reference`s, as the service resolves them.
 */
import { errorResponse, missingParameter } from '../api-error.js';
import { bytesContent } from '../content.js';
import { newId } from '../ids.js';
import type { SimState } from '../state.js';
import type { SimulatedContent } from '../types.js';
import { isObject } from '../util.js';

/** A file an `input_file` part hands the model; the service copies it into the container. */
export interface InputFile {
  filename: string;
  /** Undefined for a `file_url` the simulator was not given the contents of. */
  content: SimulatedContent | undefined;
  /** The Files API file, for `file_id` parts. */
  fileId?: string;
  /** What the part named, for the stand-in model when it could not be read. */
  source: string;
}

export interface ReadInput {
  /** Every input item with an id, as `GET /responses/{id}/input_items` lists them. */
  items: Array<Record<string, unknown> & { id: string }>;
  messages: Array<{ role: string; text: string }>;
  /** Containers named by replayed or referenced code_interpreter_call items. */
  containerIds: string[];
  files: InputFile[];
}

/** Text of a Responses input/output message's content (string or parts). */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function decodeFileData(data: string): Uint8Array | undefined {
  const match = /^data:[^,]*?(;base64)?,(.*)$/s.exec(data);
  const payload = match ? match[2]! : data;
  if (match && !match[1]) return new TextEncoder().encode(decodeURIComponent(payload));
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload.replace(/\s+/g, ''))) return undefined;
  return new Uint8Array(Buffer.from(payload, 'base64'));
}

async function resolveUrl(state: SimState, url: string): Promise<Uint8Array | undefined> {
  if (url.startsWith('data:')) return decodeFileData(url);
  const given = state.options.fileUrls;
  const found = typeof given === 'function' ? await given(url) : given?.[url];
  return found === undefined ? undefined : typeof found === 'string' ? new TextEncoder().encode(found) : found;
}

function urlFilename(url: string): string {
  try {
    const name = new URL(url).pathname.split('/').filter(Boolean).pop();
    return name ? decodeURIComponent(name) : 'file';
  } catch {
    return 'file';
  }
}

/** One `input_file` part, or the API's 400/404 for it. */
async function inputFile(state: SimState, part: Record<string, unknown>, at: string): Promise<InputFile | Response> {
  const filename = typeof part.filename === 'string' && part.filename ? part.filename : undefined;
  if (typeof part.file_id === 'string') {
    const file = state.liveFile(part.file_id);
    if (!file) return errorResponse(404, `No such File object: ${part.file_id}`, { param: `${at}.file_id` });
    return { filename: file.filename, content: file.content, fileId: file.id, source: part.file_id };
  }
  if (typeof part.file_data === 'string') {
    if (!filename) return missingParameter(`${at}.filename`);
    const bytes = decodeFileData(part.file_data);
    if (!bytes) {
      return errorResponse(400, `Invalid '${at}.file_data': expected base64-encoded data (optionally a data: URL).`, {
        param: `${at}.file_data`,
        code: 'invalid_value',
      });
    }
    return { filename, content: bytesContent(bytes), source: filename };
  }
  if (typeof part.file_url === 'string') {
    const bytes = await resolveUrl(state, part.file_url);
    return { filename: filename ?? urlFilename(part.file_url), content: bytes && bytesContent(bytes), source: part.file_url };
  }
  return errorResponse(400, `Invalid '${at}': one of 'file_id', 'file_data' or 'file_url' is required.`, { param: at, code: 'missing_required_parameter' });
}

/** Reads the input items, resolving item references; answers the API's error for a bad one. */
export async function readInput(state: SimState, rawInput: unknown): Promise<ReadInput | Response> {
  const raw: unknown[] = typeof rawInput === 'string' ? [{ role: 'user', content: rawInput }] : Array.isArray(rawInput) ? rawInput : [];
  const out: ReadInput = { items: [], messages: [], containerIds: [], files: [] };
  for (const [i, entry] of raw.entries()) {
    if (!isObject(entry)) continue;
    let item = entry;
    if (entry.type === 'item_reference') {
      const found = typeof entry.id === 'string' ? state.items.get(entry.id) : undefined;
      if (!found || !state.knownResponse(found.responseId)) {
        return errorResponse(404, `Item with id '${String(entry.id)}' not found.`, { param: `input[${i}]` });
      }
      item = found.item;
    } else {
      const type = item.type ?? (typeof item.role === 'string' ? 'message' : undefined);
      const withId: Record<string, unknown> = { ...item, type, id: typeof item.id === 'string' ? item.id : newId.message() };
      if (type === 'message' && typeof withId.content === 'string') withId.content = [{ type: 'input_text', text: withId.content }];
      out.items.push(withId as Record<string, unknown> & { id: string });
    }
    if (item.type === 'code_interpreter_call') {
      if (typeof item.container_id === 'string') out.containerIds.push(item.container_id);
      continue;
    }
    if (typeof item.role !== 'string') continue;
    out.messages.push({ role: item.role, text: messageText(item.content) });
    if (entry.type === 'item_reference' || !Array.isArray(item.content)) continue;
    for (const [j, part] of item.content.entries()) {
      if (!isObject(part) || part.type !== 'input_file') continue;
      const file = await inputFile(state, part, `input[${i}].content[${j}]`);
      if (file instanceof Response) return file;
      out.files.push(file);
    }
  }
  return out;
}
