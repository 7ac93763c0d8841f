import { once } from 'node:events';
import { InvalidArgumentError } from 'commander';
import { CONTROL_PREFIX, leftovers, withControlRoutes } from '../testing/control.js';
import { serveOnLoopback } from '../testing/http-server.js';
import { Simulator, type SimulatorOptions } from '../testing/simulator.js';

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
  lines.push(`  Control: ${server.endpoint}${CONTROL_PREFIX}/state, …/requests, …/containers, …/files, POST …/faults (docs/testing.md)`);
  out.write(`${lines.join('\n')}\nStop with Ctrl+C (SIGINT) or SIGTERM; what is left is printed then.\n`);

  let logged = 0;
  let first = simulator.requests[0];
  const log = flags.log
    ? setInterval(() => {
        if (simulator.requests[0] !== first) [logged, first] = [0, simulator.requests[0]]; // cleared by POST /__simulator/reset
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
