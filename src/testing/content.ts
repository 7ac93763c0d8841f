import type { SimulatedContent } from './types.js';

export function bytesContent(data: Uint8Array | string): SimulatedContent {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    size: bytes.byteLength,
    bytes: () => bytes,
    open: () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
  };
}

/**
 * Content of `size` bytes made on demand, chunk by chunk, so tests can serve files far larger than
 * they would want to hold (a 1 GB download). Byte `i` is `(i * 31 + seed) & 0xff`, so a reader can
 * check what it received without keeping a copy.
 */
export function generatedContent(size: number, seed = 7, chunkSize = 64 * 1024): SimulatedContent {
  // The pattern repeats every 256 bytes, so with a chunk size that is a multiple of 256 every
  // chunk is a copy of the first: serving stays cheap (benchmarks measure the client, not this).
  const period = Math.ceil(chunkSize / 256) * 256;
  const pattern = new Uint8Array(period);
  for (let i = 0; i < period; i++) pattern[i] = (i * 31 + seed) & 0xff;
  const chunkAt = (offset: number) => pattern.slice(0, Math.min(period, size - offset));
  return {
    size,
    bytes: () => {
      if (size > period) throw new Error(`generated content of ${size} bytes is too large to materialise; use open()`);
      return chunkAt(0);
    },
    open: () => {
      let offset = 0;
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (offset >= size) return controller.close();
            const chunk = chunkAt(offset);
            offset += chunk.length;
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
