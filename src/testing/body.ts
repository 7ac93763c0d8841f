/**
 * Reads a request body as the API does: JSON or multipart, a malformed one answered with 400 (not
 * a 500 the client would retry), one over the size cap answered with 413 as soon as that is known —
 * from `Content-Length`, or while counting the stream — without collecting the rest.
 */
import { errorResponse } from './api-error.js';

/** The simulator's default request body cap: the Files API's 512 MB per-file limit. */
export const DEFAULT_MAX_BODY_BYTES = 512 * 1024 * 1024;

export type ReadBody = { json?: unknown; form?: FormData } | Response;

class BodyTooLarge extends Error {}

const tooLarge = (limit: number) =>
  errorResponse(413, `Request body too large: the limit is ${limit} bytes (the simulator's maxBodyBytes option).`, {
    code: 'request_too_large',
  });

/** The body stream, erroring once more than `limit` bytes have come through. */
function capped(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new BodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}

export async function readBody(request: Request, limit: number): Promise<ReadBody> {
  if (!request.body) return {};
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    void request.body.cancel().catch(() => {});
    return tooLarge(limit);
  }
  const type = request.headers.get('content-type') ?? '';
  const limited = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: capped(request.body, limit),
    duplex: 'half',
  } as RequestInit);
  try {
    if (type.startsWith('multipart/form-data')) {
      try {
        return { form: await limited.formData() };
      } catch (error) {
        if (error instanceof BodyTooLarge || (error as { cause?: unknown })?.cause instanceof BodyTooLarge) throw error;
        return errorResponse(400, 'We could not parse the multipart form data of your request. Check the boundary and the parts.', {
          code: 'invalid_multipart',
        });
      }
    }
    const text = await limited.text();
    if (!text) return {};
    try {
      return { json: JSON.parse(text) };
    } catch {
      return errorResponse(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)");
    }
  } catch (error) {
    if (error instanceof BodyTooLarge || (error as { cause?: unknown })?.cause instanceof BodyTooLarge) return tooLarge(limit);
    throw error;
  }
}
