/**
 * Passes a Responses event stream through unchanged, and hands the `response` of its
 * `response.completed` event to `onCompleted`. Only that event is parsed; the bytes the caller
 * reads are the bytes the server sent.
 */
export function tapCompletedResponse(body: ReadableStream<Uint8Array>, onCompleted: (response: unknown) => void): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let pending = '';
  const scan = (final: boolean) => {
    const blocks = pending.split(/\r?\n\r?\n/);
    pending = final ? '' : (blocks.pop() ?? '');
    for (const block of blocks) {
      if (!block.includes('response.completed')) continue;
      const data = block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      try {
        const event = JSON.parse(data) as { type?: unknown; response?: unknown };
        if (event.type === 'response.completed') onCompleted(event.response);
      } catch {
        // Not JSON: not an event this tap reads.
      }
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        pending += decoder.decode(chunk, { stream: true });
        scan(false);
      },
      flush() {
        pending += decoder.decode();
        scan(true);
      },
    }),
  );
}
