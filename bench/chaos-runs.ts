// npm run chaos [-- --smoke]
// The chaos run (bench/chaos.ts), then the same run again while a CPU-bound child process
// competes for the cores (`--cpu-hog`): the limiter must keep the organisation's limit at the
// server (orgLimitRejections 0) also when the event loop is starved. Each run prints its own
// `CHAOS {json}` line; this exits non-zero if either run failed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const CHAOS = fileURLToPath(new URL('./chaos.ts', import.meta.url));
const args = process.argv.slice(2);
let failed = 0;
for (const extra of [[], ['--cpu-hog']]) {
  console.error(`chaos: ${['run', ...extra, ...args].join(' ')}`);
  const { status, signal } = spawnSync(process.execPath, ['--import', TSX, CHAOS, ...args, ...extra], { stdio: 'inherit' });
  if (status !== 0) {
    failed++;
    console.error(`chaos: the run ${extra.join(' ') || 'without a CPU hog'} failed (${signal ?? `exit code ${status}`})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
