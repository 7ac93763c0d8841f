import type OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryLedger, LEDGER_LIMITS, rewriteHistory, withNote } from '../src/runs/history.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, withMsw } from './helpers/sim.js';

const call = (id: string, container: string) => ({ type: 'code_interpreter_call', id, container_id: container, code: 'print(1)', status: 'completed', outputs: [] });
const user = (text: string) => ({ role: 'user', content: text });
const ref = (id: string) => ({ type: 'item_reference', id });

function ledgerWith(...output: unknown[]): HistoryLedger {
  const ledger = new HistoryLedger();
  ledger.noteResponse({ id: 'resp_1', output }, 'first', 'cntr_old');
  return ledger;
}

describe('rewriteHistory', () => {
  it('known-dead: drops only code calls (and references to them) of containers known to be gone', () => {
    const ledger = ledgerWith(call('ci_a', 'cntr_old'), { type: 'message', id: 'msg_a', role: 'assistant', content: [] });
    const items = [user('q'), call('ci_x', 'cntr_other'), ref('ci_a'), ref('msg_a'), call('ci_b', 'cntr_old'), user('next')];
    expect(rewriteHistory(items, { liveContainerId: 'cntr_new', ledger, mode: 'known-dead' })).toEqual({ items, dropped: 0 });
    ledger.noteDead('cntr_old');
    const { items: kept, dropped } = rewriteHistory(items, { liveContainerId: 'cntr_new', ledger, mode: 'known-dead' });
    expect(dropped).toBe(2);
    expect(kept).toEqual([user('q'), call('ci_x', 'cntr_other'), ref('msg_a'), user('next')]);
  });

  it('not-live: drops every code call of another container, and references to code calls never seen', () => {
    const ledger = ledgerWith(call('ci_a', 'cntr_live'));
    const items = [user('q'), ref('rs_1'), ref('ci_unknown'), ref('ci_a'), { type: 'reasoning', id: 'rs_2', summary: [] }, call('ci_x', 'cntr_other'), ref('msg_z'), call('ci_y', 'cntr_live')];
    const { items: kept, dropped } = rewriteHistory(items, { liveContainerId: 'cntr_live', ledger, mode: 'not-live' });
    // The reasoning items that led to the dropped calls go with them.
    expect(kept).toEqual([user('q'), ref('ci_a'), ref('msg_z'), call('ci_y', 'cntr_live')]);
    expect(dropped).toBe(4);
  });

  it('a code call without container_id is kept (the API does not require the field)', () => {
    const items = [{ type: 'code_interpreter_call', id: 'ci_n', code: null, status: 'completed' }];
    expect(rewriteHistory(items, { liveContainerId: 'cntr_live', ledger: new HistoryLedger(), mode: 'not-live' }).dropped).toBe(0);
  });

  it('the ledger rebuilds a chain it saw, and refuses one with a missing link', () => {
    const ledger = new HistoryLedger();
    ledger.noteResponse({ id: 'resp_1', output: [call('ci_1', 'cntr_a')] }, 'one', 'cntr_a');
    ledger.noteResponse({ id: 'resp_2', previous_response_id: 'resp_1', output: [{ type: 'message', role: 'assistant', content: [] }] }, [user('two')], 'cntr_a');
    expect(ledger.chain('resp_2')).toEqual([user('one'), call('ci_1', 'cntr_a'), user('two'), { type: 'message', role: 'assistant', content: [] }]);
    ledger.noteResponse({ id: 'resp_3', previous_response_id: 'resp_unknown', output: [] }, 'three', 'cntr_a');
    expect(ledger.chain('resp_3')).toBeUndefined();
    expect(ledger.item('ci_1')).toEqual({ type: 'code_interpreter_call', containerId: 'cntr_a' });
  });

  it('the ledger is bounded', () => {
    const ledger = new HistoryLedger();
    for (let i = 0; i <= LEDGER_LIMITS.responses; i++) ledger.noteResponse({ id: `resp_${i}`, output: [] }, 'x', undefined);
    expect(ledger.chain('resp_0')).toBeUndefined();
    expect(ledger.chain(`resp_${LEDGER_LIMITS.responses}`)).toEqual([user('x')]);
  });

  it('the note goes before the last user message', () => {
    expect(withNote([user('a'), { role: 'assistant', content: 'b' }, user('c')], 'N')).toEqual([user('a'), { role: 'assistant', content: 'b' }, { role: 'developer', content: 'N' }, user('c')]);
    expect(withNote([ref('msg_1')], 'N')).toEqual([ref('msg_1'), { role: 'developer', content: 'N' }]);
  });
});

describe('run() with history items of a dead container', () => {
  let h: ReturnType<typeof withMsw>;
  afterEach(() => h?.close());

  it('drops the stale code calls and replays once; the next run cleans them before sending', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
    const first = await session.run('revenue by region', { newConversation: true });
    const history = [{ role: 'user', content: 'revenue by region' }, ...first.raw.output] as OpenAI.Responses.ResponseInputItem[];
    h.sim.expire(first.containerId);

    const second = await session.run([...history, { role: 'user', content: 'units by product' }], { newConversation: true });
    expect(second.recovered).toBe(true);
    expect(second.text).toContain('Total units by product');
    const posts = h.sim.requestsTo('/responses', 'POST');
    expect(posts.map((r) => r.status)).toEqual([200, 400, 200]);
    const replay = posts[2]!.body as { input: Array<{ type?: string; role?: string; content?: unknown }> };
    expect(replay.input.some((i) => i.type === 'code_interpreter_call')).toBe(false);
    expect(replay.input.find((i) => i.role === 'developer')?.content).toMatch(/restored under \/mnt\/data: sales\.csv/);

    await session.run([...history, { role: 'user', content: 'revenue by product' }], { newConversation: true });
    expect(h.sim.requestsTo('/responses', 'POST').map((r) => r.status)).toEqual([200, 400, 200, 200]);
    await session.close();
  });
});
