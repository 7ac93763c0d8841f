import { spawn } from 'node:child_process';

/**
 * Sends SIGKILL to process `pid` after `ms` unless stopped first, from a process of its own (`sh`:
 * `sleep`, then `kill`), as an orchestrator's grace period does: this process's event loop,
 * however late it runs on a loaded machine, cannot delay it, nor make a prompt exit look late.
 * The verdict is the exit status the kernel reports for `pid`: an exit code and no signal means it
 * ended by itself before the SIGKILL was due; killed by it, the status says SIGKILL.
 */
export function killAfter(pid: number, ms: number): { stop(): void } {
  const watchdog = spawn('sh', ['-c', 'sleep "$1" && kill -KILL "$2"', 'watchdog', String(ms / 1000), String(pid)], { stdio: 'ignore', detached: true });
  let group = watchdog.pid;
  return {
    /** Stops it (idempotent): call it as soon as `pid` has exited, so its id is never signalled once reused. */
    stop() {
      if (group === undefined) return;
      try {
        process.kill(-group, 'SIGKILL'); // its process group: sh and its sleep
      } catch {
        // already gone
      }
      group = undefined;
    },
  };
}
