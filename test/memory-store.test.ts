import { describe, expect, it } from 'vitest';
import { MemorySessionStore, SessionClosedError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { withMsw, unhashedPath } from './helpers/sim.js';
import { manualClock, storeContract } from './helpers/store-contract.js';

describe('MemorySessionStore', () => {
  // On a clock the test moves: the TTLs lapse when the contract says so, however slow the machine.
  const clock = manualClock();
  storeContract(() => new MemorySessionStore({ tombstoneTtlMs: 100, now: clock.now }), { tombstoneTtlMs: 100, clock });

  it('answers copies: changing what load() or update() returned, at any depth, changes nothing in the store', async () => {
    const store = new MemorySessionStore();
    const file = { fileId: 'file-1', filename: 'a.csv', bytes: 3, origin: 'upload' as const, owned: true };
    await store.update('s', { type: 'putFile', file });
    const { state } = await store.update('s', { type: 'recordTurn', entries: [{ role: 'user', text: 'hi' }], limit: 10, reset: false, previousResponseId: 'resp_1', chainContainerId: 'cntr_1' });
    const loaded = (await store.load('s'))!;
    for (const copy of [state, loaded]) {
      copy.files[0]!.filename = 'changed.csv';
      copy.files.push({ ...file, fileId: 'file-2' });
      copy.conversation.transcript[0]!.text = 'changed';
      copy.conversation.transcript.push({ role: 'assistant', text: 'extra' });
      copy.conversation.previousResponseId = 'resp_changed';
      copy.containerId = 'cntr_changed';
    }
    file.filename = 'changed-at-the-source.csv';
    expect(await store.load('s')).toEqual({
      files: [{ fileId: 'file-1', filename: 'a.csv', bytes: 3, origin: 'upload', owned: true }],
      conversation: { transcript: [{ role: 'user', text: 'hi' }], previousResponseId: 'resp_1', chainContainerId: 'cntr_1' },
    });
  });

  it('sessions sharing one store and sessionId start together: one container, every upload kept; close() by one closes all', async () => {
    const h = withMsw();
    try {
      const store = new MemorySessionStore();
      const sessions = Array.from({ length: 5 }, () => makeSession(h.client, { sessionId: 'shared', store, keepAlive: false }));
      await Promise.all(sessions.map((s, i) => s.upload(new TextEncoder().encode(`a\n${i}\n`), { filename: `f${i}.csv` })));
      const ids = await Promise.all(sessions.map(async (s) => (await s.start()).id));
      expect(new Set(ids).size).toBe(1);
      expect(h.sim.requestsTo('/containers', 'POST')).toHaveLength(1);
      const inContainer = [...h.sim.containers.get(ids[0]!)!.files.values()].map(unhashedPath).sort();
      expect(inContainer).toEqual(['/mnt/data/f0.csv', '/mnt/data/f1.csv', '/mnt/data/f2.csv', '/mnt/data/f3.csv', '/mnt/data/f4.csv']);
      await sessions[4]!.close();
      await expect(sessions[0]!.run('still there?')).rejects.toBeInstanceOf(SessionClosedError);
      expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
      expect([...h.sim.files.values()].filter((f) => !f.deleted)).toHaveLength(0);
    } finally {
      h.close();
    }
  });
});
