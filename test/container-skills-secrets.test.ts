// Container skills, allow-list domain secrets and the shell tool in the session's container (issue #13 item 8).
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterSession, InvalidOptionsError, RequestFailedError, type SessionOptions } from '../src/index.js';
import { schemaValidator } from './helpers/openapi.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const SECRET = 'tok-live-7f3a9c2e1b';
const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);
const container: NonNullable<SessionOptions['container']> = {
  networkPolicy: { type: 'allowlist', allowedDomains: ['api.example.com'], domainSecrets: [{ domain: 'api.example.com', name: 'EXAMPLE_TOKEN', value: SECRET }] },
  skills: [
    { type: 'skill_reference', skillId: 'skill_abc123', version: 'latest' },
    { type: 'inline', name: 'csv-tools', description: 'Helpers for CSV files', zip },
  ],
};
const expectedBody = {
  network_policy: { type: 'allowlist', allowed_domains: ['api.example.com'], domain_secrets: [{ domain: 'api.example.com', name: 'EXAMPLE_TOKEN', value: SECRET }] },
  skills: [
    { type: 'skill_reference', skill_id: 'skill_abc123', version: 'latest' },
    { type: 'inline', name: 'csv-tools', description: 'Helpers for CSV files', source: { type: 'base64', media_type: 'application/zip', data: Buffer.from(zip).toString('base64') } },
  ],
};

describe('container skills and domain secrets', () => {
  it('are sent on create and again, identical, on every re-creation', async () => {
    h = withMsw();
    const session = makeSession(h.client, { container });
    const first = await session.run('hello');
    h.sim.expire(first.containerId);
    const second = await session.run('again');
    expect(second.recovered).toBe(true);
    const creates = h.sim.requestsTo('/containers', 'POST');
    expect(creates).toHaveLength(2);
    const validate = schemaValidator('CreateContainerBody');
    for (const create of creates) {
      expect(create.body).toMatchObject(expectedBody);
      expect(validate(create.body), JSON.stringify(validate.errors)).toBe(true);
    }
    await session.close();
  });

  it('a secret value is scrubbed from errors and events, like the API key', async () => {
    h = withMsw();
    const session = makeSession(h.client, { container, retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 } });
    const events = recordEvents(session);
    const echo = { error: { message: `Invalid secret ${SECRET} for api.example.com`, type: 'invalid_request_error', param: null, code: null } };
    h.sim.fail({ path: '/containers', method: 'POST', status: 500, times: 1, body: echo });
    h.sim.fail({ path: '/containers', method: 'POST', status: 400, times: 1, body: echo });
    const error = (await session.start().then(
      () => new Error('start() should have failed'),
      (e: unknown) => e,
    )) as Error & { cause?: Error & { error?: { message: string } } };
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.message).toContain('Invalid secret [redacted]');
    expect(error.cause?.error?.message).toContain('[redacted]');
    expect(events.of('request.retry')).toHaveLength(1);
    const everything = JSON.stringify({ message: error.message, body: error.cause?.error, cause: String(error.cause ?? ''), stack: error.stack, events: events.seen });
    expect(everything).not.toContain(SECRET);
    await session.close();
  });

  it.each([
    [{ networkPolicy: { type: 'allowlist', allowedDomains: ['a.com'], domainSecrets: [{ domain: 'b.com', name: 'T', value: SECRET }] } }, /`container\.networkPolicy\.domainSecrets\.0\.domain`: 'b\.com' is not in allowedDomains/],
    [{ networkPolicy: { type: 'allowlist', allowedDomains: ['a.com'], domainSecrets: [{ domain: 'a.com', name: 'T', value: '' }] } }, /`container\.networkPolicy\.domainSecrets\.0\.value`: expected a non-empty secret/],
    [{ networkPolicy: { type: 'disabled', domainSecrets: [] } }, /unknown option 'domainSecrets'/],
    [{ skills: [{ type: 'skill_reference', skillId: '' }] }, /`container\.skills\.0\.skillId`/],
    [{ skills: [{ type: 'skill_reference', skillId: 's', version: 'v2' }] }, /`container\.skills\.0\.version`: expected a positive integer or 'latest'/],
    [{ skills: [{ type: 'inline', name: 'n', description: 'd', zip: 42 }] }, /`container\.skills\.0\.zip`: expected the zip bundle as bytes/],
    [{ skills: [{ type: 'inline', name: 'n', description: 'd', zip: '%%%not-base64%%%' }] }, /`container\.skills\.0\.zip`: expected the zip bundle as bytes \(Uint8Array\) or a base64 string \(a string that is not base64/],
    [{ skills: [{ type: 'inline', name: 'n', description: 'd', zip: '   ' }] }, /`container\.skills\.0\.zip`: expected the zip bundle/],
    [{ skills: [{ type: 'skills', id: 'x' }] }, /`container\.skills\.0\.type`: expected \{ type: 'skill_reference', skillId \} or \{ type: 'inline'/],
  ])('bad %j is refused naming the option, without echoing the secret, before anything is sent', (bad, message) => {
    h = withMsw();
    const build = () => new CodeInterpreterSession({ client: h.client, model: 'm', container: bad as never });
    expect(build).toThrow(InvalidOptionsError);
    expect(build).toThrow(message);
    try {
      build();
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
    expect(h.sim.requests).toHaveLength(0);
  });
});

describe('run({ shell: true })', () => {
  it('binds the hosted shell tool to the session container, and to the new one after a re-creation', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const first = await session.run('list files', { shell: true, request: { tools: [{ type: 'shell' }] } });
    const tools = (n: number) => (h.sim.requestsTo('/responses', 'POST')[n]!.body as { tools: unknown[] }).tools;
    expect(tools(0)).toEqual([
      { type: 'code_interpreter', container: first.containerId },
      { type: 'shell', environment: { type: 'container_reference', container_id: first.containerId } },
    ]);
    expect(schemaValidator('FunctionShellToolParam')(tools(0)[1])).toBe(true);
    h.sim.expire(first.containerId);
    const second = await session.run('again', { shell: true });
    expect(second.recovered).toBe(true);
    expect(tools(2)).toEqual([
      { type: 'code_interpreter', container: second.containerId },
      { type: 'shell', environment: { type: 'container_reference', container_id: second.containerId } },
    ]);
    // Without the option, a shell tool of your own passes through untouched.
    await session.run('plain', { request: { tools: [{ type: 'shell', environment: { type: 'container_auto' } }] } as never });
    expect(tools(3)).toEqual([{ type: 'code_interpreter', container: second.containerId }, { type: 'shell', environment: { type: 'container_auto' } }]);
    await session.close();
  });
});
