import { BodyInterruptedError, isUserAbort } from '../retry/error-shape.js';

/**
 * The chunks of a download's body. A body that breaks off (the connection reset or closed before
 * its end) throws `BodyInterruptedError`, which the request runner retries like a failed request,
 * from the start; an abort throws as it is. Stopping early (maxBytes, a failed write) cancels the
 * body, so no connection is left open.
 */
export async function* bodyChunks(
  body: ReadableStream<Uint8Array>,
  fileId: string,
  expectedBytes: number | undefined,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = body.getReader();
  let received = 0;
  let ended = false;
  try {
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (error) {
        ended = true; // an errored body has nothing left to cancel
        if (signal?.aborted || isUserAbort(error)) throw error;
        throw new BodyInterruptedError(fileId, received, expectedBytes, error);
      }
      if (step.done) {
        ended = true;
        return;
      }
      received += step.value.byteLength;
      yield step.value;
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
  }
}

/**
 * A web stream of `chunks` for a reader outside the library (`downloadStream()`): an error reaches
 * the reader as `mapError(error)` (a typed library error, not undici's `terminated`), and
 * cancelling the stream stops the chunks, which cancels the body and frees the connection.
 * `onEnd` is called once when the stream is read to the end, broken or cancelled.
 */
export function readableOf(chunks: AsyncGenerator<Uint8Array, void, undefined>, mapError: (error: unknown) => unknown, onEnd: () => void = () => {}): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const step = await chunks.next();
          if (step.done) {
            controller.close();
            onEnd();
          } else controller.enqueue(step.value);
        } catch (error) {
          controller.error(mapError(error));
          onEnd();
        }
      },
      async cancel() {
        try {
          await chunks.return(undefined);
        } finally {
          onEnd();
        }
      },
    },
    { highWaterMark: 0 },
  );
}
