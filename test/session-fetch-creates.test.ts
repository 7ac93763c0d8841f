// session.fetch passes a client's own creates through (files, containers …): the session does not
// own what they make and cannot look for it, so a create whose answer was lost (it may have been
// carried out) goes back to the client as the failure instead of being sent again and made twice.
// Refusals (429) are still retried. Truth is the simulator's log and state.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSession } from './helpers/session.js';
import { TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

function setup() {
  h = withMsw();
  const session = makeSession(h.client);
  const client = new OpenAI({ apiKey: TEST_API_KEY, fetch: session.fetch, maxRetries: 0 });
  return { sim: h.sim, session, client };
}

describe('session.fetch and creates of the client\'s own', () => {
  it.each([
    ['a dropped connection', { status: 'reset' as const, lostResponse: true }],
    ['a 500', { status: 500, lostResponse: true }],
    ['an answer cut after its headers', { status: 'reset' as const, cutBodyAfterBytes: 10 }],
  ])('POST /files and POST /containers whose answer was lost (%s) are sent once: one file, one container', async (_name, fault) => {
    const { sim, session, client } = setup();
    sim.fail({ path: '/files', method: 'POST', ...fault });
    sim.fail({ path: '/containers', method: 'POST', ...fault });
    await expect(client.files.create({ file: new File(['a,b\n1,2\n'], 'mine.csv'), purpose: 'user_data' })).rejects.toThrow();
    await expect(client.containers.create({ name: 'mine' })).rejects.toThrow();
    expect(sim.requestsTo('/files', 'POST')).toHaveLength(1);
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(sim.files.size).toBe(1);
    expect(sim.containers.size).toBe(1);
    await session.close();
    // Made by the client, not the session: left for the client to delete (docs/openai-client.md).
    expect([...sim.files.values()].filter((f) => !f.deleted)).toHaveLength(1);
  });

  it('a refusal (429) of such a create is still retried: nothing was made', async () => {
    const { sim, session, client } = setup();
    sim.fail({ path: '/files', method: 'POST', status: 429 });
    const file = await client.files.create({ file: new File(['x'], 'x.txt'), purpose: 'user_data' });
    expect(file.id).toMatch(/^file-/);
    expect(sim.requestsTo('/files', 'POST').map((r) => r.status)).toEqual([429, 200]);
    await client.files.delete(file.id);
    await session.close();
  });

  it('GETs through it are still retried after a lost answer', async () => {
    const { sim, session, client } = setup();
    sim.fail({ path: '/files', method: 'GET', status: 'reset' });
    await client.files.list();
    expect(sim.requestsTo('/files', 'GET')).toHaveLength(2);
    await session.close();
  });
});
