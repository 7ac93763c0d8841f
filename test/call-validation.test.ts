import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeInterpreterError, InvalidOptionsError, type CodeInterpreterSession, type RunResult } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

const ref = { fileId: 'cfile_1', containerId: 'cntr_1', filename: 'chart.png' };
const result = { files: [ref] } as unknown as RunResult;

type Call = (s: CodeInterpreterSession) => Promise<unknown>;
const drain = async (s: CodeInterpreterSession, input: unknown, opts?: unknown) => {
  for await (const _ of s.stream(input as never, opts as never)) {
    // consume
  }
};

/** [what, the call, what the message must say] */
const cases: Array<[string, Call, RegExp]> = [
  ['run(123)', (s) => s.run(123 as never), /^run\(\): `input`: expected the prompt as a string, or an array of Responses input items, got 123$/],
  ['run(null)', (s) => s.run(null as never), /`input`: expected the prompt as a string.* got null/],
  ['run(undefined)', (s) => s.run(undefined as never), /`input`: .* got undefined/],
  ['run({})', (s) => s.run({} as never), /`input`: .* got an object/],
  ["run('')", (s) => s.run(''), /`input`: expected the prompt text, got an empty string/],
  ['run([])', (s) => s.run([]), /`input`: expected at least one input item/],
  ['run([1])', (s) => s.run([1] as never), /`input\.0`: expected an input item object/],
  ['timeoutMs: -1', (s) => s.run('x', { timeoutMs: -1 }), /`timeoutMs`: expected timeoutMs as a number of milliseconds from 1 to 2147483647, got -1/],
  ['timeoutMs: NaN', (s) => s.run('x', { timeoutMs: Number.NaN }), /`timeoutMs`: .* got NaN/],
  ['timeoutMs: "100"', (s) => s.run('x', { timeoutMs: '100' as never }), /`timeoutMs`: .* got "100"/],
  ['timeoutMs: 3e9', (s) => s.run('x', { timeoutMs: 3e9 }), /`timeoutMs`: .* got 3000000000/],
  ['tiemoutMs', (s) => s.run('x', { tiemoutMs: 5 } as never), /^run\(\): unknown option 'tiemoutMs'$/],
  ['run options null', (s) => s.run('x', null as never), /`options`: expected an options object, got null/],
  ['signal: {}', (s) => s.run('x', { signal: {} as never }), /`signal`: expected an AbortSignal/],
  ['maxOutputTokens: 1.5', (s) => s.run('x', { maxOutputTokens: 1.5 }), /`maxOutputTokens`: expected maxOutputTokens as a whole number >= 16/],
  ['request.stream', (s) => s.run('x', { request: { stream: true } as never }), /`request\.stream`: set by the session: call stream\(\) instead of run\(\)/],
  ['metadata 17 keys', (s) => s.run('x', { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }), /`metadata`: at most 16 keys/],
  ['stream(42)', (s) => drain(s, 42), /^stream\(\): `input`: .* got 42$/],
  ['stream tiemoutMs', (s) => drain(s, 'x', { tiemoutMs: 1 }), /^stream\(\): unknown option 'tiemoutMs'$/],
  ['upload(123)', (s) => s.upload(123 as never), /^upload\(\): `source`: expected a file path, .* got 123$/],
  ['upload filenme', (s) => s.upload(new Uint8Array(1), { filenme: 'a' } as never), /^upload\(\): unknown option 'filenme'$/],
  ['upload onProgress: 5', (s) => s.upload(new Uint8Array(1), { onProgress: 5 as never }), /`onProgress`: expected a function/],
  ['download(null)', (s) => s.download(null as never), /^download\(\): `ref`: expected an entry of result\.files/],
  ['download maxBytes NaN', (s) => s.download(ref, { maxBytes: Number.NaN }), /`maxBytes`: expected maxBytes as a whole number of bytes >= 0, got NaN/],
  ['downloadStream({})', (s) => s.downloadStream({} as never), /^downloadStream\(\): `ref`/],
  ["saveFile dir ''", (s) => s.saveFile(ref, ''), /^saveFile\(\): `dir`: expected the folder to save into as a non-empty path \(use '\.' for the current folder\), got ""$/],
  ['saveFile overwite', (s) => s.saveFile(ref, 'out', { overwite: true } as never), /^saveFile\(\): unknown option 'overwite'$/],
  ['saveFile maxBytes -1', (s) => s.saveFile(ref, 'out', { maxBytes: -1 }), /`maxBytes`: .* got -1/],
  ['saveAll concurrency 0', (s) => s.saveAll(result, 'out', { concurrency: 0 }), /`concurrency`: expected concurrency as a whole number from 1 to 64, got 0/],
  ['saveAll concurrency -1', (s) => s.saveAll(result, 'out', { concurrency: -1 }), /`concurrency`: .* got -1/],
  ['saveAll concurrency NaN', (s) => s.saveAll(result, 'out', { concurrency: Number.NaN }), /`concurrency`: .* got NaN/],
  ['saveAll maxBytes NaN', (s) => s.saveAll(result, 'out', { maxBytes: Number.NaN }), /`maxBytes`: .* got NaN/],
  ["saveAll dir ''", (s) => s.saveAll(result, ''), /^saveAll\(\): `dir`/],
  ['saveAll(null)', (s) => s.saveAll(null as never, 'out'), /^saveAll\(\): `result`: expected a run result/],
  ['start signal', (s) => s.start({ signal: 'x' as never }), /^start\(\): `signal`/],
  ['close deleteContainer "no"', (s) => s.close({ deleteContainer: 'no' as never }), /^close\(\): `deleteContainer`: expected true or false, got "no"$/],
  ['close deleteFiles 0', (s) => s.close({ deleteFiles: 0 as never }), /^close\(\): `deleteFiles`: expected true or false, got 0$/],
  ['close deletFiles', (s) => s.close({ deletFiles: false } as never), /^close\(\): unknown option 'deletFiles'$/],
  ['close(null)', (s) => s.close(null as never), /^close\(\): `options`: expected an options object, got null$/],
  ['listFiles extra', (s) => s.listFiles({ limit: 5 } as never), /^listFiles\(\): unknown option 'limit'$/],
  // The request passthrough: fields the session reads or merges into are checked before the container is made.
  ["request.tools 'x'", (s) => s.run('x', { request: { tools: 'x' } as never }), /^run\(\): `request\.tools`: expected an array of tool objects .*, got "x"$/],
  ['request.tools [1]', (s) => s.run('x', { request: { tools: [1] } as never }), /`request\.tools\.0`: expected a tool object such as \{ type: 'web_search' \}, got 1/],
  ['request.tools [{}]', (s) => s.run('x', { request: { tools: [{}] } as never }), /`request\.tools\.0\.type`: expected each tool's type as a string/],
  ['request.tools null', (s) => s.run('x', { request: { tools: null } as never }), /`request\.tools`: expected an array of tool objects/],
  ['stream request.tools {}', (s) => drain(s, 'x', { request: { tools: {} } }), /^stream\(\): `request\.tools`: expected an array/],
  ["request.include 'x'", (s) => s.run('x', { request: { include: 'x' } as never }), /`request\.include`: expected an array of strings .*, got "x"/],
  ['request.include [1]', (s) => s.run('x', { request: { include: [1] } as never }), /`request\.include\.0`: expected each include entry as a string, got 1/],
  ["request.background 'true'", (s) => s.run('x', { request: { background: 'true' } as never }), /`request\.background`: expected true or false/],
  ['request.input', (s) => s.run('x', { request: { input: [] } as never }), /`request\.input`: set by the session: pass the input as the first argument/],
  // Upload file names: control characters, a backslash, over 255 UTF-8 bytes (given, or taken from the source).
  ['upload filename NUL', (s) => s.upload(new Uint8Array(1), { filename: 'a\0b.csv' }), /^upload\(\): `filename`: contains a control character \(U\+0000\) at index 1/],
  ['upload filename CRLF', (s) => s.upload(new Uint8Array(1), { filename: 'a.csv\r\nX-Injected: 1' }), /`filename`: contains a control character \(U\+000D\) at index 5/],
  ['upload filename LF', (s) => s.upload(new Uint8Array(1), { filename: 'a\nb' }), /`filename`: contains a control character \(U\+000A\)/],
  ['upload filename DEL', (s) => s.upload(new Uint8Array(1), { filename: 'a\u007fb' }), /`filename`: contains a control character \(U\+007F\)/],
  ['upload filename backslash', (s) => s.upload(new Uint8Array(1), { filename: 'a\\b.csv' }), /`filename`: contains a backslash/],
  ['upload filename 10000 chars', (s) => s.upload(new Uint8Array(1), { filename: 'a'.repeat(10_000) }), /`filename`: is 10000 bytes long in UTF-8; use a name of at most 255 bytes/],
  ['upload filename 128 x é (256 bytes)', (s) => s.upload(new Uint8Array(1), { filename: 'é'.repeat(128) }), /`filename`: is 256 bytes long in UTF-8/],
  ['upload File name with LF', (s) => s.upload(new File(['x'], 'evil\n.csv')), /^upload\(\): `filename`: the name taken from the source, "evil\\n\.csv", contains a control character \(U\+000A\) at index 4; use a name without control characters, or pass `filename` to upload it under another name$/],
  ['run files: File name with CR', (s) => s.run('x', { files: [new File(['x'], 'a\r.csv')] }), /^run\(\): `files\.0`: the name taken from the source, "a\\r\.csv", contains a control character \(U\+000D\) at index 1; use a name without control characters, or upload it under another name with upload\(source, \{ filename \}\) before calling run\(\)$/],
  ['stream files: File name with CR', (s) => s.stream('x', { files: [new Uint8Array(1), new File(['x'], 'a\r.csv')] }).next(), /^stream\(\): `files\.1`: the name taken from the source, "a\\r\.csv", contains a control character/],
  // close(): every non-boolean and an unknown key, each named (landed in 91df2e4; kept as a regression).
  ['close deleteContainer 0 bogus', (s) => s.close({ deleteContainer: 0, bogus: 1 } as never), /^close\(\): `deleteContainer`: expected true or false, got 0; unknown option 'bogus'$/],
  ['close deleteContainer null bogus', (s) => s.close({ deleteContainer: null, bogus: 1 } as never), /^close\(\): `deleteContainer`: expected true or false, got null; unknown option 'bogus'$/],
  ["close deleteContainer 'false' bogus", (s) => s.close({ deleteContainer: 'false', bogus: 1 } as never), /^close\(\): `deleteContainer`: expected true or false, got "false"; unknown option 'bogus'$/],
];

describe('bad input to any method gets a typed error naming what to change, and nothing is sent', () => {
  it.each(cases)('%s', async (_name, call, message) => {
    h = withMsw();
    const session = makeSession(h.client);
    const error = await call(session).then(
      () => new Error('resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toMatch(message);
    expect(h.sim.requests).toEqual([]); // asserted on the server's own log
    await session.close();
  });

  it('close() with a bad option closes nothing: the session stays open and usable, and a valid close() then cleans up', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await session.run('hello');
    await expect(session.close({ deleteContainer: 'yes' as never })).rejects.toBeInstanceOf(InvalidOptionsError);
    expect(session.closed).toBe(false);
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(1); // nothing deleted
    await session.run('still open');
    await session.close({ deleteContainer: true });
    expect(session.closed).toBe(true);
    expect([...h.sim.containers.values()].filter((c) => c.status === 'running')).toEqual([]);
  });

  it('hostile input: a refusal sends nothing, and anything else that fails is still a CodeInterpreterError', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const out = await mkdtemp(join(tmpdir(), 'cis-hostile-'));
    const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withObjectString: true });
    const options = fc.oneof(
      anything,
      fc.record({ timeoutMs: anything, maxOutputTokens: anything, toolChoice: anything, metadata: anything, newConversation: anything }, { requiredKeys: [] }),
      fc.record({ concurrency: anything, maxBytes: anything, overwrite: anything }, { requiredKeys: [] }),
    );
    const calls: Array<(input: unknown, dir: unknown, opts: unknown) => Promise<unknown>> = [
      (input, _dir, opts) => session.run(input as never, opts as never),
      (_input, dir, opts) => session.saveAll(result, dir as never, opts as never),
      (input, _dir, opts) => session.upload(input as never, opts as never),
      (input, _dir, opts) => session.download(input as never, opts as never),
    ];
    await fc.assert(
      // Directories: hostile values, or one temporary folder (a valid string would be created).
      fc.asyncProperty(fc.nat(calls.length - 1), fc.oneof(anything, fc.constant('hi')), fc.oneof(anything.filter((v) => typeof v !== 'string'), fc.constantFrom('', '  ', 'a\0b', out)), options, async (which, input, dir, opts) => {
        const before = h!.sim.requests.length;
        const error = await calls[which]!(input, dir, opts).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (error instanceof InvalidOptionsError) expect(h!.sim.requests.length).toBe(before);
        else if (error !== undefined) expect(error).toBeInstanceOf(CodeInterpreterError);
      }),
      { numRuns: 300 },
    );
    await session.close();
  });
});
