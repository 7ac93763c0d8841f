// stream() promises (docs/results.md): a break after output reached the caller is a
// StreamInterruptedError (never retried: that would repeat text); a break before anything reached
// the caller is retried like run() — the connection dropped, or the answer broke off after its
// headers. Measured on the simulator's own log, over both transports.
import { afterEach, describe, expect, it } from 'vitest';
import { RetriesExhaustedError, StreamInterruptedError, type RunEvent } from '../src/index.js';
import { toRunEvent } from '../src/runs/events.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, transports, type Harness } from './helpers/sim.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const csv = new TextEncoder().encode(SALES_CSV);
const PROMPT = 'Total revenue by region';

async function drain(events: AsyncIterable<RunEvent>) {
  const seen: RunEvent[] = [];
  const error = await (async () => {
    for await (const event of events) seen.push(event);
  })().catch((e: unknown) => e);
  return { seen, error };
}

describe.each(transports)('stream() cut before any event reached the caller (%s)', (_name, make) => {
  /** The index of the first event a caller sees, from an uncut stream of the same prompt (the simulator's log). */
  async function firstVisibleIndex(): Promise<number> {
    const probe = await make();
    try {
      const session = makeSession(probe.client);
      await session.upload(csv, { filename: 'sales.csv' });
      await drain(session.stream(PROMPT));
      const [post] = probe.sim.requestsTo('/responses', 'POST');
      const index = post!.events!.findIndex((e) => toRunEvent(e.data as Parameters<typeof toRunEvent>[0], 'cntr_x') !== undefined);
      await session.close();
      return index;
    } finally {
      await probe.close();
    }
  }

  it('is retried for every cut before the first visible event, and is StreamInterruptedError after it', async () => {
    const first = await firstVisibleIndex();
    expect(first).toBeGreaterThan(1); // response.created, response.in_progress … come first
    for (let cut = 1; cut <= first + 1; cut++) {
      harness = await make({ streamDelayMs: 1 });
      const session = makeSession(harness.client);
      const events = recordEvents(session);
      await session.upload(csv, { filename: 'sales.csv' });
      harness.sim.fail({ path: '/responses', status: 'reset', cutStreamAfterEvents: cut });
      const { seen, error } = await drain(session.stream(PROMPT));
      const posts = harness.sim.requestsTo('/responses', 'POST');
      if (cut <= first) {
        expect({ cut, error }).toEqual({ cut, error: undefined });
        expect(seen.at(-1)!.type).toBe('result');
        expect(posts).toHaveLength(2);
        expect(events.of('request.retry').map((e) => e.operation)).toEqual(['responses.create (stream)']);
      } else {
        expect(error).toBeInstanceOf(StreamInterruptedError);
        expect(seen.length).toBeGreaterThan(0);
        expect(posts).toHaveLength(1);
      }
      await session.close();
      await harness.close();
      harness = undefined;
    }
  });

  it('an answer cut mid-body before its first event is retried too', async () => {
    harness = await make();
    const session = makeSession(harness.client);
    await session.upload(csv, { filename: 'sales.csv' });
    harness.sim.fail({ path: '/responses', status: 'reset', cutBodyAfterBytes: 30 });
    const { seen, error } = await drain(session.stream(PROMPT));
    expect(error).toBeUndefined();
    expect(seen.at(-1)!.type).toBe('result');
    expect(harness.sim.requestsTo('/responses', 'POST')).toHaveLength(2);
    await session.close();
  });

  it('every attempt cut before its first event: RetriesExhaustedError saying the answer broke off, nothing yielded', async () => {
    harness = await make();
    const session = makeSession(harness.client);
    await session.upload(csv, { filename: 'sales.csv' });
    harness.sim.fail({ path: '/responses', status: 'reset', cutStreamAfterEvents: 1, times: 10 });
    const { seen, error } = await drain(session.stream(PROMPT));
    expect(seen).toEqual([]);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).not.toMatch(/unexpected|could not be reached/i);
    expect((error as Error).message).toMatch(/answer/);
    expect(harness.sim.requestsTo('/responses', 'POST')).toHaveLength(4); // retries: 3
    harness.sim.clearFaults();
    await session.close();
  });
});
