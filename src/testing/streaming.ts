/** Serves a built response as the server-sent event stream the API sends for `stream: true`. */
import { setTimeout as sleep } from 'node:timers/promises';
import { dropConnectionAfterBody } from './http-server.js';
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
        // The connection drops here: the loopback server destroys it (dropConnectionAfterBody);
        // through msw, which has no connection (an erroring body fails its whole fetch), the stream just ends.
        record.cancelled = true;
        return controller.close();
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
  const answer = new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
  return cutAfterEvents === undefined ? answer : dropConnectionAfterBody(answer);
}
