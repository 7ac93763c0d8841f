import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, type StateChange, type StateUpdate } from '../src/index.js';
import { createGate } from './helpers/gate.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, unhashedPath, withMsw, type Harness } from './helpers/sim.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/**
 * A store where another process's upload lands between this process's manifest read and its
 * compare-and-set of the new container: the new container then needs that file attached.
 */
class RacingStore extends MemorySessionStore {
  constructor(private readonly lateFile: () => Promise<string>) {
    super();
  }
  private raced = false;
  override async update(sessionId: string, change: StateChange): Promise<StateUpdate> {
    if (change.type === 'replaceContainer' && !this.raced) {
      this.raced = true;
      const fileId = await this.lateFile();
      await super.update(sessionId, { type: 'putFile', file: { fileId, filename: 'late.csv', bytes: 8, origin: 'attached', owned: false } });
    }
    return super.update(sessionId, change);
  }
}

describe('a container that expires while it is being set up', () => {
  it('is replaced like any expired container: start() resolves on a live one holding every file', async () => {
    h = withMsw();
    const sim = h.sim;
    const gate = createGate();
    const other = new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0 });
    let lateFileId = '';
    const store = new RacingStore(async () => (lateFileId = (await other.files.create({ file: new File(['a,b\n1,2\n'], 'late.csv'), purpose: 'user_data' })).id));
    const session = makeSession(gate.client(), { store, sessionId: 'racing' });
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    // The container expires the moment it is made (before the late file could be attached).
    let first: string | undefined;
    gate.after({ method: 'POST', path: '/containers' }, async (answer) => {
      const made = (await answer.json()) as { id: string };
      if (!first) {
        first = made.id;
        sim.expire(made.id);
      }
    });
    const info = await session.start();
    expect(info.id).not.toBe(first);
    expect(sim.containers.get(info.id)!.status).toBe('running');
    expect([...sim.containers.get(info.id)!.files.values()].map((f) => unhashedPath(f)).sort()).toEqual(['/mnt/data/late.csv', '/mnt/data/sales.csv']);
    expect(events.of('container.recreated')).toMatchObject([{ previousContainerId: first }]);
    await session.close();
    expect([...sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
    // The session's own upload is deleted; the file another process attached is not the session's to delete.
    expect([...sim.files.values()].filter((f) => !f.deleted).map((f) => f.id)).toEqual([lateFileId]);
  });
});
