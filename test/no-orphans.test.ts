// Every container and Files API file a session makes is deleted by close() or reported, under
// aborts, shared creations, lost answers and close() during calls. Truth is the simulator's state
// after close() and its request log, never the library's counters.
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerExpiredError, MemorySessionStore, SessionCleanupError, SessionClosedError } from '../src/index.js';
import type { SimulatorKit } from '../src/testing/index.js';
import { createGate } from './helpers/gate.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { withMsw, unhashedPath } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const running = (sim: SimulatorKit) => [...sim.containers.values()].filter((c) => c.status === 'running').map((c) => c.id);
const liveFiles = (sim: SimulatorKit) => [...sim.files.values()].filter((f) => !f.deleted).map((f) => f.id);
const bytes = (text: string) => new TextEncoder().encode(text);

function setup(overrides: Parameters<typeof makeSession>[1] = {}) {
  h = withMsw();
  const gate = createGate();
  const session = makeSession(gate.client(), overrides);
  return { sim: h.sim, gate, session };
}

describe('an abort while a container is being created', () => {
  it('does not orphan the container: it is finished in the background and close() deletes it', async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const controller = new AbortController();
    const run = session.run('hello', { signal: controller.signal });
    await hold.reached; // the container exists on the server; its answer is on the way
    controller.abort(new Error('caller gave up'));
    await expect(run).rejects.toThrow('caller gave up');
    hold.release();
    await session.close();
    expect(sim.containers.size).toBe(1);
    expect(running(sim)).toEqual([]);
  });

  it('does not orphan the container when timeoutMs fires during the create', async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const run = session.run('hello', { timeoutMs: 30 });
    await hold.reached;
    await expect(run).rejects.toThrow();
    hold.release();
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('does not orphan the replacement when the abort comes during a re-create', async () => {
    const { sim, gate, session } = setup();
    await session.start();
    sim.expire(session.containerId!);
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const controller = new AbortController();
    const run = session.run('hello', { signal: controller.signal });
    await hold.reached;
    controller.abort(new Error('caller gave up'));
    await expect(run).rejects.toThrow('caller gave up');
    hold.release();
    await session.close();
    expect(sim.containers.size).toBe(2);
    expect(running(sim)).toEqual([]);
  });

  it('keeps the finished container for the next call instead of making another', async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const controller = new AbortController();
    const first = session.listFiles({ signal: controller.signal });
    await hold.reached;
    controller.abort(new Error('gave up'));
    await expect(first).rejects.toThrow('gave up');
    hold.release();
    await session.listFiles();
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    await session.close();
    expect(running(sim)).toEqual([]);
  });
});

describe('the shared creation', () => {
  it("one caller's abort never fails another caller that joined it", async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'request' });
    const controller = new AbortController();
    const first = session.listFiles({ signal: controller.signal });
    await hold.reached;
    const second = session.listFiles();
    controller.abort(new Error('caller 1 gave up'));
    await expect(first).rejects.toThrow('caller 1 gave up');
    hold.release();
    await expect(second).resolves.toEqual([]);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('a caller that joins after every earlier caller aborted still gets a container, and only one exists', async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const controller = new AbortController();
    const first = session.listFiles({ signal: controller.signal });
    await hold.reached;
    controller.abort(new Error('caller 1 gave up'));
    await expect(first).rejects.toThrow('caller 1 gave up');
    const second = session.listFiles(); // no signal
    hold.release();
    await expect(second).resolves.toEqual([]);
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    await session.close();
    expect(running(sim)).toEqual([]);
  });
});

describe('a create whose answer was lost', () => {
  it('is claimed even when the claim look-up fails at first (it is retried like any request)', async () => {
    const { sim, session } = setup();
    sim.fail({ path: '/containers', method: 'POST', status: 500, lostResponse: true });
    sim.fail({ path: '/containers', method: 'GET', status: 429 });
    sim.fail({ path: '/containers', method: 'GET', status: 'reset' });
    const info = await session.start();
    expect(sim.containers.size).toBe(1);
    expect(info.id).toBe([...sim.containers.keys()][0]);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('that cannot be claimed now is looked for again by close(), and deleted', async () => {
    const { sim, session } = setup({ retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2 } });
    sim.fail({ path: '/containers', method: 'POST', status: 500, lostResponse: true });
    sim.fail({ path: '/containers', method: 'GET', status: 500, times: 2 });
    await session.start();
    await session.close();
    expect(sim.containers.size).toBe(2);
    expect(running(sim)).toEqual([]);
  });

  it('close() reports a container it knows it left, with its id, and never says OK', async () => {
    const { sim, session } = setup({ retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2 } });
    await session.start();
    const id = session.containerId!;
    sim.fail({ path: `/containers/${id}`, method: 'DELETE', status: 500, times: 10 });
    const error = await session.close().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCleanupError);
    expect(error).toMatchObject({ containerIds: [id], fileIds: [] });
    expect((error as Error).message).toContain(id);
    expect(running(sim)).toEqual([id]);
    // Idempotent: the same outcome again, nothing more sent.
    const sent = sim.requests.length;
    await expect(session.close()).rejects.toBe(error);
    expect(sim.requests.length).toBe(sent);
  });

  it('close() reports a create it could never confirm when the name is not the session\'s own', async () => {
    const { sim, session } = setup({ retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2 }, container: { name: 'my-box' } });
    sim.fail({ path: '/containers', method: 'POST', status: 500, lostResponse: true });
    await session.start();
    expect(sim.containers.size).toBe(2);
    const error = (await session.close().catch((e: unknown) => e)) as SessionCleanupError;
    expect(error).toBeInstanceOf(SessionCleanupError);
    expect(error.unconfirmedContainers).toEqual([expect.objectContaining({ name: 'my-box' })]);
    expect(error.message).toMatch(/my-box/);
    expect(running(sim)).toHaveLength(1); // the lost one: reported, as promised, not silently kept
  });
});

describe('lost upload and attach answers', () => {
  it('a lost upload answer leaves one Files API file, and close() deletes it', async () => {
    const { sim, session } = setup();
    sim.fail({ path: '/files', method: 'POST', status: 500, lostResponse: true });
    const file = await session.upload(bytes('a,b\n1,2\n'), { filename: 'data.csv' });
    expect(liveFiles(sim)).toEqual([file.fileId]);
    expect(sim.requestsTo('/files', 'POST')).toHaveLength(1);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
  });

  it('a lost attach answer puts the file in the container once', async () => {
    const { sim, session } = setup();
    await session.start();
    const id = session.containerId!;
    sim.fail({ path: `/containers/${id}/files`, method: 'POST', status: 'reset', lostResponse: true });
    await session.upload(bytes('x'), { filename: 'x.txt' });
    expect([...sim.containers.get(id)!.files.values()].map(unhashedPath)).toEqual(['/mnt/data/x.txt']);
    expect(await session.listFiles()).toHaveLength(1);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
  });

  it('an upload aborted while its request is in flight leaves no Files API file after close()', async () => {
    const { sim, gate, session } = setup();
    const hold = gate.hold({ method: 'POST', path: '/files', phase: 'response' });
    const controller = new AbortController();
    const upload = session.upload(bytes('x'), { filename: 'x.txt', signal: controller.signal });
    await hold.reached;
    controller.abort(new Error('stop'));
    await expect(upload).rejects.toThrow('stop');
    hold.release();
    await session.close();
    expect(sim.files.size).toBe(1);
    expect(liveFiles(sim)).toEqual([]);
  });
});

describe('close() while calls are in flight', () => {
  it('an upload in flight rejects with SessionClosedError, writes no state and leaves no file', async () => {
    const store = new MemorySessionStore();
    const { sim, gate, session } = setup({ store });
    await session.start();
    const hold = gate.hold({ method: 'POST', path: '/files', phase: 'response' });
    const upload = session.upload(bytes('x'), { filename: 'x.txt' });
    const outcome = upload.catch((error: unknown) => error); // it settles while close() runs
    await hold.reached;
    const closing = session.close();
    await new Promise((resolve) => setTimeout(resolve, 20)); // close() is under way; the upload's answer comes now
    hold.release();
    await closing;
    const sentAtClose = sim.requests.length;
    expect(await outcome).toBeInstanceOf(SessionClosedError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sim.requests.length).toBe(sentAtClose);
    expect(await store.load(session.id)).toEqual({ closed: true, files: [], conversation: { transcript: [] } }); // the tombstone, nothing written over it
    expect(liveFiles(sim)).toEqual([]);
    expect(running(sim)).toEqual([]);
  });

  it('a run in flight rejects with SessionClosedError and writes no state after close() resolved', async () => {
    const store = new MemorySessionStore();
    const { sim, gate, session } = setup({ store });
    await session.run('first');
    const hold = gate.hold({ method: 'POST', path: '/responses', phase: 'response' });
    const run = session.run('second');
    await hold.reached;
    const closing = session.close();
    await closing;
    const sentAtClose = sim.requests.length;
    hold.release();
    await expect(run).rejects.toBeInstanceOf(SessionClosedError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.load(session.id)).toEqual({ closed: true, files: [], conversation: { transcript: [] } }); // the tombstone, nothing written over it
    expect(sim.requests.length).toBe(sentAtClose);
    expect(running(sim)).toEqual([]);
  });

  it('a stream in flight rejects with SessionClosedError', async () => {
    const { sim, session } = setup();
    const events = session.stream('hello');
    const iterator = events[Symbol.asyncIterator]();
    await iterator.next();
    await session.close();
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
    ).rejects.toBeInstanceOf(SessionClosedError);
    expect(running(sim)).toEqual([]);
  });
});

describe('repeated expiry', () => {
  it('a replacement that also expires before the retried call is recovered again', async () => {
    const { sim, gate, session } = setup();
    await session.upload(bytes('x'), { filename: 'x.txt' });
    await session.run('first');
    sim.expire(session.containerId!);
    let expireNext = 1;
    gate.after({ method: 'POST', path: '/containers' }, async (response) => {
      const { id } = (await response.json()) as { id: string };
      if (expireNext-- > 0) sim.expire(id);
    });
    const result = await session.run('second');
    expect(result.recovered).toBe(true);
    expect(session.stats.recreations).toBe(2);
    expect(sim.containers.get(result.containerId)!.status).toBe('running');
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('is bounded: after 3 re-creations in one call, ContainerExpiredError with the cause', async () => {
    const { sim, gate, session } = setup();
    await session.run('first');
    sim.expire(session.containerId!);
    gate.after({ method: 'POST', path: '/containers' }, async (response) => {
      sim.expire(((await response.json()) as { id: string }).id);
    });
    const events = recordEvents(session);
    const error = await session.run('second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerExpiredError);
    expect((error as Error).cause).toBeDefined();
    expect(String((error as Error).message)).toMatch(/3/);
    expect(events.of('container.recreated')).toHaveLength(3);
    expect(session.stats.recreations).toBe(3);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('is bounded for container calls too (listFiles)', async () => {
    const { sim, gate, session } = setup();
    await session.start();
    sim.expire(session.containerId!);
    gate.after({ method: 'POST', path: '/containers' }, async (response) => {
      sim.expire(((await response.json()) as { id: string }).id);
    });
    await expect(session.listFiles()).rejects.toBeInstanceOf(ContainerExpiredError);
    expect(session.stats.recreations).toBe(3);
    await session.close();
    expect(running(sim)).toEqual([]);
  });
});

describe('a keep-alive touch that re-created the container', () => {
  it('makes the next run say recovered: true', async () => {
    const { sim, session } = setup({ keepAlive: { intervalMs: 30 } });
    const events = recordEvents(session);
    const first = await session.run('first');
    expect(first.recovered).toBe(false);
    sim.expire(session.containerId!);
    await expect.poll(() => events.of('container.recreated').length, { timeout: 2000 }).toBe(1);
    const second = await session.run('second');
    expect(second.recovered).toBe(true);
    const third = await session.run('third');
    expect(third.recovered).toBe(false);
    await session.close();
    expect(running(sim)).toEqual([]);
  });
});
