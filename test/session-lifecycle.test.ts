import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterSession, InvalidOptionsError, SessionClosedError } from '../src/index.js';
import { createGate } from './helpers/gate.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

describe('options', () => {
  it.each([
    [{}, /`model`: required: name the model for runs/],
    [{ model: '' }, /`model`: required/],
    [{ model: 'm', container: { memoryLimit: '2g' } }, /`container\.memoryLimit`: Invalid option: expected one of "1g"\|"4g"\|"16g"\|"64g"/],
    [{ model: 'm', container: { expiresAfterMinutes: 0 } }, /`container\.expiresAfterMinutes`: expected whole minutes from 1 to 20/],
    [{ model: 'm', container: { expiresAfterMinutes: 21 } }, /`container\.expiresAfterMinutes`: expected whole minutes from 1 to 20: the API refuses more/],
    [{ model: 'm', container: { expiresAfterMinutes: 60 } }, /`container\.expiresAfterMinutes`: expected whole minutes from 1 to 20/],
    [{ model: 'm', container: { expiresAfterMinutes: 2.5 } }, /`container\.expiresAfterMinutes`: expected whole minutes from 1 to 20/],
    [{ model: 'm', container: { networkPolicy: { type: 'allowlist', allowedDomains: [] } } }, /`container\.networkPolicy\.allowedDomains`/],
    [{ model: 'm', keepAlive: { intervalMs: -1 } }, /`keepAlive\.intervalMs`/],
    [{ model: 'm', retry: { retries: 1.5 } }, /`retry\.retries`/],
    [{ model: 'm', retry: { minTimeoutMs: 10, maxTimeoutMs: 5 } }, /`retry\.minTimeoutMs`: must not be larger than retry\.maxTimeoutMs/],
    [{ model: 'm', rateLimiter: {} }, /`rateLimiter`: expected a RateLimiter/],
    [{ model: 'm', store: { load() {} } }, /`store`: expected a SessionStore/],
    [{ model: 'm', modle: 'x' }, /unknown option 'modle'/],
    [{ model: 'm', client: {} }, /`client`: expected an OpenAI client/],
  ])('rejects %j naming the option, before sending anything', (options, message) => {
    h = withMsw();
    const build = () => new CodeInterpreterSession({ client: h.client, ...options } as never);
    expect(build).toThrow(InvalidOptionsError);
    expect(build).toThrow(message);
    expect(h.sim.requests).toHaveLength(0);
  });

  it('says how to fix a missing API key when no client is given', () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      expect(() => new CodeInterpreterSession({ model: 'm' })).toThrow(/`client`: .*pass \{ client: new OpenAI\(\{ apiKey \}\) \} or set OPENAI_API_KEY/);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });

  it('lists every problem at once', () => {
    h = withMsw();
    const error = (() => {
      try {
        new CodeInterpreterSession({ client: h.client, model: 1, container: { memoryLimit: 'x' } } as never);
      } catch (e) {
        return e as InvalidOptionsError;
      }
    })()!;
    expect(error.issues.map((i) => i.path)).toEqual(['model', 'container.memoryLimit']);
  });
});

describe('the container', () => {
  it('is created lazily, once for 50 concurrent first calls', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    expect(h.sim.requests).toHaveLength(0);
    expect(session.containerId).toBeUndefined();
    await Promise.all(Array.from({ length: 50 }, () => session.listFiles()));
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(h.sim.containers.size).toBe(1);
    expect(session.containerId).toBe([...h.sim.containers.keys()][0]);
    expect(events.names().filter((n) => n === 'container.created')).toHaveLength(1);
    expect(session.stats.containersCreated).toBe(1);
    await session.close();
  });

  it('start() creates it now and reports it', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const info = await session.start();
    expect(info).toMatchObject({ id: session.containerId, status: 'running', expiresAfterMinutes: 20, memoryLimit: '1g' });
    expect(await session.start()).toMatchObject({ id: info.id });
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    await session.close();
  });

  it('sends only what the user set, and always a name', async () => {
    h = withMsw();
    const bare = makeSession(h.client, { sessionId: 'abc' });
    await bare.start();
    expect(h.sim.requestsTo('/containers', 'POST')[0]!.body).toEqual({ name: 'code-interpreter-session-abc' });
    const full = makeSession(h.client, {
      container: { name: 'mine', memoryLimit: '4g', expiresAfterMinutes: 5, networkPolicy: { type: 'allowlist', allowedDomains: ['pypi.org'] } },
    });
    await full.start();
    expect(h.sim.requestsTo('/containers', 'POST')[1]!.body).toEqual({
      name: 'mine',
      memory_limit: '4g',
      expires_after: { anchor: 'last_active_at', minutes: 5 },
      network_policy: { type: 'allowlist', allowed_domains: ['pypi.org'] },
    });
    const disabled = makeSession(h.client, { container: { networkPolicy: { type: 'disabled' } } });
    await disabled.start();
    expect(h.sim.requestsTo('/containers', 'POST')[2]!.body).toMatchObject({ network_policy: { type: 'disabled' } });
    await Promise.all([bare.close(), full.close(), disabled.close()]);
  });

  it('claims a container whose create answer was lost instead of making a second one', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/containers', method: 'POST', status: 'reset', lostResponse: true });
    const info = await session.start();
    expect(h.sim.containers.size).toBe(1);
    expect(info.id).toBe([...h.sim.containers.keys()][0]);
    expect(h.sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /containers 0', 'GET /containers 200']);
    expect(h.sim.requests[1]!.query).toMatchObject({ name: `code-interpreter-session-${session.id}` });
    await session.close();
    expect([...h.sim.containers.values()].map((c) => c.status)).toEqual(['deleted']);
  });

  it('adopts an existing container by id after checking it is alive', async () => {
    h = withMsw();
    const existing = await h.client.containers.create({ name: 'theirs' });
    const session = makeSession(h.client, { container: { id: existing.id } });
    await session.listFiles();
    expect(session.containerId).toBe(existing.id);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1); // only the test's own
    expect(h.sim.requestsTo(`/containers/${existing.id}`, 'GET')[0]!.path).toBe(`/containers/${existing.id}`);
    await session.close({ deleteContainer: false });
    expect(h.sim.containers.get(existing.id)!.status).toBe('running');
  });

  it('creates a new container when the one to adopt has expired or is unknown', async () => {
    h = withMsw();
    const existing = await h.client.containers.create({ name: 'old' });
    h.sim.expire(existing.id);
    const session = makeSession(h.client, { container: { id: existing.id } });
    const events = recordEvents(session);
    await session.start();
    expect(session.containerId).not.toBe(existing.id);
    expect(events.names()).toEqual(['container.created']);
    const unknown = makeSession(h.client, { container: { id: 'cntr_gone' } });
    await unknown.start();
    expect(unknown.containerId).toMatch(/^cntr_/);
    await Promise.all([session.close(), unknown.close()]);
  });
});

describe('close()', () => {
  it('deletes the container and the files the session made, keeps attached ones, and is idempotent', async () => {
    h = withMsw();
    const theirs = await h.client.files.create({ file: new File(['x'], 'theirs.txt'), purpose: 'user_data' });
    const session = makeSession(h.client);
    const mine = await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    await session.attachFile(theirs.id);
    await session.run('revenue by region');
    const containerId = session.containerId!;
    const first = session.close();
    expect(session.close()).toBe(first);
    await first;
    const sent = h.sim.requests.length;
    await session.close();
    await session[Symbol.asyncDispose]();
    expect(h.sim.requests).toHaveLength(sent);
    expect(h.sim.containers.get(containerId)!.status).toBe('deleted');
    expect(h.sim.files.get(mine.fileId)!.deleted).toBe(true);
    expect(h.sim.files.get(theirs.id)!.deleted).toBe(false);
  });

  it('makes every method reject with SessionClosedError', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.close();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['start', () => session.start()],
      ['upload', () => session.upload(new Uint8Array(1))],
      ['attachFile', () => session.attachFile('file-x')],
      ['listFiles', () => session.listFiles()],
      ['run', () => session.run('x')],
      ['stream', () => session.stream('x').next()],
      ['download', () => session.download('cfile_x')],
      ['downloadStream', () => session.downloadStream('cfile_x')],
      ['saveFile', () => session.saveFile('cfile_x', '/tmp')],
      ['touch', () => session.touch()],
    ];
    for (const [name, call] of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(SessionClosedError);
      expect((error as Error).message).toContain(`${name}() was called on a closed CodeInterpreterSession`);
    }
    expect(h.sim.requests).toHaveLength(0);
  });

  it('with deleteContainer: false leaves the container and the files it needs', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const file = await session.upload(new TextEncoder().encode('a'), { filename: 'a.txt' });
    await session.start();
    await session.close({ deleteContainer: false, deleteFiles: false });
    expect(h.sim.containers.get(session.containerId!)!.status).toBe('running');
    expect(h.sim.files.get(file.fileId)!.deleted).toBe(false);
  });

  it('waits for a container creation in flight and deletes it: no orphan', async () => {
    h = withMsw();
    // The creation is held at the gate after the server made the container and before its answer
    // reaches the session, so close() comes while it is in flight whatever the load (after a fixed
    // sleep, a slow run could see start() finish first).
    const gate = createGate();
    const session = makeSession(gate.client());
    const held = gate.hold({ method: 'POST', path: '/containers', phase: 'response' });
    const starting = session.start().catch((error: unknown) => error); // it settles while close() runs
    await held.reached;
    const closing = session.close();
    held.release();
    await closing;
    expect(await starting).toBeInstanceOf(SessionClosedError); // stopped by close(), which waited for it
    const containers = [...h.sim.containers.values()];
    expect(containers).toHaveLength(1);
    expect(containers[0]!.status).toBe('deleted');
  });

  it('works with `await using`', async () => {
    h = withMsw();
    let id: string | undefined;
    {
      await using session = makeSession(h.client);
      await session.start();
      id = session.containerId;
    }
    expect(h.sim.containers.get(id!)!.status).toBe('deleted');
  });
});

describe('close() during a call', () => {
  it('a run in flight that finds its container gone does not make a new one', async () => {
    h = withMsw();
    // The run is held at the gate before the server sees it, so close() comes while it is on its
    // way whatever the load (after a fixed sleep, a slow run could get its answer first).
    const gate = createGate();
    const session = makeSession(gate.client());
    await session.start();
    const held = gate.hold({ method: 'POST', path: '/responses', phase: 'request' });
    const running = session.run('hello').catch((e: unknown) => e);
    await held.reached;
    const closing = session.close(); // deletes the container under it
    held.release();
    await closing;
    expect(await running).toBeInstanceOf(SessionClosedError);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect([...h.sim.containers.values()].every((c) => c.status === 'deleted')).toBe(true);
  });
});
