/** Longest upload filename, in UTF-8 bytes: the usual file-system limit for one name, the container's included. */
export const MAX_UPLOAD_FILENAME_BYTES = 255;

/**
 * Why `name` cannot be an upload's filename, or `undefined` when it can. Refused: control
 * characters (C0, DEL, C1: a CR/LF or NUL would cut or forge the multipart header, and no file
 * system name should carry them), a backslash (sent as it is inside the header's quoted string,
 * where multipart parsers read it as an escape), a `/` (the container keeps the file as
 * `/mnt/data/<hash>-<name>`: a name is one segment), `.` and `..`, a lone UTF-16 surrogate (sent
 * as U+FFFD: not the name given), and more than 255 UTF-8 bytes. Quotes are fine:
 * `fetch`'s FormData sends them as `%22`, which the receiving parser decodes.
 */
export function uploadFilenameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'expected a non-empty file name';
  const control = /[\u0000-\u001f\u007f-\u009f]/u.exec(name);
  if (control) {
    const code = `U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `contains a control character (${code}) at index ${control.index}; use a name without control characters`;
  }
  if (name.includes('\\')) return 'contains a backslash, which multipart parsers read as an escape; use a name without one';
  // The container keeps a file as /mnt/data/<hash>-<name>: a name is one path segment.
  if (name.includes('/')) return `contains a '/'; a file name is one path segment: pass its base name (${JSON.stringify(name.slice(name.lastIndexOf('/') + 1) || 'data.csv')})`;
  if (name === '.' || name === '..') return `'${name}' names a folder, not a file; pass a file name such as 'data.csv'`;
  // A lone UTF-16 surrogate has no UTF-8 form: it would be sent as U+FFFD, not kept as given.
  const surrogate = /[\uD800-\uDFFF]/u.exec(name);
  if (surrogate) return `contains a lone UTF-16 surrogate (U+${surrogate[0].charCodeAt(0).toString(16).toUpperCase()}) at index ${surrogate.index}, which cannot be sent as given (it would become U+FFFD); fix the string's encoding`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_UPLOAD_FILENAME_BYTES) return `is ${bytes} bytes long in UTF-8; use a name of at most ${MAX_UPLOAD_FILENAME_BYTES} bytes`;
  return undefined;
}
