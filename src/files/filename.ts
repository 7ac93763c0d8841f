/** Longest upload filename, in UTF-8 bytes: the usual file-system limit for one name, the container's included. */
export const MAX_UPLOAD_FILENAME_BYTES = 255;

/**
 * Why `name` cannot be an upload's filename, or `undefined` when it can. Refused: control
 * characters (C0, DEL, C1: a CR/LF or NUL would cut or forge the multipart header, and no file
 * system name should carry them), a backslash (sent as it is inside the header's quoted string,
 * where multipart parsers read it as an escape), and more than 255 UTF-8 bytes. Quotes are fine:
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
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_UPLOAD_FILENAME_BYTES) return `is ${bytes} bytes long in UTF-8; use a name of at most ${MAX_UPLOAD_FILENAME_BYTES} bytes`;
  return undefined;
}
