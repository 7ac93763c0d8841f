/**
 * What the transport needs to know of a request's body without reading it: its size when that is
 * known up front, and whether it can be sent again (to follow a redirect).
 */

/** A body as `fetch` takes it. */
export type RequestBody = RequestInit['body'];

/** The byte size of a body the caller handed to fetch, or undefined when it cannot be known without reading it (a stream). */
export function knownBodySize(body: RequestBody): number | undefined {
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof URLSearchParams) return Buffer.byteLength(body.toString());
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof FormData) {
    let size = 0;
    // + each part's headers: its name, a file's name and type, and the fixed text around them
    for (const [name, value] of body) size += 2 * Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : value.size + 2 * Buffer.byteLength(value.name) + value.type.length) + 256;
    return size;
  }
  return undefined;
}

/** Whether a body can be sent again as it is (everything but a stream, which is read once). */
export function isReplayable(body: RequestBody): boolean {
  return knownBodySize(body) !== undefined;
}
