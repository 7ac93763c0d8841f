// Answers that break off after their headers (a proxy or the network cutting the body, undici's
// `TypeError: terminated`), or arrive truncated: the request reached the server and may have taken
// effect. A create goes through the lost-answer look-up (claimed, never made twice), anything else
// is retried like a connection failure, errors are the documented typed ones, and close() leaves
// nothing and reports no false alarm. The simulator's `cutBodyAfterBytes` fault does the cutting:
// over HTTP the client sees a dropped connection mid-body, through msw a body that ends short.
// Truth is the simulator's own log and state.
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, RequestFailedError, RetriesExhaustedError } from '../src/index.js';
import { CONTROL_PREFIX, Simulator, withControlRoutes, type SimulatorKit } from '../src/testing/index.js';
import { serveOnLoopback } from '../src/testing/http-server.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { transports, type Harness } from './helpers/sim.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const running = (sim: SimulatorKit) => [...sim.containers.values()].filter((c) => c.status === 'running').map((c) => c.id);
const liveFiles = (sim: SimulatorKit) => [...sim.files.values()].filter((f) => !f.deleted).map((f) => f.id);
const bytes = (text: string) => new TextEncoder().encode(text);
/** Cut every matching answer after 20 bytes of its body (status and headers sent). */
const CUT = { status: 'reset', cutBodyAfterBytes: 20 } as const;

describe.each(transports)('an answer cut after its headers (%s)', (_name, make) => {
  async function setup(overrides: Parameters<typeof makeSession>[1] = {}) {
    harness = await make();
    return { sim: harness.sim, session: makeSession(harness.client, overrides) };
  }

  it('to POST /containers: the container made is found and used, not made again; close() deletes it', async () => {
    const { sim, session } = await setup();
    sim.fail({ path: '/containers', method: 'POST', ...CUT });
    const id = (await session.start()).id;
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(running(sim)).toEqual([id]);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('to POST /files: the uploaded file is found and tracked, not uploaded again; close() deletes it', async () => {
    const { sim, session } = await setup();
    sim.fail({ path: '/files', method: 'POST', ...CUT });
    const file = await session.upload(bytes('region,revenue\nN,1\n'), { filename: 'sales.csv' });
    expect(sim.requestsTo('/files', 'POST')).toHaveLength(1);
    expect(liveFiles(sim)).toEqual([file.fileId]);
    await session.run('Total revenue by region');
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
    expect(running(sim)).toEqual([]);
  });

  it('to an attach: the copy made is found, the file is in the container once', async () => {
    const { sim, session } = await setup();
    const id = (await session.start()).id;
    sim.fail({ path: `/containers/${id}/files`, method: 'POST', ...CUT });
    await session.upload(bytes('x'), { filename: 'x.txt' });
    expect(sim.requestsTo(`/containers/${id}/files`, 'POST')).toHaveLength(1);
    expect(sim.containers.get(id)!.files.size).toBe(1);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
    expect(running(sim)).toEqual([]);
  });

  it('to the re-creation after an expiry: the replacement is found and the run goes on', async () => {
    const { sim, session } = await setup();
    await session.upload(bytes('region,revenue\nN,1\n'), { filename: 'sales.csv' });
    await session.run('Total revenue by region');
    sim.expire(session.containerId!);
    sim.fail({ path: '/containers', method: 'POST', ...CUT });
    const result = await session.run('again');
    expect(result.recovered).toBe(true);
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(2); // the first container and its one replacement
    expect(running(sim)).toEqual([session.containerId]);
    await session.close();
    expect(running(sim)).toEqual([]);
    expect(liveFiles(sim)).toEqual([]);
  });

  it('to idempotent GETs (listFiles, touch): retried like a dropped connection', async () => {
    const { sim, session } = await setup();
    const events = recordEvents(session);
    const id = (await session.start()).id;
    sim.fail({ path: `/containers/${id}/files`, method: 'GET', ...CUT });
    expect(await session.listFiles()).toEqual([]);
    sim.fail({ path: `/containers/${id}`, method: 'GET', ...CUT });
    await session.touch();
    expect(sim.requestsTo(`/containers/${id}/files`, 'GET')).toHaveLength(2);
    expect(events.of('request.retry').map((e) => e.operation)).toEqual(['containers.files.list', 'containers.retrieve (touch)']);
    await session.close();
  });

  it('to DELETEs in close(): retried, the 404 that follows counts as deleted, close() resolves', async () => {
    const { sim, session } = await setup();
    await session.upload(bytes('a'), { filename: 'a.txt' });
    const id = (await session.start()).id;
    sim.fail({ path: `/containers/${id}`, method: 'DELETE', ...CUT });
    sim.fail({ path: /^\/files\/[^/]+$/, method: 'DELETE', ...CUT });
    await expect(session.close()).resolves.toBeUndefined();
    expect(sim.requestsTo(`/containers/${id}`, 'DELETE').map((r) => r.status)).toEqual([200, 404]);
    expect(running(sim)).toEqual([]);
    expect(liveFiles(sim)).toEqual([]);
  });

  it('to DELETEs in close() with retries off: the sweep sends them again and reports nothing', async () => {
    const { sim, session } = await setup({ retry: false });
    await session.upload(bytes('a'), { filename: 'a.txt' });
    const id = (await session.start()).id;
    sim.fail({ path: `/containers/${id}`, method: 'DELETE', ...CUT });
    sim.fail({ path: /^\/files\/[^/]+$/, method: 'DELETE', ...CUT });
    await expect(session.close()).resolves.toBeUndefined();
    expect(running(sim)).toEqual([]);
    expect(liveFiles(sim)).toEqual([]);
  });

  it('with retries off: a typed error that says the answer broke off; what the create made is deleted by close()', async () => {
    const { sim, session } = await setup({ retry: false });
    sim.fail({ path: '/files', method: 'POST', ...CUT });
    sim.fail({ path: '/files', method: 'GET', ...CUT }); // the look-up breaks too: the upload stays unconfirmed
    const error = await session.upload(bytes('a,b\n1,2\n'), { filename: 'data.csv' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as Error).message).not.toMatch(/unexpected/i);
    expect((error as Error).message).toMatch(/answer|JSON/);
    expect(liveFiles(sim)).toHaveLength(1); // made by the cut request
    await session.close(); // looks again, finds it by name, size and content, deletes it
    expect(liveFiles(sim)).toEqual([]);
  });

  it('every answer cut: RetriesExhaustedError naming the broken answer, not an unexpected error', async () => {
    const { sim, session } = await setup();
    const id = (await session.start()).id;
    sim.fail({ path: `/containers/${id}/files`, method: 'GET', times: 10, ...CUT });
    const error = await session.listFiles().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toBeInstanceOf(CodeInterpreterError);
    expect((error as Error).message).not.toMatch(/unexpected|could not be reached/i);
    expect(sim.requestsTo(`/containers/${id}/files`, 'GET')).toHaveLength(4); // retries: 3
    sim.clearFaults();
    await session.close();
    expect(running(sim)).toEqual([]);
  });
});

describe('the simulator fault cutBodyAfterBytes', () => {
  it('over HTTP: the status, the headers and that many bytes arrive, then the body read fails with `TypeError: terminated`', async () => {
    const h = await transports[1]![1]();
    harness = h;
    const server = (h as unknown as { server: { url: string } }).server;
    h.sim.fail({ path: '/files', method: 'GET', status: 'reset', cutBodyAfterBytes: 7 });
    const response = await fetch(`${server.url}/files`, { headers: { authorization: 'Bearer sk-test' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const reader = response.body!.getReader();
    const received: number[] = [];
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        received.push(...value);
      }
    })().catch((e: unknown) => e);
    expect(new TextDecoder().decode(Uint8Array.from(received))).toBe('{"objec');
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).message).toBe('terminated');
    const [logged] = h.sim.requestsTo('/files', 'GET');
    expect(logged).toMatchObject({ status: 200, rejectedBy: 'fault', responseBody: { object: 'list' } });
  });

  it('over HTTP, a stream cut after its first events: they arrive before the connection drops (no streamDelayMs needed)', async () => {
    const h = await transports[1]![1]();
    harness = h;
    const container = await h.client.containers.create({ name: 'x' });
    h.sim.fail({ path: '/responses', status: 'reset', cutStreamAfterEvents: 2 });
    const events: string[] = [];
    const stream = await h.client.responses.create({ model: 'gpt-5', input: 'hi', stream: true, tools: [{ type: 'code_interpreter', container: container.id }] });
    const failure = await (async () => {
      for await (const event of stream) events.push(event.type);
    })().catch((e: unknown) => e);
    expect(events).toEqual(['response.created', 'response.in_progress']);
    expect((failure as Error).message).toBe('terminated');
  });

  it('is refused by the control route unless it is a whole number of bytes, and cuts when given through it', async () => {
    const sim = new Simulator();
    const server = await serveOnLoopback(withControlRoutes(sim), {});
    harness = { sim: sim as SimulatorKit, client: undefined as never, close: () => server.close() };
    const post = (body: unknown) => fetch(`${server.endpoint}${CONTROL_PREFIX}/faults`, { method: 'POST', body: JSON.stringify(body) });
    const refused = await post({ status: 'reset', path: '/files', cutBodyAfterBytes: -1 });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/"cutBodyAfterBytes" must be a whole number of bytes from 0/);
    expect((await post({ status: 'reset', path: '/files', cutBodyAfterBytes: 3 })).status).toBe(204);
    const response = await fetch(`${server.url}/files`, { headers: { authorization: 'Bearer sk-test' } });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow('terminated');
  });
});
