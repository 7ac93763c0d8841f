import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, REDACTED, SecretScrubber } from '../src/secrets.js';

const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

describe('one scrubber for every string that leaves the library', () => {
  it('scrubs registered secrets, key-shaped text and bearer tokens from text', () => {
    const scrubber = new SecretScrubber([KEY, 'hunter2-domain-secret']);
    expect(scrubber.text(`key ${KEY} and hunter2-domain-secret`)).toBe(`key ${REDACTED} and ${REDACTED}`);
    expect(scrubber.text('Authorization: Bearer abc.def-ghi')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(scrubber.text('other key sk-abcd1234567890XYZ')).toBe(`other key sk-abcd…${REDACTED}`);
    expect(scrubber.text(encodeURIComponent(`x=${KEY}`))).not.toContain(KEY.slice(8));
    expect(scrubber.text('nothing secret here')).toBe('nothing secret here');
  });

  it('lets other parts register more secrets (short ones are ignored, so ordinary text survives)', () => {
    const scrubber = new SecretScrubber([KEY]);
    scrubber.add('db-password-42').add('abc').add(undefined);
    expect(scrubber.text('db-password-42 abc')).toBe(`${REDACTED} abc`);
  });

  it('scrubs an API error everywhere: message, stack, body, code, param, type, headers and causes', () => {
    const body = { error: { message: `bad key ${KEY}`, type: `t ${KEY}`, param: `p ${KEY}`, code: `c ${KEY}` } };
    const error = APIError.generate(400, body, `bad key ${KEY}`, new Headers({ 'x-echo': KEY, authorization: `Bearer ${KEY}` }));
    const outer = new Error(`wrapped: ${KEY}`, { cause: new AggregateError([error], `all ${KEY}`) });
    new SecretScrubber([KEY]).error(outer);
    const everything = [
      outer.message,
      outer.stack,
      (outer.cause as AggregateError).message,
      error.message,
      error.stack,
      JSON.stringify(error.error),
      error.code,
      error.param,
      error.type,
      JSON.stringify([...error.headers!.entries()]),
    ].join('\n');
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(KEY.slice(12));
    expect(error.headers!.get('authorization')).toBe(REDACTED);
    expect(error.status).toBe(400);
  });

  it('every header container in a cause chain: immutable Headers (a fetched Response\'s) are replaced by a scrubbed copy; plain objects and Maps in place', async () => {
    const HEX = '0123456789abcdef0123456789abcdef';
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'x-echo': HEX, 'set-cookie': [`a=${HEX}`, 'b=2'], [`x-${KEY}`]: 'named after the key', 'x-request-id': 'req_1' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await response.arrayBuffer();
      expect(() => response.headers.set('x-echo', 'x')).toThrow(); // immutable, as the SDK's error headers are
      const error = APIError.generate(404, undefined, 'nope', response.headers);
      const record = { 'X-Echo': HEX, Cookie: 'c=1' };
      const map = new Map<string, unknown>([['x-echo', HEX], ['set-cookie', 'short'], ['nested', new Headers({ 'x-echo': HEX })]]);
      const outer = new Error('outer', { cause: Object.assign(new Error('middle', { cause: error }), { headers: record, map }) });
      new SecretScrubber([HEX]).error(outer);
      const text = inspect(outer, { depth: 20 });
      expect(text).not.toContain(HEX);
      expect(text).not.toContain(KEY.slice(8));
      expect(error.headers).not.toBe(response.headers);
      expect(error.headers!.get('x-echo')).toBe(REDACTED);
      expect(error.headers!.getSetCookie()).toEqual([REDACTED, REDACTED]);
      expect(error.headers!.get('x-redacted')).toBe('named after the key');
      expect(error.headers!.get('x-request-id')).toBe('req_1');
      expect(record).toEqual({ 'X-Echo': REDACTED, Cookie: REDACTED });
      expect(map.get('x-echo')).toBe(REDACTED);
      expect(map.get('set-cookie')).toBe(REDACTED);
      expect((map.get('nested') as Headers).get('x-echo')).toBe(REDACTED);
      // Clean headers are left as they are, not copied.
      const clean = new Headers({ 'content-type': 'text/plain' });
      expect(new SecretScrubber([HEX]).value(clean)).toBe(clean);
    } finally {
      server.close();
    }
  });

  it('leaves bytes and unknown class instances alone, and survives cycles', () => {
    const bytes = new TextEncoder().encode(KEY);
    const cyclic: Record<string, unknown> = { text: KEY, bytes };
    cyclic.self = cyclic;
    new SecretScrubber([KEY]).value(cyclic);
    expect(cyclic.text).toBe(REDACTED);
    expect(new TextDecoder().decode(bytes)).toBe(KEY);
  });

  it('plain data at any depth: arrays, null-prototype objects, non-enumerable and symbol keys; getters are not called; clean frozen data is fine', () => {
    const hidden = Symbol('hidden');
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { text: `token ${KEY}` });
    const value: Record<string | symbol, unknown> = { list: [1, null, KEY, [{ deep: KEY }]], bare, [hidden]: KEY, frozen: Object.freeze(['clean', 2]) };
    Object.defineProperty(value, 'quiet', { value: KEY, enumerable: false, writable: false, configurable: true });
    let calls = 0;
    Object.defineProperty(value, 'lazy', { get: () => (calls++, KEY), enumerable: true });
    new SecretScrubber([KEY]).value(value);
    expect(value.list).toEqual([1, null, REDACTED, [{ deep: REDACTED }]]);
    expect(bare.text).toBe(`token ${REDACTED}`);
    expect(value[hidden]).toBe(REDACTED);
    expect(value.quiet).toBe(REDACTED);
    expect(Object.getOwnPropertyDescriptor(value, 'quiet')!.enumerable).toBe(false);
    expect(calls).toBe(0);
    expect(value.frozen).toEqual(['clean', 2]);
  });

  it('hostile input: no registered secret survives in any text, wherever it is embedded', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 40 }), fc.string(), fc.string(), fc.nat(3), (secret, before, after, times) => {
        fc.pre(secret.trim().length >= MIN_SECRET_LENGTH);
        const scrubber = new SecretScrubber([secret]);
        const text = before + Array.from({ length: times + 1 }, () => secret).join(after) + after;
        const out = scrubber.text(text);
        // The secret may only appear if it overlaps the replacement text itself.
        // (Unless the secret is part of the replacement text itself.)
        if (!`Bearer …${REDACTED}`.includes(secret)) expect(out.includes(secret)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
