import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/main.js';
import { createSimulator, type FaultSpec } from '../src/testing/index.js';
import { cli, withEnv } from './helpers/cli.js';

const SALES = fileURLToPath(new URL('../examples/data/sales.csv', import.meta.url));
const KEY = 'sk-proj-CLIECHO0123456789abcdefghijklmnopqrstuvwxyz';
/** Any stretch of the key a reader could use (the scrubbed form keeps `sk-proj-` and 4 more). */
const leaks = (text: string) => [KEY, KEY.slice(12), KEY.slice(-20)].some((part) => text.includes(part));

/** An error body that carries the caller's key in every field, as a hostile or careless proxy might. */
const echoed = {
  error: { message: `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: `invalid_request_error ${KEY}`, param: `param ${KEY}`, code: `code ${KEY}` },
};

let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

/** Runs the CLI against a simulator over HTTP with `faults` injected and the key in the environment. */
async function runWith(faults: FaultSpec[], ...flags: string[]) {
  const sim = createSimulator();
  const server = await sim.listen();
  closeServer = () => server.close();
  for (const fault of faults) sim.fail(fault);
  const out = await mkdtemp(join(tmpdir(), 'cli-secrets-'));
  const result = await withEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url }, () => cli('run', 'Total revenue by region', '-f', SALES, '-o', out, '--retries', '0', ...flags));
  return { ...result, sim, out };
}

describe('the CLI never prints the API key, whatever the server echoes', () => {
  const cases: Array<[string, FaultSpec[]]> = [
    ['the run is refused (401 with the key in message, type, param and code)', [{ path: '/responses', status: 401, body: echoed }]],
    ['the container cannot be made (400 echoing the key)', [{ path: '/containers', method: 'POST', status: 400, body: echoed }]],
    ['the upload is refused (400 echoing the key)', [{ path: '/files', method: 'POST', status: 400, body: echoed }]],
    ['a generated file cannot be downloaded (500 echoing the key, every try)', [{ path: /\/content$/, status: 500, times: 50, body: echoed }]],
  ];

  for (const json of [false, true]) {
    it.each(cases)(`${json ? '--json: ' : ''}%s`, async (_name, faults) => {
      const { code, stdout, stderr, sim, out } = await runWith(faults, ...(json ? ['--json'] : []));
      expect(code).toBe(EXIT.failed);
      expect(stderr).toMatch(/^error: /);
      expect(stderr).toContain('[redacted]'); // the message still says a key was refused …
      expect(leaks(stdout)).toBe(false); // … and no usable part of it is printed
      expect(leaks(stderr)).toBe(false);
      // Nothing half-written and nothing left running on the way out.
      expect((await readdir(out)).filter((name) => name.endsWith('.part'))).toEqual([]);
      expect([...sim.containers.values()].filter((c) => c.status === 'running')).toHaveLength(0);
    });
  }
});
