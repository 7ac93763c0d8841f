import { afterEach, describe, expect, it } from 'vitest';
import { ContainerExpiredError } from '../src/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, withMsw, unhashedPath } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const csv = new TextEncoder().encode(SALES_CSV);
const responseRequests = () => h.sim.requestsTo('/responses', 'POST');
const paths = (containerId: string) => [...h.sim.containers.get(containerId)!.files.values()].map(unhashedPath).sort();

describe('recovery from expiry', () => {
  it('mid-conversation: one re-creation, every tracked file back, the conversation goes on with no 400', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const events = recordEvents(session);
    await session.upload(csv, { filename: 'sales.csv' });
    await session.upload(new TextEncoder().encode('notes'), { filename: 'notes.txt' });
    const first = await session.run('revenue by region');
    const second = await session.run('units by product');
    expect(responseRequests()[1]!.body).toMatchObject({ previous_response_id: first.responseId });
    const old = session.containerId!;
    h.sim.expire(old);

    const third = await session.run('revenue by product');
    expect(third.recovered).toBe(true);
    expect(third.text).toContain('Total revenue by product');
    const fresh = session.containerId!;
    expect(fresh).not.toBe(old);
    expect(third.containerId).toBe(fresh);
    expect(paths(fresh)).toEqual(['/mnt/data/notes.txt', '/mnt/data/revenue_by_product.csv', '/mnt/data/revenue_by_product.svg', '/mnt/data/sales.csv']);
    expect(session.stats.recreations).toBe(1);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(2);
    expect(events.of('container.expired')).toEqual([{ containerId: old, reason: '400 Container is expired.' }]);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: old, container: { id: fresh }, restoredFiles: 2 }]);

    // The retried request starts a new chain that carries the transcript and says what happened.
    const retried = responseRequests().at(-1)!.body as { previous_response_id?: string; input: Array<{ role: string; content: string }> };
    expect(retried.previous_response_id).toBeUndefined();
    expect(retried.input[0]!.role).toBe('developer');
    expect(retried.input[0]!.content).toMatch(/container was replaced.*restored under \/mnt\/data: sales\.csv, notes\.txt.*Python state .* was reset/);
    expect(retried.input.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'revenue by region'],
      ['assistant', first.text],
      ['user', 'units by product'],
      ['assistant', second.text],
      ['user', 'revenue by product'],
    ]);
    expect(JSON.stringify(retried.input)).not.toContain('code_interpreter_call');
    expect(responseRequests().filter((r) => r.status === 400)).toHaveLength(1);

    // After that, runs continue the new chain.
    const fourth = await session.run('units by region');
    expect(fourth.recovered).toBe(false);
    expect(responseRequests().at(-1)!.body).toMatchObject({ previous_response_id: third.responseId, input: 'units by region' });
    await session.close();
  });

  it('50 concurrent runs that hit one expiry cause one re-creation', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    await session.run('revenue by region');
    h.sim.expire(session.containerId!);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => session.run(`units by region #${i}`, { newConversation: true })));
    expect(results.every((r) => r.containerId === session.containerId)).toBe(true);
    expect(results.filter((r) => r.recovered).length).toBeGreaterThan(0);
    expect(session.stats.recreations).toBe(1);
    expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(2);
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(1);
    await session.close();
  });

  it('treats a 404 for the container on a container call as expiry', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    await session.start();
    const old = session.containerId!;
    await h.client.containers.delete(old); // gone: 404 from now on
    const files = await session.listFiles();
    expect(files.map((f) => f.filename)).toEqual(['sales.csv']);
    expect(session.containerId).not.toBe(old);
    expect(session.stats.recreations).toBe(1);
    await session.close();
  });

  it('re-creates when attaching a file finds the container expired, without attaching the file twice', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    h.sim.expire(session.containerId!);
    await session.upload(new TextEncoder().encode('late'), { filename: 'late.txt' });
    // The attach got a 404 that says the container expired; the new container got the file via file_ids.
    expect(h.sim.requests.map((r) => `${r.method} ${r.path.replace(/cntr_\w+/, '{c}')} ${r.status}`)).toEqual([
      'POST /containers 200',
      'POST /files 200',
      'POST /containers/{c}/files 404',
      'POST /containers 200',
    ]);
    expect(paths(session.containerId!)).toEqual(['/mnt/data/late.txt']);
    await session.close();
  });

  it('asks the container when a file call gets a bare 404, and reports a missing file as such', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    h.sim.fail({ path: /^\/containers\/.+\/files$/, method: 'POST', status: 404, body: { error: { message: 'Not found.', type: 'invalid_request_error', param: null, code: null } } });
    await expect(session.upload(new TextEncoder().encode('x'), { filename: 'x.txt' })).rejects.toMatchObject({ status: 404 });
    expect(h.sim.requests.map((r) => `${r.method} ${r.path.replace(/cntr_\w+/, '{c}')} ${r.status}`).slice(-3)).toEqual([
      'POST /files 200',
      'POST /containers/{c}/files 404',
      'GET /containers/{c} 200',
    ]);
    expect(session.stats.recreations).toBe(0);
    await session.close();
  });

  it('replays the transcript when only the response chain is dead (Expected container_id)', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const first = await session.run('hello');
    h.sim.fail({
      path: '/responses',
      status: 400,
      body: { error: { message: 'Expected container_id: cntr_0ld to reference an active container.', type: 'invalid_request_error', param: 'input', code: null } },
    });
    const second = await session.run('again');
    expect(second.recovered).toBe(false);
    expect(session.stats.recreations).toBe(0);
    const [, refused, retried] = responseRequests();
    expect(refused!.body).toMatchObject({ previous_response_id: first.responseId });
    expect(retried!.body).not.toHaveProperty('previous_response_id');
    expect((retried!.body as { input: unknown[] }).input).toHaveLength(4); // note, hello, answer, again
    await session.close();
  });

  it('newConversation starts fresh', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.run('one');
    await session.run('two', { newConversation: true });
    expect(responseRequests()[1]!.body).toMatchObject({ input: 'two' });
    expect(responseRequests()[1]!.body).not.toHaveProperty('previous_response_id');
    await session.close();
  });

  it('when re-creation fails: ContainerExpiredError with the cause, and the next call recovers', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(csv, { filename: 'sales.csv' });
    await session.run('revenue by region');
    const old = session.containerId!;
    h.sim.expire(old);
    h.sim.fail({ path: '/containers', method: 'POST', status: 403 });
    const error = await session.run('units by region').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerExpiredError);
    expect((error as ContainerExpiredError).containerId).toBe(old);
    expect((error as Error).message).toMatch(/expired and a replacement could not be made: 403 .*The session stays usable/);
    expect((error as Error).cause).toMatchObject({ status: 403 });
    const next = await session.run('units by region');
    expect(next.text).toContain('Total units by region');
    expect(paths(session.containerId!)).toContain('/mnt/data/sales.csv');
    await session.close();
  });
});
