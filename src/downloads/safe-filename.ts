/** Longest file name written, in UTF-8 bytes (most filesystems allow 255). */
export const MAX_FILENAME_BYTES = 200;

/** Windows device names (with any extension, and with spaces before it, which Windows ignores). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)\s*(\..*)?$/i;

/**
 * Characters that are invisible or reorder text: control characters (Cc), format characters (Cf:
 * zero-width spaces and joiners, the byte-order mark, soft hyphens and the bidi controls U+202A–
 * U+202E and U+2066–U+2069, so `invoice\u202Egpj.exe` cannot pose as `invoiceexe.jpg`), line and
 * paragraph separators (Zl, Zp), private-use code points and lone surrogates.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]/gu;

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
 * after the last `/` or `\`, without control, format (Cf: zero-width, bidi overrides) or other
 * invisible characters, without leading dots (no `..`, no hidden files), not a Windows reserved
 * device name (`CON`, `NUL`, `COM1`, `CONIN$` …), at most {@link MAX_FILENAME_BYTES} bytes with
 * its extension kept. When nothing usable is left, the name comes from `fallbackId`.
 */
export function safeFilename(untrusted: string | undefined, fallbackId: string): string {
  let name = (untrusted ?? '').normalize('NFC');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(INVISIBLE, '');
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
