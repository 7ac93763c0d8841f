import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SimulatorControl } from '../../src/testing/control-client.js';

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const TSX = fileURLToPath(import.meta.resolve('tsx'));

/** The simulator options `code-interpreter simulate` takes as flags. */
export interface SimulatorProcessOptions {
  latencyMs?: number;
  expireAfterIdleMs?: number;
  rateLimit?: { limit: number; intervalMs: number };
}

function flagsOf(options: SimulatorProcessOptions): string[] {
  return [
    ...(options.latencyMs !== undefined ? ['--latency-ms', String(options.latencyMs)] : []),
    ...(options.expireAfterIdleMs !== undefined ? ['--expire-after-idle-ms', String(options.expireAfterIdleMs)] : []),
    ...(options.rateLimit ? ['--rate-limit', `${options.rateLimit.limit}/${options.rateLimit.intervalMs}`] : []),
  ];
}

/**
 * `code-interpreter simulate` in another process, as a user starts it, so that a test measuring
 * this process's memory or event loop does not count the simulator's work. It is inspected and
 * steered through its HTTP control routes (`control`), never through its memory.
 */
export async function startSimulatorProcess(options: SimulatorProcessOptions = {}): Promise<{
  /** Base URL for the OpenAI client, ending in `/v1`. */
  url: string;
  child: ChildProcess;
  control: SimulatorControl;
  stop: () => Promise<void>;
}> {
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'simulate', '--port', '0', ...flagsOf(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    // Keeps reading stdout to the end, so the summary printed on exit never blocks the child.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = /listening at (\S+)/.exec(line);
      if (found) resolve(found[1]!);
    });
    void exited.then(([code]) => reject(new Error(`code-interpreter simulate exited (${String(code)}) before it listened`)));
  });
  return {
    url,
    child,
    control: new SimulatorControl(url),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
