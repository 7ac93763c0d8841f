import OpenAI, { APIError } from 'openai';
import { expect } from 'vitest';
import { setupServer } from 'msw/node';
import { createSimulator, type SimulatorKit, type SimulatorOptions } from '../../src/testing/index.js';

export const TEST_API_KEY = 'sk-test-0123456789abcdefSECRET';

/** A simulator behind msw, and an OpenAI client built after msw is listening (FACTS: fetch is read at construction). */
export function withMsw(options: SimulatorOptions = {}) {
  const sim = createSimulator(options);
  const server = setupServer(...sim.handlers);
  server.listen({ onUnhandledFrame: 'error' });
  const client = new OpenAI({ apiKey: TEST_API_KEY, maxRetries: 0 });
  let closed = false;
  const close = () => {
    if (!closed) server.close();
    closed = true;
  };
  return { sim, client, close };
}

/** A simulator on a real loopback HTTP server, and a client pointed at it. */
export async function withHttp(options: SimulatorOptions = {}) {
  const sim = createSimulator(options);
  const server = await sim.listen();
  const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: server.url, maxRetries: 0 });
  let closing: Promise<void> | undefined;
  return { sim, client, server, close: () => (closing ??= server.close()) };
}

export type Harness = { sim: SimulatorKit; client: OpenAI; close: () => void | Promise<void> };

/** Both transports, so one test body runs against each. */
export const transports: Array<[string, (options?: SimulatorOptions) => Promise<Harness> | Harness]> = [
  ['msw', withMsw],
  ['http', withHttp],
];

export const SALES_CSV = [
  'date,region,product,units,revenue',
  '2026-01-03,North,Widget,12,240.00',
  '2026-01-04,South,Widget,7,140.00',
  '2026-01-05,North,Gadget,3,150.00',
  '2026-01-06,East,Gadget,9,450.00',
  '2026-01-07,South,Gizmo,20,100.00',
  '2026-01-08,East,Widget,5,100.00',
  '',
].join('\n');

/** The APIError a request failed with (fails the test if it succeeded). */
export async function failure(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

/** The real service's path for a file a user put in a container: `/mnt/data/<32 hex>-<name>`. */
export const USER_FILE_PATH = /^\/mnt\/data\/[0-9a-f]{32}-([^/]+)$/;

/**
 * A simulator container file's path with the `<hash>-` prefix of a user file checked and removed
 * (`/mnt/data/sales.csv`), so assertions read by name; a user file without the prefix fails.
 * Files the code wrote are returned as they are.
 */
export function unhashedPath(file: { path: string; source: string }): string {
  if (file.source !== 'user') return file.path;
  const name = USER_FILE_PATH.exec(file.path)?.[1];
  if (!name) throw new Error(`user file at ${file.path}: expected the service's /mnt/data/<hash>-<name> path`);
  return `/mnt/data/${name}`;
}
