/** Longest file name written, in UTF-8 bytes (most filesystems allow 255). */
export const MAX_FILENAME_BYTES = 200;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/**
 * Reduces an untrusted file name (from the API, so from the model) to a safe base name: the part
 * after the last `/` or `\`, without control characters or NUL, without leading dots (no `..`, no
 * hidden files), not a Windows reserved device name, at most {@link MAX_FILENAME_BYTES} bytes with
 * its extension kept. When nothing usable is left, the name comes from `fallbackId`.
 */
export function safeFilename(untrusted: string | undefined, fallbackId: string): string {
  let name = (untrusted ?? '').normalize('NFC');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  name = name.replace(/[<>:"|?*]/g, '_');
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  if (Buffer.byteLength(name) > MAX_FILENAME_BYTES) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = truncateUtf8(name.slice(0, name.length - ext.length), MAX_FILENAME_BYTES - Buffer.byteLength(ext)) + ext;
  }
  if (name === '') name = safeFilename(`file-${fallbackId}`, 'file');
  return name;
}

/** `name`, then `name (1).ext`, `name (2).ext` … for finding a name that is not taken. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}
