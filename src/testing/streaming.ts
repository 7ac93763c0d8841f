/** Serves a built response as the server-sent event stream the API sends for `stream: true`. */
import { setTimeout as sleep } from 'node:timers/promises';
import { streamEvents, type BuiltResponse } from './response-builder.js';
import type { SimRequestRecord } from './types.js';

export function streamResponse(
  response: BuiltResponse,
  record: SimRequestRecord,
  options: { cutAfterEvents: number | undefined; delayMs: number },
): Response {
  const events = streamEvents(response);
  const encoder = new TextEncoder();
  const { cutAfterEvents, delayMs } = options;
  record.events = [];
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (cutAfterEvents !== undefined && index >= cutAfterEvents) {
        record.cancelled = true;
        return controller.error(new Error('simulated connection reset mid-stream'));
      }
      const event = events[index++];
      if (!event) return controller.close();
      if (delayMs > 0 && index > 1) await sleep(delayMs);
      record.events!.push({ event: event.type, data: event });
      controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
    },
    cancel() {
      record.cancelled = true;
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
}
