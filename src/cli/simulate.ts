import { once } from 'node:events';
import { InvalidArgumentError } from 'commander';
import { serveOnLoopback } from '../testing/http-server.js';
import { Simulator, type SimulatorOptions } from '../testing/simulator.js';
import type { FaultSpec } from '../testing/types.js';

/** Flags of `code-interpreter simulate`. */
export interface SimulateFlags {
  port: number;
  azure?: boolean;
  latencyMs?: number;
  expireAfterIdleMs?: number;
  rateLimit?: { limit: number; intervalMs: number };
  log?: boolean;
  /** Commander's negation of `--no-hashed-paths`. */
  hashedPaths?: boolean;
}

export function portFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('give a port from 0 to 65535 (0: any free port)');
  return n;
}

export function msFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2_147_483_647) throw new InvalidArgumentError('give a whole number of milliseconds');
  return n;
}

/** `--rate-limit 100/60000`: at most 100 requests in any 60 000 ms. */
export function rateLimitFlag(value: string): { limit: number; intervalMs: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const limit = Number(match?.[1]);
  const intervalMs = Number(match?.[2]);
  if (!match || limit < 1 || intervalMs < 1 || intervalMs > 2_147_483_647) throw new InvalidArgumentError('give <requests>/<milliseconds>, e.g. 100/60000');
  return { limit, intervalMs };
}

/** What is left in the simulator: what a client that forgot to clean up would be billed for. */
export function leftovers(simulator: Simulator): { runningContainers: string[]; files: string[] } {
  return {
    runningContainers: [...simulator.containers.values()].filter((c) => c.status === 'running').map((c) => c.id),
    files: [...simulator.files.values()].filter((f) => !f.deleted).map((f) => f.id),
  };
}

/** Where the control routes live: beside `/v1`, never a path of the real API. */
export const CONTROL_PREFIX = '/__simulator';

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

/**
 * Control routes for clients in another process (they cannot call `simulator.expire()`):
 * `GET /__simulator/state`, `GET /__simulator/requests`, `POST /__simulator/containers/{id}/expire`,
 * `POST /__simulator/faults` (a fault as JSON; `path` a string, or `pathPattern` a RegExp source),
 * `DELETE /__simulator/faults`. Anything else goes to the simulator.
 */
export function withControlRoutes(simulator: Simulator): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith(`${CONTROL_PREFIX}/`)) return simulator.handle(request);
    const route = `${request.method} ${pathname.slice(CONTROL_PREFIX.length)}`;
    if (route === 'GET /state') return json({ ...leftovers(simulator), requests: simulator.requests.length });
    if (route === 'GET /requests') return json(simulator.requests.map(({ method, path, status, time }) => ({ method, path, status, time })));
    if (route === 'DELETE /faults') return simulator.clearFaults(), new Response(null, { status: 204 });
    if (route === 'POST /faults') {
      const body = (await request.json().catch(() => null)) as (FaultSpec & { pathPattern?: string }) | null;
      if (!body || (typeof body.status !== 'number' && body.status !== 'reset')) return json({ error: { message: 'Send a fault as JSON: { "status": 500, "path": "/responses", "times": 1 } (see FaultSpec).' } }, 400);
      const { pathPattern, ...fault } = body;
      simulator.fail(pathPattern === undefined ? fault : { ...fault, path: new RegExp(pathPattern) });
      return new Response(null, { status: 204 });
    }
    const expire = /^POST \/containers\/([^/]+)\/expire$/.exec(route);
    if (expire) {
      if (!simulator.containers.has(expire[1]!)) return json({ error: { message: `No container ${expire[1]}.` } }, 404);
      simulator.expire(expire[1]!);
      return new Response(null, { status: 204 });
    }
    return json({ error: { message: `Unknown control route ${route}.` } }, 404);
  };
}

/**
 * Serves the simulator over HTTP until SIGINT or SIGTERM (or `stop` aborts), for clients in any
 * language; then prints what was left behind and resolves.
 */
export async function simulateCommand(flags: SimulateFlags, out: NodeJS.WriteStream, stop?: AbortSignal): Promise<void> {
  const options: SimulatorOptions = {
    ...(flags.azure && { azure: true }),
    ...(flags.latencyMs !== undefined && { latencyMs: flags.latencyMs }),
    ...(flags.expireAfterIdleMs !== undefined && { expireAfterIdleMs: flags.expireAfterIdleMs }),
    ...(flags.rateLimit && { rateLimit: flags.rateLimit }),
    ...(flags.hashedPaths === false && { hashedFilePaths: false }),
  };
  const simulator = new Simulator(options);
  const server = await serveOnLoopback(withControlRoutes(simulator), { port: flags.port });
  const lines = flags.azure
    ? [`Simulator (Azure OpenAI shape) listening at ${server.endpoint}`, `  new AzureOpenAI({ endpoint: '${server.endpoint}', apiKey: 'test', apiVersion: '2025-04-01-preview' })`]
    : [`Simulator listening at ${server.url}`, `  OPENAI_BASE_URL=${server.url} OPENAI_API_KEY=test`];
  lines.push(`  Control: ${server.endpoint}${CONTROL_PREFIX}/state, …/requests, POST …/containers/{id}/expire, POST …/faults`);
  out.write(`${lines.join('\n')}\nStop with Ctrl+C (SIGINT) or SIGTERM; what is left is printed then.\n`);

  let logged = 0;
  const log = flags.log
    ? setInterval(() => {
        for (; logged < simulator.requests.length && simulator.requests[logged]!.status !== undefined; logged++) {
          const r = simulator.requests[logged]!;
          out.write(`${new Date(r.time).toISOString()} ${r.method} ${r.path} ${r.status}\n`);
        }
      }, 100)
    : undefined;

  const stopped = new AbortController();
  const onSignal = () => stopped.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  stop?.addEventListener('abort', onSignal, { once: true });
  try {
    if (!stopped.signal.aborted) await once(stopped.signal, 'abort');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stop?.removeEventListener('abort', onSignal);
    clearInterval(log);
    await server.close();
  }
  const left = leftovers(simulator);
  out.write(
    `Requests served: ${simulator.requests.length}. Left behind: ${left.runningContainers.length} running container(s)` +
      `${left.runningContainers.length ? ` (${left.runningContainers.join(', ')})` : ''}, ${left.files.length} Files API file(s)` +
      `${left.files.length ? ` (${left.files.join(', ')})` : ''}.\n`,
  );
}
