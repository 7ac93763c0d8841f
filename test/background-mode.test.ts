// background: true is refused with a clear error, before anything is sent (issue #13 item 9).
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

describe('background mode', () => {
  it('run() refuses request.background: true naming the option, before anything is sent', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const run = session.run('long analysis', { files: [new TextEncoder().encode('a,b\n1,2\n')], request: { background: true } });
    await expect(run).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(session.run('x', { request: { background: true } })).rejects.toThrow(
      /run\(\): `request\.background`: background mode is not supported: run\(\) waits for the answer itself and keeps the container alive meanwhile/,
    );
    expect(h.sim.requests).toHaveLength(0);
    // background: false is simply passed through.
    await session.run('quick', { request: { background: false } });
    expect(h.sim.requestsTo('/responses', 'POST')[0]!.body).toMatchObject({ background: false });
    await session.close();
  });

  it('stream() refuses it the same way', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const consume = async () => {
      for await (const _event of session.stream('x', { request: { background: true } })) void _event;
    };
    await expect(consume()).rejects.toThrow(/stream\(\): `request\.background`: background mode is not supported/);
    expect(h.sim.requests).toHaveLength(0);
    await session.close();
  });
});
