// tsx bench/chaos.ts [--smoke] [--cpu-hog] (`npm run chaos` runs it without, then with --cpu-hog)
// Many sessions at once against the simulator over loopback HTTP, with injected 429s (with
// Retry-After), 500s, connection resets and container expiries, and the organisation's rate
// limit scaled down so that it binds. `--cpu-hog`: the same while a CPU-bound child process
// competes for the cores. The last line is `CHAOS {json}`.
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, type RunResult } from '../src/index.js';
import type { FaultSpec } from '../src/testing/index.js';
import { startSimulatorProcess } from '../test/helpers/sim-process.js';
import { abortCloseRound } from './chaos-abort-round.js';
import { startCpuHog } from './cpu-hog.js';
import { maxInAnyWindow } from './report.js';

const smoke = process.argv.includes('--smoke');
const cpuHog = process.argv.includes('--cpu-hog');
const SESSIONS = smoke ? 4 : 20;
const RUNS = smoke ? 3 : 10;
const ORG_LIMIT = { limit: 40, intervalMs: 1000 };
const DEADLINE_MS = smoke ? 90_000 : 300_000;
// The abort/close round: sessions whose callers abort and close() them mid-flight.
const ABORT_SESSIONS = smoke ? 8 : 30;
const ABORT_CALLS = smoke ? 12 : 20;

// The simulator runs in its own process, as the real service would: its work does not delay the
// clients' requests in a shared event loop, and arrival times are its own.
const server = await startSimulatorProcess({ rateLimit: ORG_LIMIT });
const hog = cpuHog ? await startCpuHog() : undefined;
const sim = {
  fail: (fault: FaultSpec) => server.control.fail(fault),
  expire: (containerId: string) => server.control.expire(containerId),
  status: async (containerId: string) => (await server.control.container(containerId))?.status ?? null,
  /** The text of the container file named `name`, or null if the container does not hold one. */
  fileText: async (containerId: string, name: string) => {
    const file = (await server.control.container(containerId)) && (await server.control.containerFiles(containerId)).find((f) => f.name === name);
    return file ? new TextDecoder().decode(await server.control.containerFileContent(containerId, file.id)) : null;
  },
  requests: () => server.control.requests(),
};
const client = new OpenAI({ apiKey: 'sk-chaos', baseURL: server.url });
// One limiter for every session, at the org limit, default options: no margin for the time a
// request takes to arrive (the simulator counts arrivals); its slots are stamped when answers start.
const grants: number[] = [];
const limiter = createRateLimiter({ ...ORG_LIMIT, now: () => Date.now(), onGrant: (at) => grants.push(at) });

const regions = ['North', 'South', 'East', 'West'];
const csvFor = (n: number) =>
  ['region,revenue', ...regions.flatMap((region, i) => [`${region},${(n + 1) * (i + 1)}`, `${region},${n + i}`])].join('\n') + '\n';
const expectedTotals = (n: number) =>
  regions.map((region, i) => ({ region, total: (n + 1) * (i + 1) + n + i })).sort((a, b) => b.total - a.total);

let completed = 0;
let failed = 0;
let lostFiles = 0;
let expiries = 0;
let injected = 0;
const failures: string[] = [];
const idle = new Set<CodeInterpreterSession>();
const recreatedFrom = new Map<string, number>();
const noticed = new Set<string>();
const sessions: CodeInterpreterSession[] = [];
let done = false;
const liveFiles = async () => (await server.control.files()).filter((f) => !f.deleted).length;
const runningContainers = async () => (await server.control.state()).runningContainers.length;

async function checkDownloads(session: CodeInterpreterSession, result: RunResult, n: number): Promise<void> {
  for (const file of result.files) {
    const { bytes } = await session.download(file);
    const text = new TextDecoder().decode(bytes);
    const ok = file.filename.endsWith('.csv')
      ? text === `region,revenue\n${expectedTotals(n).map((t) => `${t.region},${t.total}`).join('\n')}\n`
      : text.includes('<svg') && regions.every((r) => text.includes(r));
    if (!ok) {
      lostFiles++;
      failures.push(`download of ${file.filename} in session ${n} differs from what was written`);
    }
  }
}

async function user(n: number): Promise<void> {
  const session = new CodeInterpreterSession({
    client,
    model: 'gpt-5',
    rateLimiter: limiter,
    persistGeneratedFiles: true,
    retry: { retries: 10, minTimeoutMs: 50, maxTimeoutMs: 1000 },
    keepAlive: false,
  });
  sessions.push(session);
  session.on('container.expired', ({ containerId }) => noticed.add(containerId));
  session.on('container.recreated', ({ previousContainerId }) => recreatedFrom.set(previousContainerId, (recreatedFrom.get(previousContainerId) ?? 0) + 1));
  const uploads = new Map<string, string>([['sales.csv', csvFor(n)]]);
  await session.upload(new TextEncoder().encode(csvFor(n)), { filename: 'sales.csv' });
  for (let r = 0; r < RUNS; r++) {
    try {
      if (r % 3 === 2) {
        const name = `notes-${r}.txt`;
        uploads.set(name, `session ${n} run ${r}`);
        await session.upload(new TextEncoder().encode(uploads.get(name)!), { filename: name });
      }
      const result = await session.run(`Total revenue by region in sales.csv (run ${r})`, { newConversation: r % 4 === 0 });
      const top = expectedTotals(n)[0]!;
      if (!result.text.includes(`${top.region} ${top.total}`)) throw new Error(`wrong answer: ${result.text.slice(0, 80)}`);
      await checkDownloads(session, result, n);
      completed++;
    } catch (error) {
      failed++;
      failures.push(`session ${n} run ${r}: ${(error as Error).message}`);
    }
    idle.add(session); // think time: the only moments a container is expired, as in real life
    await sleep(20 + Math.random() * 150);
    idle.delete(session);
  }
  // Every tracked upload is in the final container, byte for byte (listing brings the container
  // back if it expired after the last run).
  await session.listFiles();
  for (const [name, content] of uploads) {
    if ((await sim.fileText(session.containerId!, name)) !== content) {
      lostFiles++;
      failures.push(`session ${n}: ${name} missing or changed in the final container`);
    }
  }
}

async function chaos(): Promise<void> {
  const paths = ['/responses', '/containers', '/files'];
  while (!done) {
    await sleep(100 + Math.random() * 100);
    const roll = Math.random();
    const path = paths[Math.floor(Math.random() * paths.length)]!;
    if (roll < 0.25) await sim.fail({ path, status: 429, retryAfterSeconds: 0.2 });
    else if (roll < 0.45) await sim.fail({ path, status: 500 });
    else if (roll < 0.55) await sim.fail({ path, status: 'reset' });
    else if (roll < 0.6) await sim.fail({ path: '/containers', method: 'POST', status: 'reset', lostResponse: true });
    else if (roll < 0.8) {
      const candidates = [...idle].filter((s) => s.containerId);
      const victim = candidates[Math.floor(Math.random() * candidates.length)];
      if (victim && (await sim.status(victim.containerId!)) === 'running' && idle.has(victim)) {
        await sim.expire(victim.containerId!);
        expiries++;
      }
      continue;
    } else continue;
    injected++;
  }
}

const started = Date.now();
const injector = chaos();
const deadline = setTimeout(() => {
  console.error(`chaos: not finished after ${DEADLINE_MS} ms, stopping`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();
await Promise.all(Array.from({ length: SESSIONS }, (_, n) => user(n)));
done = true;
await injector;
await server.control.clearFaults();
await Promise.all(sessions.map((s) => s.close()));
const requests = await sim.requests();
const orphanedContainers = await runningContainers();
// Files API files the sessions made that close() did not delete (the run attaches none of its own).
const orphanedFiles = await liveFiles();

// The abort/close round, with the injector failing requests and expiring containers again.
done = false;
const abortInjector = chaos();
const abortRound = await abortCloseRound({ client, limiter, sessions: ABORT_SESSIONS, callsPerSession: ABORT_CALLS, failures, expirable: idle });
done = true;
await abortInjector;
await server.control.clearFaults();
// Every close() resolved: nothing may be sent any more, and nothing made may be left (the
// simulator's own state, minus what the first round had left).
const sentAtClose = (await sim.requests()).length;
await sleep(500);
const abortSummary = {
  ...abortRound,
  orphanedContainers: (await runningContainers()) - orphanedContainers,
  orphanedFiles: (await liveFiles()) - orphanedFiles,
  requestsAfterClose: (await sim.requests()).length - sentAtClose,
};
// The organisation limit is judged over both rounds: the abort round's requests count too.
const everything = await sim.requests();
hog?.stop();
await server.stop();

const admitted = everything.filter((r) => r.rejectedBy !== 'rate-limit');
const orgRejections = everything.length - admitted.length;
const recreations = [...recreatedFrom.values()].reduce((a, b) => a + b, 0);
const summary = {
  cpuHog,
  sessions: SESSIONS,
  runsPerSession: RUNS,
  completed,
  failed,
  lostFiles,
  recreationsPerExpiry: noticed.size ? Number((recreations / noticed.size).toFixed(3)) : 0,
  maxRecreationsOfOneContainer: Math.max(0, ...recreatedFrom.values()),
  maxWindowRatio: Number((maxInAnyWindow(admitted.map((r) => r.time), ORG_LIMIT.intervalMs) / ORG_LIMIT.limit).toFixed(3)),
  orgLimitRejections: orgRejections,
  orphanedContainers,
  orphanedFiles,
  expiries,
  expiriesNoticed: noticed.size,
  faultsInjected: injected,
  retries: sessions.reduce((sum, s) => sum + s.stats.retries, 0),
  requests: requests.length,
  sentThroughLimiter: sessions.reduce((sum, s) => sum + s.stats.requests, 0),
  grantsMaxWindowRatio: Number((maxInAnyWindow(grants, ORG_LIMIT.intervalMs) / ORG_LIMIT.limit).toFixed(3)),
  requestsBothRounds: everything.length,
  arrivalsMaxWindowRatio: Number((maxInAnyWindow(everything.map((r) => r.time), ORG_LIMIT.intervalMs) / ORG_LIMIT.limit).toFixed(3)),
  abortRound: abortSummary,
  seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
};
for (const failure of failures.slice(0, 20)) console.error(`chaos: ${failure}`);
console.log(`CHAOS ${JSON.stringify(summary)}`);
const ok =
  failed === 0 &&
  lostFiles === 0 &&
  orphanedContainers === 0 &&
  orphanedFiles === 0 &&
  summary.maxRecreationsOfOneContainer <= 1 &&
  summary.maxWindowRatio <= 1 &&
  orgRejections === 0 &&
  completed === SESSIONS * RUNS &&
  abortSummary.unexpectedFailures === 0 &&
  abortSummary.orphanedContainers === 0 &&
  abortSummary.orphanedFiles === 0 &&
  abortSummary.storeWrittenAfterClose === 0 &&
  abortSummary.requestsAfterClose === 0 &&
  // The round must have exercised what it is for.
  abortSummary.abortedByCaller > 0 &&
  abortSummary.closedByClose > 0 &&
  abortSummary.closesMidFlight > 0;
process.exit(ok ? 0 : 1);
