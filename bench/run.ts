// npm run bench [-- --smoke]
// Figures measured side by side in one run against the simulator over loopback HTTP. This machine
// is shared and noisy: the figures are ratios, counts and medians of interleaved rounds.
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import FakeTimers from '@sinonjs/fake-timers';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter } from '../src/index.js';
import { createSimulator } from '../src/testing/index.js';
import { startSimulatorProcess } from '../test/helpers/sim-process.js';
import { costs, poolMemory } from './pool.js';
import { median, printTable, report } from './report.js';
import { serverWindows } from './server-window.js';

const smoke = process.argv.includes('--smoke');
const run = promisify(execFile);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const roomyLimiter = () => createRateLimiter({ limit: 100_000, intervalMs: 1000 });
const csv = new TextEncoder().encode('region,revenue\nNorth,10\nSouth,5\nEast,7\n');

async function overhead(): Promise<void> {
  // The server in its own process, as a remote service would be: its work does not share this
  // process's event loop with the client being measured.
  const server = await startSimulatorProcess();
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.url, maxRetries: 0 });
  const session = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: roomyLimiter(), keepAlive: false });
  const containerId = (await session.start()).id;
  const rounds = smoke ? 20 : 1000;
  const input = 'How many rows are there?';
  const create = () => client.responses.create({ model: 'gpt-5', input, tools: [{ type: 'code_interpreter', container: containerId }], include: ['code_interpreter_call.outputs'] });
  // Each way against the raw client sending the same requests. Code runs for this input and
  // nothing is cited, so a default run() also lists the container for `result.generatedFiles`
  // (`listGeneratedFiles: 'auto'`): timed against a raw create plus a raw listing, and a run
  // without the listing against a raw create alone. Checked below from the server's own log.
  const ways = {
    run: () => session.run(input, { newConversation: true, listGeneratedFiles: 'never' }),
    raw: create,
    runListing: () => session.run(input, { newConversation: true }),
    rawListing: async () => {
      await create();
      await client.containers.files.list(containerId);
    },
  };
  const names = Object.keys(ways) as Array<keyof typeof ways>;
  const requestsOf = async (fn: () => Promise<unknown>) => {
    const log = () => server.control.requests();
    const before = (await log()).length;
    await fn();
    return (await log()).slice(before).map((r) => `${r.method} ${r.path.replace(/^\/v1/, '')}`);
  };
  const sent = {} as Record<keyof typeof ways, string[]>;
  for (const name of names) sent[name] = await requestsOf(ways[name]);
  const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(sent.run, sent.raw) || !same(sent.runListing, sent.rawListing) || sent.runListing.length !== 2) {
    throw new Error(`overhead: the ways compared do not send the same requests: ${JSON.stringify(sent)}`);
  }
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<keyof typeof ways, number[]>;
  for (let i = 0; i < rounds + 50; i++) {
    // Interleaved, the order reversed every other round; the first 50 rounds warm up and are dropped.
    for (const name of i % 2 ? names : [...names].reverse()) {
      const t = performance.now();
      await ways[name]();
      if (i >= 50) times[name].push(performance.now() - t);
    }
  }
  const us = (n: keyof typeof ways) => `${(median(times[n]) * 1000).toFixed(0)} µs`;
  console.error(`bench: medians: run() ${us('run')}, raw ${us('raw')} (${sent.raw.join(', ')}); default run() ${us('runListing')}, raw ${us('rawListing')} (${sent.rawListing.join(', ')})`);
  report({ name: 'overhead.run_vs_raw', value: median(times.run) / median(times.raw), unit: 'ratio', goal: '<= 1.05' });
  report({ name: 'overhead.run_listing_vs_raw', value: median(times.runListing) / median(times.rawListing), unit: 'ratio', goal: '<= 1.05' });
  await session.close();
  await server.stop();
}

async function recovery(): Promise<void> {
  const sim = createSimulator();
  const server = await sim.listen();
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.url, maxRetries: 0 });
  const rounds = smoke ? 3 : 15;
  const requestCounts: number[] = [];
  const recoveryMs: number[] = [];
  const createMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const session = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: roomyLimiter(), keepAlive: false });
    for (let i = 0; i < 20; i++) await session.upload(csv, { filename: `part-${i}.csv` });
    await session.start();
    sim.expire(session.containerId!);
    let expiredAt = 0;
    session.on('container.expired', () => (expiredAt = performance.now()));
    session.on('container.recreated', () => recoveryMs.push(performance.now() - expiredAt));
    const before = sim.requests.length;
    const result = await session.listFiles();
    if (result.length !== 20) throw new Error(`expected 20 files back, got ${result.length}`);
    // All requests of the call, less the failed attempt and the retried call itself.
    requestCounts.push(sim.requests.length - before - 2);
    const t = performance.now();
    await client.containers.create({ name: 'bare' });
    createMs.push(performance.now() - t);
    await session.close();
  }
  report({ name: 'recovery.requests', value: median(requestCounts), unit: 'requests', goal: '<= 1' });
  report({ name: 'recovery.time_vs_create', value: median(recoveryMs) / median(createMs), unit: 'ratio', goal: '<= 1.5' });
  await server.close();
}

async function downloads(): Promise<void> {
  const server = await startSimulatorProcess();
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.url, maxRetries: 0 });
  const session = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: roomyLimiter(), keepAlive: false });
  await session.start();
  const containerId = session.containerId!;
  // tmpfs when there is one, so disk flushes do not drown the difference being measured.
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cis-bench-'));
  try {
    // Peak RSS growth while saving one 512 MiB file, each way in a fresh process, alternating.
    const bigSize = (smoke ? 64 : 512) * 1024 * 1024;
    const big = (await server.control.addContainerFile(containerId, { name: 'big.bin', size: bigSize })).id;
    const child = fileURLToPath(new URL('./download-rss.ts', import.meta.url));
    const rss: Record<'session' | 'raw', number[]> = { session: [], raw: [] };
    for (let i = 0; i < (smoke ? 1 : 3); i++) {
      for (const mode of i % 2 ? (['raw', 'session'] as const) : (['session', 'raw'] as const)) {
        const { stdout } = await run(process.execPath, ['--import', TSX, child, mode, server.url, containerId, big, dir]);
        rss[mode].push(Number(stdout));
      }
    }
    report({ name: 'download.rss_delta_mib', value: median(rss.session), unit: 'MiB', goal: '<= 64' });
    report({ name: 'download.rss_delta_raw_fetch_mib', value: median(rss.raw), unit: 'MiB', goal: '<= 64' });
    // The library's share, side by side: the raw fetch's growth is fetch's own per-chunk buffers,
    // freed when V8's external-memory pressure starts a collection (docs/performance.md).
    report({ name: 'download.rss_vs_raw', value: median(rss.session) / median(rss.raw), unit: 'ratio', goal: '<= 1.1' });

    // Throughput against a raw fetch piped to a file, interleaved.
    const size = (smoke ? 16 : 64) * 1024 * 1024;
    const file = (await server.control.addContainerFile(containerId, { name: 'mid.bin', size })).id;
    const url = `${server.url}/containers/${containerId}/files/${file}/content`;
    const ours: number[] = [];
    const raw: number[] = [];
    const viaSession = async () => {
      const t = performance.now();
      await session.saveFile({ containerId, fileId: file, filename: 'mid.bin' }, dir, { overwrite: true });
      ours.push(size / (performance.now() - t));
    };
    const viaFetch = async () => {
      const t = performance.now();
      const response = await fetch(url, { headers: { authorization: 'Bearer sk-bench' } });
      await pipeline(Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream), createWriteStream(join(dir, 'raw.bin')));
      raw.push(size / (performance.now() - t));
    };
    for (let i = 0; i < (smoke ? 2 : 15); i++) {
      // Interleaved, alternating which goes first.
      if (i % 2) await viaSession().then(viaFetch);
      else await viaFetch().then(viaSession);
    }
    report({ name: 'download.throughput_vs_raw', value: median(ours) / median(raw), unit: 'ratio', goal: '>= 0.9' });
  } finally {
    await session.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function keepAlive(): Promise<void> {
  // On a simulated clock: fake timers drive the keep-alive, the simulator's clock follows Date.
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  try {
    const sim = createSimulator();
    const server = await sim.listen();
    const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.url, maxRetries: 0, timeout: 1e9 });
    const idle = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: roomyLimiter(), keepAlive: { idleTimeoutMs: 10 * 3_600_000 } });
    await idle.start();
    const hours = smoke ? 1 : 3;
    for (let m = 0; m < hours * 60; m++) await clock.tickAsync(60_000);
    report({ name: 'keepalive.touches_per_idle_hour', value: idle.stats.touches / hours, unit: 'touches', goal: '<= 4' });
    const alive = (await client.containers.retrieve(idle.containerId!)).status === 'running';
    if (!alive) throw new Error('the idle container expired despite keep-alive');

    const busy = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: roomyLimiter() });
    await busy.start();
    for (let m = 0; m < 60; m += 5) {
      await busy.run(`minute ${m}`);
      for (let s = 0; s < 5; s++) await clock.tickAsync(60_000);
    }
    report({ name: 'keepalive.touches_while_active', value: busy.stats.touches, unit: 'touches', goal: '<= 0' });
    await Promise.all([idle.close(), busy.close()]);
    await server.close();
  } finally {
    clock.uninstall();
  }
}

const sections: Array<[string, () => Promise<void>]> = [
  ['throttle', () => serverWindows(smoke)],
  ['overhead', overhead],
  ['recovery', recovery],
  ['downloads', downloads],
  ['keep-alive', keepAlive],
  ['pool', () => poolMemory(smoke)],
  ['cost', costs],
];
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
for (const [name, section] of sections.filter(([n]) => !only || n === only)) {
  console.error(`bench: ${name}${smoke ? ' (smoke)' : ''}`);
  await section();
}
printTable();
