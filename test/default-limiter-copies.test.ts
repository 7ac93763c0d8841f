// Issue #13 item 11: the process-wide default limiter is ONE per process, whichever copy of the
// library made it. One child Node process `import`s the ESM build and `require`s the CJS build (as
// users' mixed installs do), makes sessions from both without a `rateLimiter`, and starts more of
// them at once than the default allows in a window (100 per 60 s). The truth is the simulator's own
// request log (a real HTTP server in this process): at most 100 arrive, from both copies, and the
// rest wait in the one shared limiter. A control run, with the global slot cleared after the ESM
// sessions took the default (two separate defaults, the bug), shows the measure sees the difference.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, builtEntry, BUILT_DIR } from './helpers/built-package.js';

type Testing = typeof import('../src/testing/index.js');

const CHILD = fileURLToPath(new URL('./helpers/default-limiter-child.mjs', import.meta.url));
const PER_COPY = 65; // 130 sessions in all: over the limit of 100, each copy alone under it
const SETTLE_MS = 1500;

let testing: Testing;
beforeAll(async () => {
  await buildPackage();
  testing = (await import(builtEntry('testing.js'))) as Testing;
}, 180_000);

interface Report {
  distinctCopies: boolean;
  sameLimiter: boolean;
  globalIsEsm: boolean;
  limit: { limit: number; intervalMs: number; marginMs?: number };
  started: number;
  pending: number;
  esmPending: number;
  cjsPending: number;
}

async function runChild(mode: 'shared' | 'control') {
  const sim = testing.createSimulator();
  const server = await sim.listen();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CHILD, BUILT_DIR, server.url, String(PER_COPY), String(SETTLE_MS), mode], { timeout: 90_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
    const creates = sim.requestsTo('/containers', 'POST');
    const byCopy = (copy: string) => creates.filter((r) => (r.body as { name: string }).name.startsWith(`code-interpreter-session-${copy}-`)).length;
    return { report, arrivals: sim.requests.length, creates: creates.length, esm: byCopy('esm'), cjs: byCopy('cjs'), rejected: sim.requests.filter((r) => r.status === 429).length };
  } finally {
    await server.close();
  }
}

describe('the default limiter with the ESM and the CJS build in one process (built package)', () => {
  it('is one object and one window: at most 100 requests arrive in the window, from both copies, the rest wait', async () => {
    const { report, arrivals, creates, esm, cjs, rejected } = await runChild('shared');
    console.log(`shared default: ${arrivals} arrivals (esm ${esm}, cjs ${cjs}), ${report.pending} waiting in the one limiter, of ${2 * PER_COPY} started at once`);
    expect(report.distinctCopies).toBe(true); // really two copies of the library
    expect(report.sameLimiter).toBe(true);
    expect(report.globalIsEsm).toBe(true); // the first load made it; the CJS copy found it
    expect(report.limit).toEqual({ limit: 100, intervalMs: 60_000 });
    // The server's log: the limit exactly (the burst fills the window), nothing over it.
    expect(arrivals).toBe(report.limit.limit);
    expect(creates).toBe(report.limit.limit);
    expect(report.started).toBe(report.limit.limit);
    expect(rejected).toBe(0);
    // Both copies' sessions went through it, and the excess of both waits in the same queue.
    expect(esm).toBeGreaterThan(0);
    expect(cjs).toBeGreaterThan(0);
    expect(esm + cjs).toBe(arrivals);
    expect(report.pending).toBe(2 * PER_COPY - report.limit.limit);
    expect(report.esmPending).toBe(report.pending);
    expect(report.cjsPending).toBe(report.pending);
  }, 120_000);

  it('control: two separate defaults (the global slot cleared after the ESM sessions took theirs) let every request through', async () => {
    const { report, arrivals, esm, cjs } = await runChild('control');
    console.log(`control (two defaults): ${arrivals} arrivals (esm ${esm}, cjs ${cjs})`);
    expect(arrivals).toBe(2 * PER_COPY);
    expect(arrivals).toBeGreaterThan(report.limit.limit);
    expect([esm, cjs]).toEqual([PER_COPY, PER_COPY]);
  }, 120_000);
});
