import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./sim-server-entry.ts', import.meta.url));
const TSX = fileURLToPath(import.meta.resolve('tsx'));

/**
 * A simulator serving HTTP from another process, so that a test measuring this process's memory
 * does not count what the simulator stores. Commands go over stdin as JSON lines.
 */
export async function startSimulatorProcess(options: Record<string, unknown> = {}): Promise<{
  url: string;
  child: ChildProcess;
  command: (cmd: Record<string, unknown>) => Promise<unknown>;
  stop: () => Promise<void>;
}> {
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const pending: Array<(value: unknown) => void> = [];
  let ready: (url: string) => void;
  const started = new Promise<string>((resolve) => (ready = resolve));
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { url?: string; reply?: unknown };
    if (message.url) ready(message.url);
    else pending.shift()?.(message.reply);
  });
  const url = await started;
  return {
    url,
    child,
    command: (cmd) =>
      new Promise((resolve) => {
        pending.push(resolve);
        child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      }),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
