import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimiter, type RateLimiter, type RateLimitSlot } from '../src/index.js';
import { createLimitedFetch } from '../src/transport/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { maxInAnyWindow } from './helpers/windows.js';
import { TEST_API_KEY, withHttp } from './helpers/sim.js';

/** A limiter that hands out one slot per reserve() and records what happened to each. */
function recordingLimiter() {
  const slots: Array<{ state: 'unsent' | 'sent' | 'released'; sentCalls: number; sinceArrivalMs?: number }> = [];
  const limiter: RateLimiter = {
    acquire: async () => {
      throw new Error('the transport must use reserve() when there is one');
    },
    reserve: async () => {
      const record = { state: 'unsent' as 'unsent' | 'sent' | 'released', sentCalls: 0 };
      slots.push(record);
      const slot: RateLimitSlot = {
        sent: (sinceArrivalMs) => {
          record.sentCalls++;
          if (record.state !== 'unsent') return;
          record.state = 'sent';
          if (sinceArrivalMs) Object.assign(record, { sinceArrivalMs });
        },
        release: () => {
          if (record.state === 'unsent') record.state = 'released';
        },
      };
      return slot;
    },
  };
  return { limiter, slots };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createLimitedFetch over Node fetch (undici)', () => {
  it('holds the slot unstamped while the request travels, and stamps it when the answer starts', async () => {
    const { limiter, slots } = recordingLimiter();
    const seenAtArrival: string[] = [];
    const base = await serve((req, res) => {
      seenAtArrival.push(slots[0]!.state);
      setTimeout(() => res.end('ok'), 20);
    });
    const response = await createLimitedFetch({ limiter })(`${base}/v1/x?y=1`, { method: 'POST', body: 'hello' });
    expect(slots[0]!.state).toBe('sent'); // stamped by the time the caller has the answer
    expect(await response.text()).toBe('ok');
    expect(seenAtArrival).toEqual(['unsent']); // it arrived while its slot still held its place
    expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }]);
  });

  it("stamps in undici's own callback when the answer's headers are read, before the fetch promise reaches the caller", async () => {
    const { limiter, slots } = recordingLimiter();
    const base = await serve((_req, res) => res.end('ok'));
    const limitedFetch = createLimitedFetch({ limiter });
    await (await limitedFetch(`${base}/v1/warm`)).text(); // the transport has subscribed to the channels by now
    const atHeaders: string[] = [];
    const onHeaders = () => atHeaders.push(slots[1]?.state ?? 'none');
    subscribe('undici:request:headers', onHeaders);
    try {
      const response = await limitedFetch(`${base}/v1/x`);
      expect(await response.text()).toBe('ok');
    } finally {
      unsubscribe('undici:request:headers', onHeaders);
    }
    expect(atHeaders).toEqual(['sent']); // already stamped when undici published the headers
    expect(slots[1]).toEqual({ state: 'sent', sentCalls: 1 });
  });

  it('stamps `arrivalBoundMs` after the request was written when the server takes longer to answer', async () => {
    const { limiter, slots } = recordingLimiter();
    const seen: string[] = [];
    const base = await serve((_req, res) => {
      seen.push(slots[0]!.state);
      setTimeout(() => {
        seen.push(slots[0]!.state);
        res.end('ok');
      }, 300);
    });
    await (await createLimitedFetch({ limiter, arrivalBoundMs: 50 })(`${base}/v1/slow`)).text();
    expect(seen).toEqual(['unsent', 'sent']);
    expect(slots[0]!.sentCalls).toBe(2); // the later stamp is a no-op by contract
  });

  it('a streamed body (size unknown) keeps its slot unstamped until the answer starts, however long it takes', async () => {
    const { limiter, slots } = recordingLimiter();
    const states: Array<[string, string]> = [];
    let chunks = 0;
    const base = await serve((req, res) => {
      req.on('data', () => states.push([`chunk ${++chunks}`, slots[0]!.state]));
      req.on('end', () => {
        states.push(['body end', slots[0]!.state]);
        setTimeout(() => {
          states.push(['answer', slots[0]!.state]);
          res.end('ok');
        }, 300);
      });
    });
    // Four chunks 100 ms apart: the body takes ~300 ms to leave, six times the bound.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        controller.enqueue(new TextEncoder().encode(`part ${sent}\n`));
        if (++sent === 4) controller.close();
      },
    });
    const init = { method: 'POST', body, duplex: 'half' } as RequestInit;
    await (await createLimitedFetch({ limiter, arrivalBoundMs: 50 })(`${base}/v1/upload`, init)).text();
    expect(states.every(([, state]) => state === 'unsent')).toBe(true);
    expect(states.at(-1)?.[0]).toBe('answer');
    expect(chunks).toBeGreaterThanOrEqual(2);
    expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }]); // stamped once, when the answer started
  });

  it('a large body is not stamped by the bound: its last byte left the process long before the server had it', async () => {
    // 512 KiB written at once: undici reports the body sent when the kernel's socket buffers took
    // it, while the server has not read it yet (it reads only after 300 ms, six times the bound).
    const { limiter, slots } = recordingLimiter();
    const seen: Array<[string, string]> = [];
    const base = await serve((req, res) => {
      req.pause();
      setTimeout(() => {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => (bytes += chunk.length));
        req.on('end', () => {
          seen.push([`body ${bytes}`, slots[0]!.state]);
          res.end('ok');
        });
        req.resume();
      }, 300);
    });
    const bodySent: string[] = [];
    const onBodySent = () => bodySent.push(slots[0]?.state ?? 'none');
    subscribe('undici:request:bodySent', onBodySent);
    try {
      const body = new Uint8Array(512 * 1024);
      await (await createLimitedFetch({ limiter, arrivalBoundMs: 50 })(`${base}/v1/files`, { method: 'POST', body })).text();
    } finally {
      unsubscribe('undici:request:bodySent', onBodySent);
    }
    expect(bodySent).toEqual(['unsent']);
    expect(seen).toEqual([[`body ${512 * 1024}`, 'unsent']]);
    expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }]);
  });

  it('an interim answer (103 Early Hints) does not stamp the slot; the final answer does', async () => {
    const { limiter, slots } = recordingLimiter();
    const seen: string[] = [];
    const base = await serve((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      setTimeout(() => {
        seen.push(slots[0]!.state);
        res.end('ok');
      }, 100);
    });
    await (await createLimitedFetch({ limiter })(`${base}/v1/x`)).text();
    expect(seen).toEqual(['unsent']);
    expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }]);
  });

  describe("the server's own account of its time (`openai-processing-ms`)", () => {
    it('dates the slot back by the time the server says it spent, never before the request was written', async () => {
      const { limiter, slots } = recordingLimiter();
      const header = (res: ServerResponse, value: string) => res.setHeader('OpenAI-Processing-Ms', value);
      const base = await serve((req, res) => {
        const value = req.url!.slice('/v1/'.length);
        if (value === 'slow') {
          setTimeout(() => (header(res, '250'), res.end('ok')), 300); // spent 300 ms, says 250
          return;
        }
        if (value !== 'none') header(res, decodeURIComponent(value));
        res.end('ok');
      });
      const limitedFetch = createLimitedFetch({ limiter });
      const send = async (value: string) => {
        const written = performance.now();
        await (await limitedFetch(`${base}/v1/${value}`)).text();
        return performance.now() - written;
      };
      await send('slow');
      expect(slots[0]!.sinceArrivalMs).toBe(250);
      // A figure longer than the request has been on its way (a proxy's, a broken clock's) is capped.
      const elapsed = await send('100000');
      expect(slots[1]!.sinceArrivalMs).toBeGreaterThan(0);
      expect(slots[1]!.sinceArrivalMs).toBeLessThanOrEqual(elapsed);
      const malformed = ['none', '0', 'abc', '-5', '', 'Infinity', '0x3e8', '1e3', '12ms', '1,000'];
      for (const value of malformed) await send(encodeURIComponent(value));
      expect(slots.slice(2).map((slot) => slot.sinceArrivalMs)).toEqual(malformed.map(() => undefined));
      expect(slots.every((slot) => slot.state === 'sent' && slot.sentCalls === 1)).toBe(true);
    });

    it('keeps the limit at the server while the server is slow to answer, and lets the next window start from the arrival', async () => {
      // The server holds each request 300 ms and says so. The server's own log is what is measured:
      // arrivals stay within the limit, and the slots are not held the extra 300 ms of each answer.
      const limit = 4;
      const intervalMs = 600;
      const arrivals: number[] = [];
      const base = await serve((_req, res) => {
        const arrived = performance.now();
        arrivals.push(arrived);
        setTimeout(() => {
          res.setHeader('openai-processing-ms', String(Math.floor(performance.now() - arrived)));
          res.end('ok');
        }, 300);
      });
      const limitedFetch = createLimitedFetch({ limiter: createRateLimiter({ limit, intervalMs }) });
      await Promise.all(Array.from({ length: 3 * limit }, async () => (await limitedFetch(`${base}/v1/x`)).text()));
      expect(arrivals).toHaveLength(3 * limit);
      expect(maxInAnyWindow(arrivals, intervalMs)).toBeLessThanOrEqual(limit);
      // Stamped at the answer alone, each window would start at least 300 ms after the last one
      // ended: the third window's requests could not arrive before 2 * (600 + 300) ms.
      const sorted = [...arrivals].sort((a, b) => a - b);
      expect(sorted[2 * limit]! - sorted[0]!).toBeLessThan(2 * (intervalMs + 300));
    });
  });

  it('no margin needed: new connections delayed on their way do not bunch arrivals with the next window (issue #16)', async () => {
    // A proxy that holds the first bytes of every new connection for 150 ms (a slow handshake, a
    // cold path): the first window's requests arrive late, the next window's reuse the connections
    // and arrive on time. The server's own arrival times are what is measured.
    const limit = 10;
    const intervalMs = 400;
    const arrivalsWith = async (limiter: RateLimiter) => {
      const arrivals: number[] = [];
      const origin = await serve((_req, res) => {
        arrivals.push(performance.now());
        res.end('ok');
      });
      const proxy = createNetServer((client) => {
        const upstream = connect(Number(new URL(origin).port), '127.0.0.1');
        client.pause();
        setTimeout(() => client.pipe(upstream), 150);
        upstream.pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      proxy.listen(0, '127.0.0.1');
      await once(proxy, 'listening');
      try {
        const limitedFetch = createLimitedFetch({ limiter });
        const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1/x`;
        await Promise.all(Array.from({ length: 3 * limit }, async () => (await limitedFetch(url)).text()));
      } finally {
        proxy.close();
      }
      return arrivals;
    };
    const stampedAtAnswer = await arrivalsWith(createRateLimiter({ limit, intervalMs }));
    expect(stampedAtAnswer).toHaveLength(3 * limit);
    expect(maxInAnyWindow(stampedAtAnswer, intervalMs)).toBeLessThanOrEqual(limit);
    // The control: the same limiter used through acquire() with no margin, stamped when granted.
    const atGrant = createRateLimiter({ limit, intervalMs, marginMs: 0 });
    const stampedAtGrant = await arrivalsWith({ acquire: (opts) => atGrant.acquire(opts) });
    expect(maxInAnyWindow(stampedAtGrant, intervalMs)).toBeGreaterThan(limit);
  });

  describe('redirects: followed one request and one slot at a time', () => {
    /** A server that redirects `/v1/old…` to `/v1/new…` with `status`, and logs every arrival. */
    async function redirecting(status: number, location = '/v1/new') {
      const arrivals: Array<{ method: string; url: string; body: string; authorization?: string; apiKey?: string; at: number }> = [];
      const base = await serve((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk));
        req.on('end', () => {
          arrivals.push({ method: req.method!, url: req.url!, body, authorization: req.headers.authorization, apiKey: req.headers['api-key'] as string | undefined, at: performance.now() });
          if (req.url!.startsWith('/v1/old')) res.writeHead(status, { location }).end();
          else res.end(`final ${req.method}`);
        });
      });
      return { base, arrivals };
    }

    it('307 and 308 resend the same method and body, each hop under its own slot', async () => {
      for (const status of [307, 308]) {
        const { limiter, slots } = recordingLimiter();
        const { base, arrivals } = await redirecting(status);
        const response = await createLimitedFetch({ limiter })(`${base}/v1/old`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
        expect(await response.text()).toBe('final POST');
        expect(response.status).toBe(200);
        expect(arrivals.map((a) => [a.method, a.url, a.body])).toEqual([['POST', '/v1/old', '{"a":1}'], ['POST', '/v1/new', '{"a":1}']]);
        expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }, { state: 'sent', sentCalls: 1 }]);
      }
    });

    it('303 (and 301/302 after a POST) continue with a GET without the body, as fetch does', async () => {
      for (const status of [301, 302, 303]) {
        const { limiter, slots } = recordingLimiter();
        const { base, arrivals } = await redirecting(status);
        const response = await createLimitedFetch({ limiter })(`${base}/v1/old`, { method: 'POST', body: 'x=1' });
        expect(await response.text()).toBe('final GET');
        expect(arrivals.map((a) => [a.method, a.url, a.body])).toEqual([['POST', '/v1/old', 'x=1'], ['GET', '/v1/new', '']]);
        expect(slots).toHaveLength(2);
      }
    });

    it('does not carry credentials to another origin', async () => {
      const other = await redirecting(307);
      const { limiter } = recordingLimiter();
      const { base, arrivals } = await redirecting(307, `${other.base}/v1/new`);
      const headers = { authorization: 'Bearer sk-secret', 'api-key': 'azure-secret' };
      await (await createLimitedFetch({ limiter })(`${base}/v1/old`, { headers })).text();
      expect(arrivals.map((a) => [a.authorization, a.apiKey])).toEqual([['Bearer sk-secret', 'azure-secret']]);
      expect(other.arrivals.map((a) => [a.url, a.authorization, a.apiKey])).toEqual([['/v1/new', undefined, undefined]]);
    });

    it("a body that cannot be sent again (a stream) ends the chain with the redirect answer; `redirect: 'manual'` is the caller's", async () => {
      const { base, arrivals } = await redirecting(307);
      const streamed = recordingLimiter();
      const body = new ReadableStream<Uint8Array>({ pull: (c) => (c.enqueue(new TextEncoder().encode('once')), c.close()) });
      const response = await createLimitedFetch({ limiter: streamed.limiter })(`${base}/v1/old`, { method: 'POST', body, duplex: 'half' } as RequestInit);
      expect([response.status, response.headers.get('location')]).toEqual([307, '/v1/new']);
      const manual = recordingLimiter();
      const manualResponse = await createLimitedFetch({ limiter: manual.limiter })(`${base}/v1/old`, { redirect: 'manual' });
      expect(manualResponse.status).toBe(307);
      expect(arrivals.map((a) => a.url)).toEqual(['/v1/old', '/v1/old']);
      expect([streamed.slots.length, manual.slots.length]).toEqual([1, 1]);
    });

    it('stops after 20 redirects with a TypeError, as fetch does', async () => {
      const { limiter, slots } = recordingLimiter();
      const { base, arrivals } = await redirecting(302, '/v1/old-again');
      const error = await createLimitedFetch({ limiter })(`${base}/v1/old`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe('fetch failed');
      expect(String((error as Error).cause)).toMatch(/more than 20 redirects/);
      expect(arrivals).toHaveLength(21);
      expect(slots).toHaveLength(21);
    });

    it('behaves as fetch: `redirected` and `url` of the final answer, lower-case methods, UTF-8 Locations, init.headers over a Request\'s', async () => {
      const { limiter } = recordingLimiter();
      const limitedFetch = createLimitedFetch({ limiter });
      const plain = await redirecting(302);
      const response = await limitedFetch(`${plain.base}/v1/old`, { method: 'post', body: 'x' });
      expect([response.status, response.redirected, response.url]).toEqual([200, true, `${plain.base}/v1/new`]);
      expect(await response.text()).toBe('final GET'); // 'post' is POST: a 302 turns it into a GET
      const direct = await limitedFetch(`${plain.base}/v1/new`);
      expect(direct.redirected).toBe(false);
      await direct.text();

      const utf8 = await redirecting(307, Buffer.from('/v1/new?ä=é').toString('latin1')); // the header's bytes are UTF-8
      await (await limitedFetch(`${utf8.base}/v1/old`)).text();
      expect(utf8.arrivals.map((a) => a.url)).toEqual(['/v1/old', '/v1/new?%C3%A4=%C3%A9']);

      const headersOf = await redirecting(307);
      const request = new Request(`${headersOf.base}/v1/old`, { headers: { authorization: 'Bearer from-request' } });
      await (await limitedFetch(request, { headers: { 'api-key': 'from-init' } })).text();
      expect(headersOf.arrivals.map((a) => [a.authorization, a.apiKey])).toEqual([[undefined, 'from-init'], [undefined, 'from-init']]);
    });

    it("fails as fetch does, at once and without a retry, for a Location that is not an http(s) URL and for `redirect: 'error'`", async () => {
      for (const [location, init, reason] of [
        ['ftp://example.com/x', {}, /HTTP\(S\) scheme/],
        ['http://[::1', {}, /invalid redirect URL/],
        ['/v1/new', { redirect: 'error' }, /unexpected redirect/],
      ] as const) {
        const { limiter, slots } = recordingLimiter();
        const { base, arrivals } = await redirecting(302, location);
        const error = await createLimitedFetch({ limiter })(`${base}/v1/old`, init as RequestInit).catch((e: unknown) => e);
        expect(error, location).toBeInstanceOf(TypeError);
        expect(String((error as Error).cause), location).toMatch(reason);
        expect([arrivals.length, slots.length], location).toEqual([1, 1]);
      }
    });

    it('a redirecting server sees no more than the limit in any window (each hop waits for its slot)', async () => {
      const { base, arrivals } = await redirecting(307);
      const limitedFetch = createLimitedFetch({ limiter: createRateLimiter({ limit: 3, intervalMs: 300 }) });
      await Promise.all(Array.from({ length: 6 }, async () => (await limitedFetch(`${base}/v1/old`, { method: 'POST', body: '{}' })).text()));
      expect(arrivals).toHaveLength(12);
      expect(maxInAnyWindow(arrivals.map((a) => a.at), 300)).toBeLessThanOrEqual(3);
    });
  });

  it('an `onSending` that throws gives the slot back (nothing was sent)', async () => {
    const limiter = createRateLimiter({ limit: 1, intervalMs: 60_000 });
    const limitedFetch = createLimitedFetch({
      limiter,
      onSending: () => {
        throw new Error('listener bug');
      },
    });
    await expect(limitedFetch('http://127.0.0.1:9/v1/x')).rejects.toThrow('listener bug');
    expect([limiter.unsent, limiter.pending]).toEqual([0, 0]);
    expect(limiter.tryReserve()).toBeDefined();
  });

  it('gives the slot back when the connection is refused (nothing reached a server)', async () => {
    const probe = createNetServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { limiter, slots } = recordingLimiter();
    await expect(createLimitedFetch({ limiter })(`http://127.0.0.1:${port}/v1/x`)).rejects.toThrow();
    expect(slots.map((s) => s.state)).toEqual(['released']);
  });

  it('gives the slot back when aborted after undici took the request but before it was sent', async () => {
    const base = await serve((_req, res) => res.end('never'));
    const { limiter, slots } = recordingLimiter();
    const controller = new AbortController();
    // Aborted while undici opens the connection (a fresh origin: no pooled socket to reuse).
    const onConnect = () => queueMicrotask(() => controller.abort(new Error('caller gave up'))); // before any I/O callback: before the connection is up
    subscribe('undici:client:beforeConnect', onConnect);
    try {
      await expect(createLimitedFetch({ limiter })(`${base.replace('127.0.0.1', 'localhost')}/v1/x`, { signal: controller.signal })).rejects.toThrow();
    } finally {
      unsubscribe('undici:client:beforeConnect', onConnect);
    }
    expect(slots.map((s) => s.state)).toEqual(['released']);
  });

  it('keeps the slot counted when the request was sent and the connection then dropped, unstamped for `arrivalBoundMs`', async () => {
    const base = await serve((req) => req.socket.destroy());
    const { limiter, slots } = recordingLimiter();
    await expect(createLimitedFetch({ limiter, arrivalBoundMs: 100 })(`${base}/v1/x`)).rejects.toThrow();
    expect(slots.map((s) => s.state)).toEqual(['unsent']); // it may still be on its way
    await sleep(150);
    expect(slots).toEqual([{ state: 'sent', sentCalls: 1 }]);
  });

  it('a request aborted after it was written keeps its place until it can no longer arrive (issue #16, review)', async () => {
    // A proxy holds the bytes of the first connections 300 ms and then forwards them, even though
    // the caller gave up after 50 ms (a queue, a paused server): those requests still arrive. The
    // server's own log is what is measured.
    const limit = 3;
    const intervalMs = 600;
    const arrivals: number[] = [];
    const origin = await serve((_req, res) => {
      arrivals.push(performance.now());
      setTimeout(() => res.end('ok'), 1000);
    });
    let connections = 0;
    const proxy = createNetServer((client) => {
      const upstream = connect(Number(new URL(origin).port), '127.0.0.1');
      const held: Buffer[] = [];
      const late = connections++ < limit;
      client.on('data', (chunk: Buffer) => (late ? held.push(chunk) : upstream.write(chunk)));
      if (late) setTimeout(() => held.forEach((chunk) => upstream.write(chunk)), 300);
      upstream.pipe(client);
      client.on('error', () => {});
      upstream.on('error', () => client.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const limitedFetch = createLimitedFetch({ limiter: createRateLimiter({ limit, intervalMs }), arrivalBoundMs: 800 });
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1/x`;
      const givenUp = Array.from({ length: limit }, () => limitedFetch(url, { signal: AbortSignal.timeout(50) }).catch((error: unknown) => error));
      const next = Array.from({ length: limit }, async () => (await limitedFetch(url)).text());
      expect((await Promise.all(givenUp)).every((error) => error instanceof DOMException && error.name === 'TimeoutError')).toBe(true);
      await Promise.all(next);
      while (arrivals.length < 2 * limit) await sleep(20);
    } finally {
      proxy.close();
    }
    expect(maxInAnyWindow(arrivals, intervalMs)).toBeLessThanOrEqual(limit);
  });

  it('does not stamp on a different request a custom fetch sends first (a token, a proxy check)', async () => {
    const { limiter, slots } = recordingLimiter();
    const atToken: string[] = [];
    const base = await serve((req, res) => {
      if (req.url === '/token') atToken.push(slots[0]!.state);
      res.end('ok');
    });
    const custom = async (input: string | URL | Request, init?: RequestInit) => {
      await (await fetch(`${base}/token`)).text();
      return fetch(input, init);
    };
    await (await createLimitedFetch({ limiter, fetch: custom })(`${base}/v1/x`)).text();
    expect(atToken).toEqual(['unsent']);
    expect(slots.map((s) => s.state)).toEqual(['sent']);
  });

  it('rejects with the reason and takes no slot when the signal is already aborted', async () => {
    const { limiter, slots } = recordingLimiter();
    await expect(createLimitedFetch({ limiter })('http://127.0.0.1:9/v1/x', { signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no');
    expect(slots).toEqual([]);
  });

  it('a waiting request counts as throttled, and leaves the queue without a slot on abort', async () => {
    const limiter = createRateLimiter({ limit: 1, intervalMs: 60_000 });
    const base = await serve((_req, res) => res.end('ok'));
    const throttled: Array<{ method: string; url: string }> = [];
    const limited = createLimitedFetch({ limiter, onThrottled: ({ method, url }) => throttled.push({ method, url }) });
    await (await limited(`${base}/v1/a`)).text();
    const controller = new AbortController();
    const waiting = limited(`${base}/v1/b`, { method: 'DELETE', signal: controller.signal });
    expect(limiter.pending).toBe(1);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(limiter.pending).toBe(0);
    expect(limiter.unsent).toBe(0);
    expect(throttled).toEqual([]); // it never got a slot
  });

  it('uses acquire() when the limiter has no reserve()', async () => {
    let acquired = 0;
    const limiter: RateLimiter = { acquire: async () => void acquired++ };
    const base = await serve((_req, res) => res.end('ok'));
    await (await createLimitedFetch({ limiter })(`${base}/v1/x`)).text();
    expect(acquired).toBe(1);
  });

  it('takes a Request object as input', async () => {
    const { limiter, slots } = recordingLimiter();
    const methods: string[] = [];
    const base = await serve((req, res) => {
      methods.push(`${req.method} ${slots[0]!.state}`);
      res.end('ok');
    });
    await (await createLimitedFetch({ limiter })(new Request(`${base}/v1/r`, { method: 'PUT', body: 'x' }))).text();
    expect(methods).toEqual(['PUT unsent']);
    expect(slots.map((x) => x.state)).toEqual(['sent']);
  });
});

describe('createLimitedFetch with mocks', () => {
  it('msw 3 intercepts below undici: the handler sees the slot holding its place, stamped once it answered', async () => {
    const { limiter, slots } = recordingLimiter();
    const atHandler: string[] = [];
    const server = setupServer(http.get('https://api.example.test/v1/x', () => (atHandler.push(slots[0]!.state), HttpResponse.text('ok'))));
    server.listen({ onUnhandledFrame: 'error' });
    try {
      await (await createLimitedFetch({ limiter })('https://api.example.test/v1/x')).text();
    } finally {
      server.close();
    }
    expect(atHandler).toEqual(['unsent']);
    expect(slots.map((x) => x.state)).toEqual(['sent']);
  });

  it('a fetch that never reaches undici is stamped when it settles, which is after the request arrived', async () => {
    const { limiter, slots } = recordingLimiter();
    const atHandler: string[] = [];
    const stub = async (input: string | URL | Request) => {
      atHandler.push(slots.at(-1)!.state); // the stand-in for a server seeing the request
      if (String(input).endsWith('/fail')) throw new TypeError('fetch failed');
      return new Response('ok');
    };
    await (await createLimitedFetch({ limiter, fetch: stub })('https://api.example.test/v1/x')).text();
    await expect(createLimitedFetch({ limiter, fetch: stub })('https://api.example.test/v1/fail')).rejects.toThrow('fetch failed');
    expect(atHandler).toEqual(['unsent', 'unsent']);
    // The failed one may have arrived, or may yet: counted, and stamped `arrivalBoundMs` after it failed.
    expect(slots.map((s) => s.state)).toEqual(['sent', 'unsent']);
  });

  it('a custom fetch that throws at once leaves no slot unsent once `arrivalBoundMs` has passed', async () => {
    const limiter = createRateLimiter({ limit: 5, intervalMs: 1000 });
    const broken = (() => {
      throw new TypeError('broken fetch');
    }) as unknown as typeof fetch;
    await expect(createLimitedFetch({ limiter, fetch: broken, arrivalBoundMs: 50 })('https://api.example.test/v1/x')).rejects.toThrow('broken fetch');
    await sleep(100);
    expect(limiter.unsent).toBe(0);
  });
});

describe('the session sends through the transport', () => {
  it("uses the client's own fetch, one slot per attempt stamped on the wire, and reports throttling by operation", async () => {
    const h = await withHttp();
    try {
      let customCalls = 0;
      const client = new OpenAI({
        apiKey: TEST_API_KEY,
        baseURL: h.server.url,
        fetch: (input, init) => (customCalls++, fetch(input, init)),
      });
      const inner = createRateLimiter({ limit: 2, intervalMs: 200, marginMs: 0 });
      let reserved = 0;
      const limiter: RateLimiter = {
        acquire: inner.acquire,
        reserve: (o) => (reserved++, inner.reserve(o)),
        tryReserve: () => {
          const slot = inner.tryReserve();
          if (slot) reserved++;
          return slot;
        },
      };
      const session = makeSession(client, { rateLimiter: limiter, retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2 } });
      const events = recordEvents(session);
      h.sim.fail({ path: '/containers', method: 'POST', status: 500, times: 1 });
      await session.start();
      await Promise.all([session.listFiles(), session.listFiles()]);
      expect(customCalls).toBe(h.sim.requests.length);
      expect(reserved).toBe(h.sim.requests.length);
      expect(h.sim.requestsTo('/containers', 'POST').map((r) => r.status)).toEqual([500, 200]);
      expect(session.stats.requests).toBe(h.sim.requests.length);
      expect(inner.unsent).toBe(0);
      const throttled = events.of('request.throttled');
      expect(throttled.length).toBeGreaterThan(0);
      expect(throttled.every((e) => ['containers.create', 'containers.files.list'].includes(e.operation))).toBe(true);
      expect(session.stats.throttledMs).toBeGreaterThan(0);
      await session.close();
    } finally {
      await h.close();
    }
  });
});

describe('session.fetch answers as fetch does', () => {
  it("keeps a Request's redirect mode, passes a 304 through, keeps `url` and `redirected`, and does not retry a redirect refused", async () => {
    const arrivals: string[] = [];
    const base = await serve((req, res) => {
      arrivals.push(req.url!);
      if (req.url === '/v1/old' || req.url === '/v1/loop') res.writeHead(302, { location: req.url === '/v1/old' ? '/v1/new' : '/v1/loop' }).end();
      else if (req.url === '/v1/cached') res.writeHead(304, { etag: '"x"' }).end();
      else res.end('final');
    });
    const session = makeSession(new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${base}/v1` }));
    try {
      const manual = await session.fetch(new Request(`${base}/v1/old`, { redirect: 'manual' }));
      expect([manual.status, manual.headers.get('location')]).toEqual([302, '/v1/new']);
      const followed = await session.fetch(`${base}/v1/old`);
      expect([followed.status, followed.redirected, followed.url, await followed.text()]).toEqual([200, true, `${base}/v1/new`, 'final']);
      const cached = await session.fetch(`${base}/v1/cached`, { headers: { 'if-none-match': '"x"' } });
      expect([cached.status, cached.headers.get('etag'), cached.body]).toEqual([304, '"x"', null]);
      arrivals.length = 0;
      await expect(session.fetch(`${base}/v1/old`, { redirect: 'error' })).rejects.toThrow(TypeError);
      await expect(session.fetch(`${base}/v1/loop`)).rejects.toThrow(TypeError);
      expect(arrivals).toEqual(['/v1/old', ...Array(21).fill('/v1/loop')]); // each once: not retried (retries: 3)
    } finally {
      await session.close();
    }
  });
});
