// A create answered with something that is not the object it makes: a 302/303 that the transport
// follows as a GET (fetch's rules) whose list comes back, a 200 with an empty body or another
// object. That is never success but a lost answer, through the one shared check
// (`SendOptions.creates`) for containers, uploads, attaches and runs: what the request made is
// looked for, the request is sent again only if nothing was made, and close() leaves nothing.
import OpenAI from 'openai';
import { http, type HttpHandler } from 'msw';
import { setupServer } from 'msw/node';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestFailedError, RetriesExhaustedError } from '../src/index.js';
import { createSimulator, type SimulatorKit } from '../src/testing/index.js';
import { makeSession } from './helpers/session.js';
import { TEST_API_KEY, unhashedPath } from './helpers/sim.js';

const API = 'https://api.openai.com/v1';
let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
});

const running = (sim: SimulatorKit) => [...sim.containers.values()].filter((c) => c.status === 'running').map((c) => c.id);
const liveFiles = (sim: SimulatorKit) => [...sim.files.values()].filter((f) => !f.deleted).map((f) => f.id);
const bytes = (text: string) => new TextEncoder().encode(text);

/** The simulator behind msw; `server.use(...)` puts handlers in front of it. */
function setup(options: Parameters<typeof makeSession>[1] = {}) {
  const sim = createSimulator();
  const server = setupServer(...sim.handlers);
  server.listen({ onUnhandledFrame: 'error' });
  stop = () => server.close();
  const session = makeSession(new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0 }), options);
  return { sim, server, session };
}

/** Answers the next POST to `path` with a redirect to the same URL (fetch then sends a GET there). */
const redirectOnce = (path: string, status: 302 | 303): HttpHandler =>
  http.post(`${API}${path}`, () => new Response(null, { status, headers: { location: `${API}${path}` } }), { once: true });

describe.each([302, 303] as const)('a %i answer to a create, followed as a GET', (status) => {
  it('upload(): the list that came back is not taken for the file; it is sent again, one file, with its fileId', async () => {
    const { sim, server, session } = setup();
    server.use(redirectOnce('/files', status));
    const file = await session.upload(bytes('a,b\n1,2\n'), { filename: 'x.csv' });
    expect(file.fileId).toMatch(/^file-/);
    expect(session.trackedFiles.map((f) => f.fileId)).toEqual([file.fileId]);
    expect(liveFiles(sim)).toEqual([file.fileId]);
    expect(sim.requestsTo('/files', 'GET')).toHaveLength(2); // the redirect's GET, then the look-up for what it made
    await session.run('Sum column b of x.csv'); // its file id goes out (it was `undefined`, refused with 400)
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
    expect(running(sim)).toEqual([]);
  });

  it('containers.create: the list is not taken for the container; one container, deleted by close()', async () => {
    const { sim, server, session } = setup();
    server.use(redirectOnce('/containers', status));
    const info = await session.start();
    expect(info.id).toMatch(/^cntr_/);
    expect(running(sim)).toEqual([info.id]);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('attach: the list is not taken for the container file; the file is in the container once', async () => {
    const { sim, server, session } = setup();
    const id = (await session.start()).id;
    server.use(redirectOnce(`/containers/${id}/files`, status));
    const file = await session.upload(bytes('x'), { filename: 'x.txt' });
    expect(file.containerFileId).toMatch(/^cfile_/);
    expect([...sim.containers.get(id)!.files.values()].map(unhashedPath)).toEqual(['/mnt/data/x.txt']);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
    expect(running(sim)).toEqual([]);
  });
});

describe('a create that took effect but whose answer is not the object it made', () => {
  /** Lets the simulator carry the next POST to `path` (every one, unless `once`) out, then answers `answer` instead of what it made. */
  const misanswer = (sim: SimulatorKit, path: string, answer: () => Response, once = true): HttpHandler =>
    http.post(
      `${API}${path}`,
      async ({ request }) => {
        await sim.handle(request);
        return answer();
      },
      { once },
    );

  it.each([
    ['answered with an empty body', () => new Response(null, { status: 200, headers: { 'content-type': 'application/json', 'content-length': '0' } }), true],
    ['answered wrongly every time (the look-up finds the container the first one made)', () => Response.json({ object: 'container.deleted', deleted: true }), false],
  ] as const)('containers.create %s: the container made is found and used, not made twice', async (_case, answer, once) => {
    const { sim, server, session } = setup();
    server.use(misanswer(sim, '/containers', answer, once));
    const info = await session.start();
    expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);
    expect(running(sim)).toEqual([info.id]);
    await session.close();
    expect(running(sim)).toEqual([]);
  });

  it('upload answered with another object: the file made is found by its content and tracked, not uploaded twice', async () => {
    const { sim, server, session } = setup();
    server.use(misanswer(sim, '/files', () => Response.json({ object: 'list', data: [], has_more: false })));
    const file = await session.upload(bytes('a,b\n1,2\n'), { filename: 'x.csv' });
    expect(sim.requestsTo('/files', 'POST')).toHaveLength(1);
    expect(liveFiles(sim)).toEqual([file.fileId]);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
  });

  it('run(): a response answered as something else is a lost answer (retried, like a dropped connection)', async () => {
    const { sim, server, session } = setup();
    await session.start();
    server.use(misanswer(sim, '/responses', () => Response.json({ object: 'list', data: [] })));
    const result = await session.run('hello');
    expect(result.responseId).toMatch(/^resp_/);
    expect(sim.requestsTo('/responses', 'POST')).toHaveLength(2);
    await session.close();
  });


  it('with retries off and the look-up failing too: RequestFailedError saying the answer was not the container; close() deletes it', async () => {
    const { sim, server, session } = setup({ retry: false });
    server.use(misanswer(sim, '/containers', () => Response.json({ object: 'list', data: [] })));
    server.use(http.get(`${API}/containers`, () => Response.json({ error: { message: 'busy', type: 'server_error' } }, { status: 503 }), { once: true }));
    const error = await session.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as Error).message).toMatch(/containers\.create answered with an object of type 'list' and no id, not the container it creates/);
    expect((error as Error).message).toMatch(/not the JSON or the object asked for/);
    expect(running(sim)).toHaveLength(1); // made by the request whose answer was wrong
    await session.close(); // looks again by the session's own name and deletes it
    expect(running(sim)).toEqual([]);
  });

  it('a proxy that always answers a list: RetriesExhaustedError after the retries, nothing made', async () => {
    const { sim, server, session } = setup();
    server.use(http.post(`${API}/files`, () => Response.json({ object: 'list', data: [] })));
    const error = await session.upload(bytes('x'), { filename: 'x.txt' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toMatch(/files\.create failed after 4 attempts: files\.create answered with an object of type 'list'/);
    expect(sim.requestsTo('/files', 'POST')).toHaveLength(0);
    await session.close();
    expect(liveFiles(sim)).toEqual([]);
  });
});
