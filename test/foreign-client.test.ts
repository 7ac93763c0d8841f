// Users' installs: the client comes from another copy of `openai` than the one the library imports
// (the CJS build while the library runs as ESM, the ESM build with the library required as CJS, or
// a second installed version, `openai-previous` = openai 7.10). Uploads must still be multipart
// `file` parts, and expiry and retry classification must still work. Drives the built package.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, builtEntry, BUILT_DIR } from './helpers/built-package.js';
import { SALES_CSV, unhashedPath } from './helpers/sim.js';

const require = createRequire(import.meta.url);
type Lib = typeof import('../src/index.js');
type Testing = typeof import('../src/testing/index.js');
type AnyClient = import('openai').default;
type ClientClass = new (options: { apiKey: string; baseURL: string; maxRetries: number }) => AnyClient;

interface Flavour {
  lib: () => Promise<Lib>;
  testing: () => Promise<Testing>;
  OpenAI: () => Promise<ClientClass>;
}

const esmLib = { lib: () => import(builtEntry('index.js')) as Promise<Lib>, testing: () => import(builtEntry('testing.js')) as Promise<Testing> };
const cjsLib = { lib: async () => require(`${BUILT_DIR}/index.cjs`) as Lib, testing: async () => require(`${BUILT_DIR}/testing.cjs`) as Testing };

const flavours: Array<[string, Flavour]> = [
  ['a client from the CJS build of openai, the library as ESM', { ...esmLib, OpenAI: async () => require('openai') as ClientClass }],
  ['a client from the ESM build of openai, the library as CJS', { ...cjsLib, OpenAI: async () => (await import('openai')).default as unknown as ClientClass }],
  ['a client from another installed openai version (7.10), the library as ESM', { ...esmLib, OpenAI: async () => (await import('openai-previous')).default as unknown as ClientClass }],
  ['a client from another installed openai version (7.10, CJS), the library as CJS', { ...cjsLib, OpenAI: async () => require('openai-previous') as ClientClass }],
];

beforeAll(() => buildPackage(), 180_000);

async function setUp(flavour: Flavour) {
  const [lib, testing, OpenAI] = await Promise.all([flavour.lib(), flavour.testing(), flavour.OpenAI()]);
  const sim = testing.createSimulator();
  const server = await sim.listen();
  const client = new OpenAI({ apiKey: 'sk-foreign-0123456789', baseURL: server.url, maxRetries: 0 });
  const session = new lib.CodeInterpreterSession({
    client: client as never,
    model: 'gpt-5',
    rateLimiter: lib.createRateLimiter({ limit: 10_000, intervalMs: 1000 }),
    retry: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 },
  });
  return { lib, sim, server, client, session };
}

describe.each(flavours)('with %s', (_name, flavour) => {
  it('is really another copy of openai than the library imports', async () => {
    const { client, server, session } = await setUp(flavour);
    const libraryOpenAI = flavour.lib === esmLib.lib ? (await import('openai')).default : (require('openai') as ClientClass);
    expect(client).not.toBeInstanceOf(libraryOpenAI);
    await session.close();
    await server.close();
  });

  it('uploads paths, bytes, blobs and streams as multipart `file` parts that the API accepts', async () => {
    const { sim, server, session } = await setUp(flavour);
    const dir = await mkdtemp(join(tmpdir(), 'cis-foreign-'));
    await writeFile(join(dir, 'sales.csv'), SALES_CSV);
    const bytes = new TextEncoder().encode('notes');
    await session.upload(join(dir, 'sales.csv'));
    await session.upload(bytes, { filename: 'notes.txt' });
    await session.upload(new Blob(['a,b\n1,2\n']), { filename: 'blob.csv' });
    await session.upload(Readable.from([Buffer.from('streamed')]), { filename: 'node-stream.txt' });
    await session.upload(new Blob(['web']).stream(), { filename: 'web-stream.txt' });
    const uploads = sim.requestsTo('/files', 'POST');
    expect(uploads.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(uploads.map((r) => (r.body as { file?: { name: string } }).file?.name)).toEqual(['sales.csv', 'notes.txt', 'blob.csv', 'node-stream.txt', 'web-stream.txt']);
    expect(uploads.map((r) => Object.keys(r.body as object).filter((k) => k.startsWith('file[')))).toEqual([[], [], [], [], []]);
    const listed = await session.listFiles();
    expect(listed.map((f) => f.filename).sort()).toEqual(['blob.csv', 'node-stream.txt', 'notes.txt', 'sales.csv', 'web-stream.txt']);
    expect(listed.find((f) => f.filename === 'sales.csv')!.bytes).toBe(SALES_CSV.length);
    await session.close();
    expect([...sim.files.values()].filter((f) => !f.deleted)).toEqual([]);
    await server.close();
  });

  it('retries a 429 (classified by shape) and recovers an expired container (recovered: true, no raw 400)', async () => {
    const { sim, server, session } = await setUp(flavour);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const first = await session.run('revenue by region');
    sim.fail({ path: '/responses', method: 'POST', status: 429, times: 1, retryAfterSeconds: 0 });
    const second = await session.run('units by product');
    expect(second.recovered).toBe(false);
    expect(session.stats.retries).toBe(1);

    const old = session.containerId!;
    sim.expire(old);
    const third = await session.run('revenue by product');
    expect(third.recovered).toBe(true);
    expect(third.containerId).not.toBe(old);
    expect(first.text).not.toBe('');
    expect([...sim.containers.get(third.containerId)!.files.values()].map(unhashedPath)).toContain('/mnt/data/sales.csv');
    await session.close();
    expect([...sim.containers.values()].filter((c) => c.status === 'running')).toEqual([]);
    await server.close();
  });

  it('turns a 404 from another copy into FileNotFoundError, and close() tolerates files already deleted', async () => {
    const { lib, server, session, client } = await setUp(flavour);
    await expect(session.attachFile('file-doesnotexist')).rejects.toBeInstanceOf(lib.FileNotFoundError);
    const file = await session.upload(new TextEncoder().encode('x'), { filename: 'x.txt' });
    await client.files.delete(file.fileId); // someone else removed it: close() must not report a 404 as a problem
    await expect(session.close()).resolves.toBeUndefined();
    await server.close();
  });
});
