import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { SessionFile, SessionStore } from '../../src/index.js';

const file = (n: number): SessionFile => ({ fileId: `file-${n}`, filename: `f${n}.csv`, bytes: n, origin: 'upload', owned: true });

/** The clock a store keeps its TTLs by, as the contract sees and moves it. */
export interface StoreClock {
  /** The time now, in ms. */
  now(): number;
  /** Lets at least `ms` pass. */
  pass(ms: number): Promise<void>;
}

/** The wall clock: for a store that keeps time by it, or by a server's (Redis). */
export const wallClock: StoreClock = { now: () => performance.now(), pass: (ms) => sleep(ms) };

/** A clock that moves only when told, for a store that takes one (`now`). */
export function manualClock(start = 1_000_000): StoreClock {
  let time = start;
  return {
    now: () => time,
    pass: async (ms) => {
      time += ms;
    },
  };
}

/**
 * Runs `steps` (on a fresh session id each time) until a run's checks of what holds *before* a TTL
 * lapses ended within `ttlMs` of its start, as `clock` counts. On the wall clock a stalled machine
 * can let the TTL lapse before the checks run: such a run proves nothing either way and is run
 * again; a run that failed in time fails the test. On a manual clock the first run is in time.
 */
async function beforeTtl(clock: StoreClock, ttlMs: number, steps: (sessionId: string, inTime: () => void) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const started = clock.now();
    let checkedAt = Number.POSITIVE_INFINITY;
    try {
      await steps(`s-${attempt}`, () => (checkedAt = clock.now()));
      return;
    } catch (error) {
      const failedAt = Math.min(checkedAt, clock.now());
      if (failedAt - started < ttlMs || attempt === 5) throw error;
    }
  }
}

/**
 * What every `SessionStore` promises (docs/lifecycle.md), run against each implementation.
 * `make` gives a fresh store (its own key space); `tombstoneTtlMs` is what it was made with and
 * `clock` the clock it keeps time by (the wall clock unless given). Leases are taken for
 * `tombstoneTtlMs` too. On the wall clock, pick TTLs that leave the checks before them ample time.
 */
export function storeContract(make: () => SessionStore, opts: { tombstoneTtlMs: number; clock?: StoreClock }): void {
  const clock = opts.clock ?? wallClock;
  const ttlMs = opts.tombstoneTtlMs;

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

  it('delete answers the last state and leaves a tombstone: load and update say closed, nothing is written; the id is free again after tombstoneTtlMs', async () => {
    const store = make();
    let id = '';
    await beforeTtl(clock, ttlMs, async (sessionId, inTime) => {
      id = sessionId;
      await store.update(id, { type: 'putFile', file: file(1) });
      await store.update(id, { type: 'replaceContainer', from: undefined, to: 'cntr_1' });
      const last = await store.delete(id);
      expect(last).toMatchObject({ containerId: 'cntr_1', files: [{ fileId: 'file-1' }] });
      expect(await store.load(id)).toMatchObject({ closed: true });
      const late = await store.update(id, { type: 'putFile', file: file(2) });
      expect(late.applied).toBe(false);
      expect(late.state.closed).toBe(true);
      expect(await store.delete(id)).toMatchObject({ closed: true });
      inTime();
    });
    await clock.pass(ttlMs + 50);
    expect(await store.load(id)).toBeUndefined(); // the id can be used again
  });

  it('a caller never holds the store’s own object', async () => {
    const store = make();
    const { state } = await store.update('s', { type: 'putFile', file: file(1) });
    state.files.push(file(99));
    state.conversation.transcript.push({ role: 'user', text: 'sneaky' });
    expect((await store.load('s'))!.files).toHaveLength(1);
    expect((await store.load('s'))!.conversation.transcript).toHaveLength(0);
  });

  it('withLock runs one holder at a time', async () => {
    const store = make();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        store.withLock!('s', 'container', async () => {
          most = Math.max(most, ++inside);
          await sleep(20);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('lease goes to one holder and says how long it lasts; another holder gets it once it lapses', async () => {
    const store = make();
    let id = '';
    await beforeTtl(clock, ttlMs, async (sessionId, inTime) => {
      id = sessionId;
      const asked = clock.now();
      expect(await store.lease!(id, 'keepalive', 'a', ttlMs)).toEqual({ held: true, remainingMs: ttlMs });
      await clock.pass(ttlMs / 4);
      const other = await store.lease!(id, 'keepalive', 'b', ttlMs);
      const elapsed = clock.now() - asked;
      expect(other.held).toBe(false);
      // What is left of a's lease: at most the TTL less the pause, at least the TTL less all that passed.
      expect(other.remainingMs).toBeLessThanOrEqual(ttlMs - ttlMs / 4);
      expect(other.remainingMs).toBeGreaterThanOrEqual(Math.floor(ttlMs - elapsed));
      expect((await store.lease!(id, 'keepalive', 'a', ttlMs)).held).toBe(true);
      inTime();
    });
    await clock.pass(ttlMs + 50);
    expect((await store.lease!(id, 'keepalive', 'b', ttlMs)).held).toBe(true);
  });

  it('withLock: a waiter that gives up rejects with its reason and does not block the next one', async () => {
    const store = make();
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holding = store.withLock!('s', 'container', () => {
      entered();
      return new Promise<void>((r) => (release = r));
    });
    await inside; // the holder has the lock before the waiter asks
    const controller = new AbortController();
    const waiting = store.withLock!('s', 'container', async () => 'never', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 30);
    await expect(waiting).rejects.toThrow('gave up');
    release();
    await holding;
    expect(await store.withLock!('s', 'container', async () => 'next')).toBe('next');
  });
}
