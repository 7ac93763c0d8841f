import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileSaveError, SaveAllError, SessionClosedError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

// A folder whose file system never answers (a hung network mount): every mkdir of a path with
// this marker stays pending for ever, as Node's recursive mkdir does under /proc.
const HUNG = 'cis-never-answers';
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    mkdir: (path: Parameters<typeof actual.mkdir>[0], options?: Parameters<typeof actual.mkdir>[1]) =>
      String(path).includes(HUNG) ? new Promise(() => {}) : actual.mkdir(path, options),
  };
});

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

async function sessionWithFiles() {
  h = withMsw();
  const session = makeSession(h.client);
  await session.upload(new TextEncoder().encode('region,revenue\nWest,1140\n'), { filename: 'sales.csv' });
  const result = await session.run('revenue by region');
  expect(result.files.length).toBeGreaterThan(0);
  return { session, result };
}

describe('saving into a folder the file system never answers for', () => {
  it("saveFile and saveAll reject with the caller's abort reason, and close() still resolves", async () => {
    const { session, result } = await sessionWithFiles();
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const saving = session.saveFile(result.files[0]!, `/tmp/${HUNG}/a`, { signal: controller.signal }).catch((e: unknown) => e);
    const savingAll = session.saveAll(result, `/tmp/${HUNG}/b`, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(session.callsInFlight).toBe(2));
    controller.abort(reason);
    expect(await saving).toBe(reason);
    expect(await savingAll).toBe(reason);
    await session.close();
  });

  it('close() stops a save held by the file system: the save rejects with SessionClosedError', async () => {
    const { session, result } = await sessionWithFiles();
    const saving = session.saveFile(result.files[0]!, `/tmp/${HUNG}/c`).catch((e: unknown) => e);
    await vi.waitFor(() => expect(session.callsInFlight).toBe(1));
    await session.close();
    expect(await saving).toBeInstanceOf(SessionClosedError);
  });
});

describe('saving under /proc (where Node’s recursive mkdir loops for ever)', () => {
  it('fails at once with FileSaveError saying no folder can be made there, before any download', async () => {
    const { session, result } = await sessionWithFiles();
    const before = h.sim.requests.length;
    const error = await session.saveFile(result.files[0]!, '/proc/cis-save-test/out').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileSaveError);
    expect((error as FileSaveError).code).toBe('ENOENT');
    expect((error as Error).message).toMatch(/cannot create the folder '\/proc\/cis-save-test\/out'.*such as \/proc\): pass another `dir`/);
    const all = await session.saveAll(result, '/proc/cis-save-test').catch((e: unknown) => e);
    expect(all).toBeInstanceOf(FileSaveError);
    expect(all).not.toBeInstanceOf(SaveAllError);
    expect(h.sim.requests.length).toBe(before);
    await session.close();
  });
});
