import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamInterruptedError, type RunEvent, type RunResult } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, withHttp, withMsw } from './helpers/sim.js';

let h: { close: () => unknown } | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const csv = new TextEncoder().encode(SALES_CSV);

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** A result without the parts that differ between two runs (ids and the raw object). */
function comparable(result: RunResult) {
  return {
    text: result.text.replace(/cntr_\w+|cfile_\w+/g, 'ID'),
    status: result.status,
    model: result.model,
    // The `<hash>` of a user file's `/mnt/data/<hash>-<name>` path differs per file, like an id.
    codeCalls: result.codeCalls.map(({ code, logs, images, status }) => ({ code: code?.replace(/\/mnt\/data\/[0-9a-f]{32}-/g, '/mnt/data/<hash>-'), logs, images, status })),
    citations: result.citations.map(({ filename, startIndex, endIndex }) => ({ filename, startIndex, endIndex })),
    files: result.files.map((f) => f.filename),
    recovered: result.recovered,
  };
}

describe('session.stream()', () => {
  it('yields typed events and ends with the same result run() gives', async () => {
    const harness = withMsw();
    h = harness;
    const streamed = makeSession(harness.client);
    const ran = makeSession(harness.client);
    await streamed.upload(csv, { filename: 'sales.csv' });
    await ran.upload(csv, { filename: 'sales.csv' });
    const events = await collect(streamed.stream('revenue by region'));
    const viaRun = await ran.run('revenue by region');
    const last = events.at(-1)!;
    expect(last.type).toBe('result');
    const result = (last as { result: RunResult }).result;
    expect(comparable(result)).toEqual(comparable(viaRun));
    expect(result.raw.id).toBe(result.responseId);

    const of = <T extends RunEvent['type']>(type: T) => events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
    expect(of('text.delta').map((e) => e.delta).join('')).toBe(result.text);
    expect(of('code.delta').map((e) => e.delta).join('')).toBe(result.codeCalls[0]!.code);
    expect(of('code.done').map((e) => e.code)).toEqual([result.codeCalls[0]!.code]);
    expect(of('call.completed').map((e) => e.call)).toEqual(result.codeCalls);
    expect(of('citation').map((e) => e.citation)).toEqual(result.citations);
    expect(of('result')).toHaveLength(1);

    // The conversation continues from a streamed turn just as from a run.
    await streamed.run('units by region');
    expect(harness.sim.requestsTo('/responses').at(-1)!.body).toMatchObject({ previous_response_id: result.responseId });
    await Promise.all([streamed.close(), ran.close()]);
  });

  it('breaking out of the loop cancels the HTTP stream', async () => {
    const harness = await withHttp({ streamDelayMs: 20 });
    h = harness;
    const session = makeSession(harness.client);
    await session.upload(csv, { filename: 'sales.csv' });
    let seen = 0;
    for await (const event of session.stream('revenue by region')) {
      if (event.type === 'code.delta' && ++seen === 2) break;
    }
    // The server learns of the cancel when the socket closes: waited for as an event (the record
    // flips), not for a fixed time a loaded machine can overrun. The event count is the bound: the
    // simulator writes one event per 20 ms timer and both ends share this process's event loop, so
    // a late loop delays the cancel and the events alike.
    const record = harness.sim.requestsTo('/responses').at(-1)!;
    await vi.waitFor(() => expect(record.cancelled).toBe(true), { timeout: 10_000, interval: 10 });
    expect(record.events!.length).toBeLessThan(15);
    await session.close();
  });

  it('aborting the signal mid-stream stops it with the abort reason', async () => {
    const harness = await withHttp({ streamDelayMs: 20 });
    h = harness;
    const session = makeSession(harness.client);
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of session.stream('hello', { signal: controller.signal })) {
        seen.push(event.type);
        controller.abort(new Error('user left'));
      }
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(String(error)).toMatch(/abort|user left/i);
    const record = harness.sim.requestsTo('/responses').at(-1)!;
    await vi.waitFor(() => expect(record.cancelled).toBe(true), { timeout: 10_000, interval: 10 });
    expect(record.events!.length).toBeLessThan(15);
    await session.close();
  });

  it.each([
    ['msw', () => withMsw({ streamDelayMs: 20 })],
    ['http', () => withHttp({ streamDelayMs: 20 })],
  ] as const)('an abort during a stream rejects with the abort reason itself, as run() does (%s)', async (_name, make) => {
    const harness = await make();
    h = harness;
    const session = makeSession(harness.client);
    // After output was yielded: the caller's reason, not StreamInterruptedError.
    const controller = new AbortController();
    const reason = new Error('user left');
    const error = await (async () => {
      for await (const event of session.stream('hello', { signal: controller.signal })) {
        if (event.type !== 'result') controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(harness.sim.requestsTo('/responses')).toHaveLength(1);
    await session.close();
  });

  it('timeoutMs during a stream rejects with the TimeoutError, as run() does', async () => {
    const harness = await withHttp({ streamDelayMs: 20 });
    h = harness;
    const session = makeSession(harness.client);
    await session.start();
    const timedOut = await (async () => {
      for await (const _event of session.stream('hello', { timeoutMs: 30 })) {
        // consume
      }
    })().catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(DOMException);
    expect((timedOut as Error).name).toBe('TimeoutError');
    const ranSlow = await withHttp({ latencyMs: 200 });
    try {
      const other = makeSession(ranSlow.client);
      const runTimedOut = await other.run('hello', { timeoutMs: 30 }).catch((e: unknown) => e);
      expect((runTimedOut as Error).name).toBe('TimeoutError');
      await other.close();
    } finally {
      await ranSlow.close();
    }
    await session.close();
  });

  it('recovers from an expiry seen before the first event, like run()', async () => {
    const harness = withMsw();
    h = harness;
    const session = makeSession(harness.client);
    await session.upload(csv, { filename: 'sales.csv' });
    await session.run('revenue by region');
    harness.sim.expire(session.containerId!);
    const events = await collect(session.stream('units by region'));
    const result = (events.at(-1) as { result: RunResult }).result;
    expect(result.recovered).toBe(true);
    expect(result.text).toContain('Total units by region');
    expect(events.filter((e) => e.type === 'text.delta').map((e) => (e as { delta: string }).delta).join('')).toBe(result.text);
    expect(session.stats.recreations).toBe(1);
    await session.close();
  });

  it('reports a stream that breaks after output as an error to retry, never duplicating text', async () => {
    const harness = withMsw();
    h = harness;
    const session = makeSession(harness.client);
    harness.sim.fail({ path: '/responses', status: 'reset', cutStreamAfterEvents: 8 });
    const seen: RunEvent[] = [];
    const error = await (async () => {
      for await (const event of session.stream('hello there, a long enough greeting to need several deltas')) seen.push(event);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as Error).message).toMatch(/broke after output was yielded .*run the input again/);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((e) => e.type === 'result')).toBe(false);
    expect(harness.sim.requestsTo('/responses')).toHaveLength(1); // not silently retried
    await session.close();
  });
});
