import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts a CPU-bound child process (a busy loop) that competes for the cores, as another busy
 * program on the same host would. `stop()` kills it; so does this process's exit, however it exits.
 */
export async function startCpuHog(): Promise<{ stop: () => void }> {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const stop = () => {
    hog.kill('SIGKILL');
    process.off('exit', stop);
  };
  process.on('exit', stop);
  await sleep(200); // let it start spinning
  return { stop };
}

/** Runs `work` while a CPU hog ({@link startCpuHog}) competes for the cores. */
export async function withCpuHog<T>(work: () => Promise<T>): Promise<T> {
  const hog = await startCpuHog();
  try {
    return await work();
  } finally {
    hog.stop();
  }
}
