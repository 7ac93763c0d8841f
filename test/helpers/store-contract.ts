import { expect, it } from 'vitest';
import type { SessionFile, SessionStore } from '../../src/index.js';

const file = (n: number): SessionFile => ({ fileId: `file-${n}`, filename: `f${n}.csv`, bytes: n, origin: 'upload', owned: true });

/**
 * What every `SessionStore` promises (docs/lifecycle.md), run against each implementation.
 * `make` gives a fresh store (its own key space); `tombstoneTtlMs` is what it was made with.
 */
export function storeContract(make: () => SessionStore, opts: { tombstoneTtlMs: number }): void {
  it('load: undefined for an unknown session', async () => {
    expect(await make().load('nobody')).toBeUndefined();
  });

  it('concurrent changes merge: 40 files and 40 turns from 40 writers all land, in a consistent order', async () => {
    const store = make();
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.update('s', { type: 'putFile', file: file(i) })));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.update('s', {
          type: 'recordTurn',
          entries: [{ role: 'user', text: `q${i}` }, { role: 'assistant', text: `a${i}` }],
          limit: 100,
          reset: false,
          previousResponseId: `resp_${i}`,
          chainContainerId: 'cntr_1',
        }),
      ),
    );
    const state = (await store.load('s'))!;
    expect(state.files.map((f) => f.fileId).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `file-${i}`).sort());
    expect(state.conversation.transcript).toHaveLength(80);
    // Each turn's two entries stay together, and the chain points at one of the turns.
    for (let i = 0; i < 80; i += 2) expect(state.conversation.transcript[i + 1]!.text).toBe(state.conversation.transcript[i]!.text.replace('q', 'a'));
    expect(state.conversation.previousResponseId).toMatch(/^resp_\d+$/);
  });

  it('putFile replaces the entry with the same id in place; removeFile removes it', async () => {
    const store = make();
    for (const n of [1, 2, 3]) await store.update('s', { type: 'putFile', file: file(n) });
    const { state } = await store.update('s', { type: 'putFile', file: { ...file(2), containerFileId: 'cfile_2' } });
    expect(state.files.map((f) => [f.fileId, f.containerFileId])).toEqual([
      ['file-1', undefined],
      ['file-2', 'cfile_2'],
      ['file-3', undefined],
    ]);
    const after = await store.update('s', { type: 'removeFile', fileId: 'file-1' });
    expect(after.state.files.map((f) => f.fileId)).toEqual(['file-2', 'file-3']);
  });

  it('recordTurn keeps the last `limit` entries and empties the transcript on reset', async () => {
    const store = make();
    const turn = (i: number, reset = false) =>
      store.update('s', { type: 'recordTurn', entries: [{ role: 'user', text: `q${i}` }, { role: 'assistant', text: `a${i}` }], limit: 4, reset, previousResponseId: `r${i}`, chainContainerId: 'c' });
    for (let i = 0; i < 3; i++) await turn(i);
    expect((await store.load('s'))!.conversation.transcript.map((e) => e.text)).toEqual(['q1', 'a1', 'q2', 'a2']);
    const { state } = await turn(9, true);
    expect(state.conversation.transcript.map((e) => e.text)).toEqual(['q9', 'a9']);
    expect(state.conversation).toMatchObject({ previousResponseId: 'r9', chainContainerId: 'c' });
  });

  it('clearChain forgets the chain only while it belongs to the given container', async () => {
    const store = make();
    await store.update('s', { type: 'recordTurn', entries: [], limit: 10, reset: false, previousResponseId: 'r2', chainContainerId: 'cntr_new' });
    expect((await store.update('s', { type: 'clearChain', containerId: 'cntr_old' })).state.conversation.previousResponseId).toBe('r2');
    const { state } = await store.update('s', { type: 'clearChain', containerId: 'cntr_new' });
    expect(state.conversation.previousResponseId).toBeUndefined();
    expect(state.conversation.chainContainerId).toBeUndefined();
  });

  it('replaceContainer is a compare-and-set: of 10 racing first writers exactly one wins', async () => {
    const store = make();
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.update('s', { type: 'replaceContainer', from: undefined, to: `cntr_${i}` })));
    const winners = outcomes.filter((o) => o.applied);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.state.containerId;
    for (const o of outcomes) expect(o.state.containerId).toBe(winner);
    expect((await store.update('s', { type: 'replaceContainer', from: 'cntr_other', to: 'cntr_x' })).applied).toBe(false);
    expect((await store.update('s', { type: 'replaceContainer', from: winner, to: undefined })).state.containerId).toBeUndefined();
  });

  it('delete answers the last state and leaves a tombstone: load and update say closed, nothing is written', async () => {
    const store = make();
    await store.update('s', { type: 'putFile', file: file(1) });
    await store.update('s', { type: 'replaceContainer', from: undefined, to: 'cntr_1' });
    const last = await store.delete('s');
    expect(last).toMatchObject({ containerId: 'cntr_1', files: [{ fileId: 'file-1' }] });
    expect(await store.load('s')).toMatchObject({ closed: true });
    const late = await store.update('s', { type: 'putFile', file: file(2) });
    expect(late.applied).toBe(false);
    expect(late.state.closed).toBe(true);
    expect(await store.delete('s')).toMatchObject({ closed: true });
    await new Promise((r) => setTimeout(r, opts.tombstoneTtlMs + 50));
    expect(await store.load('s')).toBeUndefined(); // the id can be used again
  });

  it('a caller never holds the store’s own object', async () => {
    const store = make();
    const { state } = await store.update('s', { type: 'putFile', file: file(1) });
    state.files.push(file(99));
    state.conversation.transcript.push({ role: 'user', text: 'sneaky' });
    expect((await store.load('s'))!.files).toHaveLength(1);
    expect((await store.load('s'))!.conversation.transcript).toHaveLength(0);
  });

  it('withLock runs one holder at a time; lease goes to one holder and says how long it lasts', async () => {
    const store = make();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        store.withLock!('s', 'container', async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 20));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await store.lease!('s', 'keepalive', 'a', 300)).toEqual({ held: true, remainingMs: 300 });
    const other = await store.lease!('s', 'keepalive', 'b', 300);
    expect(other.held).toBe(false);
    expect(other.remainingMs).toBeGreaterThan(200);
    expect(other.remainingMs).toBeLessThanOrEqual(300);
    expect((await store.lease!('s', 'keepalive', 'a', 300)).held).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    expect((await store.lease!('s', 'keepalive', 'b', 300)).held).toBe(true);
  });

  it('withLock: a waiter that gives up rejects with its reason and does not block the next one', async () => {
    const store = make();
    let release!: () => void;
    const holding = store.withLock!('s', 'container', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 10));
    const controller = new AbortController();
    const waiting = store.withLock!('s', 'container', async () => 'never', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 30);
    await expect(waiting).rejects.toThrow('gave up');
    release();
    await holding;
    expect(await store.withLock!('s', 'container', async () => 'next')).toBe('next');
  });
}
