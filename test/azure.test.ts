// Sessions through `new AzureOpenAI(...)` from `openai`, against the simulator's Azure mode over
// real HTTP: Azure's URL shapes (`/openai/…`), a required `api-version`, the `api-key` header,
// `containers.retrieve` refused, 64-character limits, region-local containers and the persistent
// content 500 (issue #14).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureOpenAI } from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileContentUnavailableError, InvalidOptionsError } from '../src/index.js';
import { isAzureClient } from '../src/container/azure.js';
import { expirySignal } from '../src/container/expiry.js';
import { isRetrieveRefused } from '../src/container/probe.js';
import { AZURE_RETRIEVE_REFUSAL, createSimulator, type AzureSimulatorOptions, type SimulatorKit } from '../src/testing/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, unhashedPath } from './helpers/sim.js';

const API_VERSION = '2025-04-01-preview';
const KEY = 'azure-key-0123456789abcdef';
const MINUTE = 60_000;
let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
  vi.useRealTimers();
});

/**
 * The simulator in Azure mode on loopback HTTP (only this `api-version` accepted), and an
 * AzureOpenAI client (from `openai`) on its endpoint.
 */
async function azure(options: AzureSimulatorOptions = {}) {
  const sim = createSimulator({ azure: { apiVersions: [API_VERSION], ...options } });
  const server = await sim.listen();
  cleanup.push(() => server.close());
  const client = new AzureOpenAI({ endpoint: server.endpoint, apiVersion: API_VERSION, apiKey: KEY, maxRetries: 0 });
  return { sim, client, endpoint: server.endpoint };
}

const retrieves = (sim: SimulatorKit) => sim.requestsTo(/^\/containers\/[^/]+$/, 'GET');
const fileLists = (sim: SimulatorKit) => sim.requestsTo(/^\/containers\/[^/]+\/files$/, 'GET');

describe('Azure OpenAI', () => {
  it('the whole lifecycle with new AzureOpenAI(): create, upload, run, expiry, recovery, download, close', async () => {
    const { sim, client } = await azure();
    const session = makeSession(client);
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const first = await session.run('Total revenue by region, as a chart');
    expect(first.text).toContain('revenue');
    const old = session.containerId!;
    expect(old.length).toBeLessThanOrEqual(64);
    expect(sim.containers.get(old)!.name.length).toBeLessThanOrEqual(64);

    sim.expire(old);
    const second = await session.run('Now revenue by product');
    expect(second.recovered).toBe(true);
    const fresh = session.containerId!;
    expect(fresh).not.toBe(old);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: old, restoredFiles: 1 }]);
    expect([...sim.containers.get(fresh)!.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');

    const dir = await mkdtemp(join(tmpdir(), 'cis-azure-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const saved = await session.saveAll(second, dir);
    expect(saved.length).toBeGreaterThan(0);
    expect((await readFile(saved.find((p) => p.endsWith('.csv'))!, 'utf8')).split('\n')[0]).toBe('product,revenue');

    await session.close();
    expect([...sim.containers.values()].every((c) => c.status !== 'running')).toBe(true);
    expect([...sim.files.values()].every((f) => f.deleted)).toBe(true);

    // Azure's shape on every request, as the service received it: under /openai/ (the gate strips
    // the prefix, a request outside it is logged with its full path), api-version, api-key, no bearer token.
    expect(sim.requests.length).toBeGreaterThan(5);
    expect(sim.requests.filter((r) => r.path.startsWith('/openai') || r.status === 401 || r.status === 404)).toEqual([]);
    expect(sim.requests.filter((r) => !(r.query['api-version'] === API_VERSION && r.headers['api-key'] === '[redacted]' && r.headers.authorization === undefined))).toEqual([]);
    expect(retrieves(sim).every((r) => r.status === 400)).toBe(true); // refused, as users report
    expect(JSON.stringify(sim.requests)).not.toContain(KEY);
    expect(events.of('error')).toEqual([]);
  });

  it('a refused containers.retrieve falls back to listing the files, and is not asked again', async () => {
    const { sim, client } = await azure();
    // Adopting an existing container needs a look at it: retrieve is refused, the file list answers.
    const existing = await client.containers.create({ name: 'existing' });
    const adopter = makeSession(client, { container: { id: existing.id } });
    const info = await adopter.start();
    expect(info.id).toBe(existing.id);
    expect(retrieves(sim)).toHaveLength(1);
    expect(fileLists(sim)).toHaveLength(1);
    await adopter.touch();
    await adopter.touch();
    expect(retrieves(sim)).toHaveLength(1); // remembered for the client: straight to the fallback
    expect(fileLists(sim)).toHaveLength(3);
    expect(adopter.stats.touches).toBe(2);
    // An expired container is recognised through the fallback too.
    sim.expire(existing.id);
    await adopter.touch();
    expect(adopter.containerId).not.toBe(existing.id);
    expect(adopter.stats.recreations).toBe(1);
    await adopter.close();
  });

  it('keep-alive touches through the file list keep an idle container alive on a simulated clock', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { sim, client } = await azure();
    const session = makeSession(client, { keepAlive: { idleTimeoutMs: 2 * 60 * MINUTE } });
    await session.start();
    for (let t = 0; t < 90 * MINUTE; t += MINUTE) await vi.advanceTimersByTimeAsync(MINUTE);
    expect(sim.containers.get(session.containerId!)!.status).toBe('running');
    expect(session.stats.touches).toBe(5); // at 16, 32, 48, 64 and 80 minutes
    expect(fileLists(sim)).toHaveLength(5);
    expect(session.stats.cost.keepAlive.touches).toBe(5);
    vi.useRealTimers();
    await session.close();
  });

  it('"cannot tell" counts as alive: a failing fallback neither re-creates nor fails the touch', async () => {
    const { sim, client } = await azure();
    const session = makeSession(client);
    const events = recordEvents(session);
    await session.start();
    const id = session.containerId!;
    await session.touch(); // learns that retrieve is refused
    sim.fail({ path: `/containers/${id}/files`, method: 'GET', status: 403, times: 1, body: { error: { message: 'Forbidden', type: 'invalid_request_error', param: null, code: null } } });
    await session.touch();
    expect(session.containerId).toBe(id);
    expect(session.stats.recreations).toBe(0);
    expect(events.of('error').map((e) => e.operation)).toEqual([expect.stringMatching(/could not tell whether container .* is alive; assuming it is/)]);
    await session.close();
  });

  it('a refusal answered as a 500 is recognised after the retries', async () => {
    const { sim, client } = await azure({ refuseContainerRetrieve: { status: 500 } });
    const existing = await client.containers.create({ name: 'existing' });
    const session = makeSession(client, { container: { id: existing.id } });
    expect((await session.start()).id).toBe(existing.id);
    expect(retrieves(sim)).toHaveLength(4); // 1 + 3 retries (the test session's policy), then the fallback
    expect(fileLists(sim)).toHaveLength(1);
    await session.close();
  });

  it('a persistent 500 on file content is a FileContentUnavailableError that says what it is', async () => {
    const { sim, client } = await azure({ failFileContent: true });
    const session = makeSession(client);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('Total revenue by region, as a chart');
    const file = result.files[0]!;
    const error = await session.download(file).catch((e: unknown) => e);
    expect(sim.requestsTo(/\/content$/, 'GET').map((r) => r.status)).toEqual([500, 500, 500, 500]);
    expect(error).toBeInstanceOf(FileContentUnavailableError);
    expect(error).toMatchObject({ fileId: file.fileId, containerId: file.containerId, attempts: 4 });
    expect((error as Error).message).toMatch(/answered 500 for the content of file .* on all 4 attempts.*Foundry/);
    await session.close();
  });

  it('containers are region-local: another resource answers 404 Container not found, and a session given such an id makes its own there', async () => {
    const west = await azure();
    const east = await azure();
    const made = await west.client.containers.create({ name: 'made-in-west' });
    const notFound = await east.client.containers.files.list(made.id).catch((e: unknown) => e);
    expect(notFound).toMatchObject({ status: 404, error: { message: 'Container not found' } });

    const session = makeSession(east.client, { container: { id: made.id } });
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const result = await session.run('Total revenue by region');
    expect(result.text).toContain('revenue');
    expect(session.containerId).not.toBe(made.id);
    expect(east.sim.containers.get(session.containerId!)!.status).toBe('running');
    // Looked at through the file list (retrieve refused), found not to be there, replaced there.
    expect(east.sim.requestsTo(`/containers/${made.id}`).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /containers/${made.id}/files 404`, // the test's own look above
      `GET /containers/${made.id} 400`,
      `GET /containers/${made.id}/files 404`,
    ]);
    expect(east.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(events.of('error')).toEqual([]);
    expect(west.sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /containers']); // nothing went to the other region
    await session.close();
    expect([...east.sim.containers.values()].every((c) => c.status !== 'running')).toBe(true);
    expect([...east.sim.files.values()].every((f) => f.deleted)).toBe(true);
    expect(west.sim.containers.get(made.id)!.status).toBe('running'); // not ours, not touched
  });

  it('a run answered 404 "Container not found" (no id in it) looks at the container: gone is re-created with its files, alive is not', async () => {
    const { sim, client } = await azure();
    const session = makeSession(client);
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    await session.run('Total revenue by region');
    const first = session.containerId!;

    // The container is still there (the 404 came from elsewhere, e.g. another region behind a
    // proxy): the error is the caller's, nothing is re-created.
    sim.fail({ path: '/responses', method: 'POST', status: 404, body: { error: { message: 'Container not found', type: 'invalid_request_error', param: null, code: null } } });
    await expect(session.run('Now revenue by product')).rejects.toMatchObject({ status: 404, message: expect.stringContaining('Container not found') });
    expect(session.containerId).toBe(first);
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);

    // The resource no longer holds it: the same answer now means gone.
    sim.containers.delete(first);
    const second = await session.run('Now revenue by product');
    expect(second.recovered).toBe(true);
    expect(session.containerId).not.toBe(first);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: first, restoredFiles: 1 }]);
    expect([...sim.containers.get(session.containerId!)!.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');
    expect(sim.requestsTo('/responses', 'POST').map((r) => r.status)).toEqual([200, 404, 404, 200]);
    await session.close();
    expect([...sim.files.values()].every((f) => f.deleted)).toBe(true);
  });

  it('ids and names within Azure limits, checked before anything is sent', async () => {
    const { sim, client } = await azure();
    expect(() => makeSession(client, { container: { name: 'n'.repeat(65) } })).toThrow(/`container.name`: Azure OpenAI accepts container names of at most 64/);
    expect(() => makeSession(client, { container: { id: `cntr_${'a'.repeat(60)}` } })).toThrow(InvalidOptionsError);
    expect(() => makeSession(client, { container: { id: `cntr_${'a'.repeat(60)}` } })).toThrow(/at most 64 characters.*composite id/);
    expect(sim.requests).toHaveLength(0);
    // The generated name fits whatever the session id.
    const session = makeSession(client, { sessionId: 'u'.repeat(200) });
    const info = await session.start();
    expect(info.name.length).toBeLessThanOrEqual(64);
    await session.close();
  });
});

describe('Azure detection and refusal classification', () => {
  it('recognises Azure clients by shape', () => {
    const azureClient = new AzureOpenAI({ endpoint: 'https://r.openai.azure.com', apiVersion: API_VERSION, apiKey: 'k' });
    expect(isAzureClient(azureClient)).toBe(true);
    expect(isAzureClient({ baseURL: 'https://r.openai.azure.com/openai/v1/' } as never)).toBe(true);
    expect(isAzureClient({ baseURL: 'https://api.openai.com/v1' } as never)).toBe(false);
  });

  it('tells a refused operation from a dead container', () => {
    const apiError = (status: number, body: unknown) => Object.assign(new Error('x'), { status, headers: new Headers(), error: body });
    expect(isRetrieveRefused(apiError(400, { code: 'OperationNotSupported', message: AZURE_RETRIEVE_REFUSAL }), 'cntr_1')).toBe(true);
    expect(isRetrieveRefused(apiError(405, { message: 'Method not allowed' }), 'cntr_1')).toBe(true);
    expect(isRetrieveRefused(apiError(400, { message: 'Container is expired.' }), 'cntr_1')).toBe(false);
    expect(isRetrieveRefused(apiError(404, { message: 'Container not found' }), 'cntr_1')).toBe(false);
    expect(isRetrieveRefused(apiError(401, { message: 'Incorrect API key provided' }), 'cntr_1')).toBe(false);
  });

  it('reads a run\'s 404 "Container not found" (no id in it) as a reason to look at the container', () => {
    const apiError = (status: number, message: string) => Object.assign(new Error(message), { status, headers: new Headers(), error: { message } });
    expect(expirySignal(apiError(404, 'Container not found'), 'response', 'cntr_1')).toBe('ask-container');
    expect(expirySignal(apiError(404, 'No container found with id \'cntr_1\'.'), 'response', 'cntr_1')).toBe('expired');
    expect(expirySignal(apiError(404, 'Model not found'), 'response', 'cntr_1')).toBeUndefined();
    expect(expirySignal(apiError(400, 'Container not found'), 'response', 'cntr_1')).toBeUndefined();
  });
});
