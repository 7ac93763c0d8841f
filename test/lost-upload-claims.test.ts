import { afterEach, describe, expect, it } from 'vitest';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => h?.close());

describe('a lost upload answer is reconciled by content, never by name alone', () => {
  it("does not adopt another session's file of the same name and size made in the same seconds", async () => {
    h = withMsw();
    const other = makeSession(h.client);
    const mine = makeSession(h.client);
    // Another session of the organization uploads notes.txt (same name, same size, other content).
    const theirs = await other.upload(new TextEncoder().encode('session 1 run 2'), { filename: 'notes.txt' });
    // Our upload of notes.txt fails with a 500 that did not make a file: the look-up finds theirs.
    h.sim.fail({ path: '/files', method: 'POST', status: 500 });
    const ours = await mine.upload(new TextEncoder().encode('session 2 run 2'), { filename: 'notes.txt' });
    expect(ours.fileId).not.toBe(theirs.fileId);
    expect(new TextDecoder().decode(h.sim.files.get(ours.fileId)!.content.bytes())).toBe('session 2 run 2');
    await mine.close();
    expect(h.sim.files.get(theirs.fileId)!.deleted).toBe(false); // close() never deletes someone else's file
    await other.close();
  });

  it('claims the file a lost answer made when its content is ours (no second copy)', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    h.sim.fail({ path: '/files', method: 'POST', status: 500, lostResponse: true });
    const file = await session.upload(new TextEncoder().encode('region,revenue\nNorth,10\n'), { filename: 'sales.csv' });
    const live = [...h.sim.files.values()].filter((f) => !f.deleted);
    expect(live.map((f) => f.id)).toEqual([file.fileId]);
    await session.close();
    expect([...h.sim.files.values()].every((f) => f.deleted)).toBe(true);
  });
});
