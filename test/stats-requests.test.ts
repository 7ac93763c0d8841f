// session.stats.requests counts requests on the wire: every attempt, retry and redirect hop, as
// the fetch under the session's transport sees them (each call of it is one HTTP request).
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestFailedError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { TEST_API_KEY, withHttp } from './helpers/sim.js';

let h: Awaited<ReturnType<typeof withHttp>> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A client whose every request is logged; `redirect(method, path, n)` says whether the nth request is answered with a redirect to itself. */
function wireClient(baseURL: string, redirect: (method: string, path: string, n: number) => boolean) {
  const wire: Array<{ method: string; path: string; redirected: boolean }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === 'data:') return globalThis.fetch(input, init); // the SDK's probe before an upload: no request to a server
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = url.pathname.replace(/^\/v1/, '');
    const redirected = redirect(method, path, wire.length);
    wire.push({ method, path, redirected });
    if (redirected) return new Response(null, { status: method === 'GET' ? 302 : 307, headers: { location: url.href } });
    return globalThis.fetch(input, init);
  };
  return { client: new OpenAI({ apiKey: TEST_API_KEY, baseURL, maxRetries: 0, fetch }), wire };
}

describe('session.stats.requests', () => {
  it('counts every request on the wire: redirect hops and retries included', async () => {
    h = await withHttp();
    const { client, wire } = wireClient(h.client.baseURL, (_method, _path, n) => n % 2 === 0); // every other request redirected
    const session = makeSession(client, { keepAlive: false });
    await session.upload(new TextEncoder().encode('region,revenue\nN,1\n'), { filename: 'a.csv' });
    await session.run('Total revenue by region');
    h.sim.fail({ path: '/containers', method: 'GET', status: 500 }); // one retry too
    await session.listFiles();
    expect(wire.filter((r) => r.redirected).length).toBeGreaterThanOrEqual(4);
    expect(session.stats.retries).toBe(1);
    expect(session.stats.requests).toBe(wire.length);
    expect(h.sim.requests).toHaveLength(wire.filter((r) => !r.redirected).length); // what reached the server behind the redirects
    await session.close();
  });

  it("a redirect loop fails at once, counted hop by hop, and its error says so (not 'could not be reached … allow retries')", async () => {
    h = await withHttp();
    const { client, wire } = wireClient(h.client.baseURL, (method, path) => method === 'POST' && path === '/responses');
    const session = makeSession(client, { keepAlive: false });
    await session.start();
    const before = { wire: wire.length, requests: session.stats.requests };
    const error = await session.run('hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as Error).message).toMatch(/^run\(\) failed: .*redirect that cannot be followed \(a loop, more than 20, .*check the client's `baseURL` and any proxy/);
    expect((error as Error).message).not.toMatch(/could not be reached|allow retries/);
    expect(wire.length - before.wire).toBe(21); // fetch's limit: the first request and 20 redirects, not retried
    expect(session.stats.requests - before.requests).toBe(21);
    expect(session.stats.retries).toBe(0);
    await session.close();
  });
});
