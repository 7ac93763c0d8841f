import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/main.js';
import { cli } from './helpers/cli.js';

const BIN = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url));
const TSX = fileURLToPath(import.meta.resolve('tsx'));

/** `code-interpreter simulate` as a real process, as a user starts it for a client in another language. */
async function startSimulateProcess(...flags: string[]) {
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'simulate', '--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => (output += `${line}\n`));
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const found = /listening at (\S+)/.exec(line);
      if (found) resolve(found[1]!);
    });
    child.once('exit', (code) => reject(new Error(`simulate exited early with ${code}`)));
  });
  const stop = async () => {
    const exited = once(child, 'exit') as Promise<[number | null]>;
    child.kill('SIGTERM');
    const [code] = await exited;
    return { code, output };
  };
  return { url, stop, output: () => output };
}

describe('code-interpreter simulate', () => {
  it('serves the simulator over HTTP for any client, with control routes, and reports what was left on SIGTERM', async () => {
    const sim = await startSimulateProcess('--log');
    const origin = sim.url.replace(/\/v1$/, '');
    const client = new OpenAI({ apiKey: 'test', baseURL: sim.url, maxRetries: 0 });
    const kept = await client.containers.create({ name: 'kept' });
    const gone = await client.containers.create({ name: 'gone' });
    await client.containers.delete(gone.id);
    const file = await client.files.create({ file: new File(['a,b\n1,2\n'], 'data.csv'), purpose: 'user_data' });

    // Expire a container from outside the process, as `simulator.expire()` does in-process.
    expect((await fetch(`${origin}/__simulator/containers/${kept.id}/expire`, { method: 'POST' })).status).toBe(204);
    expect((await client.containers.retrieve(kept.id)).status).toBe('expired');
    const again = await client.containers.create({ name: 'again' });
    // Inject a fault the next request meets.
    const fault = await fetch(`${origin}/__simulator/faults`, { method: 'POST', body: JSON.stringify({ status: 503, path: '/files', times: 1 }) });
    expect(fault.status).toBe(204);
    await expect(client.files.list()).rejects.toMatchObject({ status: 503 });
    expect((await fetch(`${origin}/__simulator/faults`, { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await fetch(`${origin}/__simulator/containers/cntr_nope/expire`, { method: 'POST' })).status).toBe(404);

    const state = (await (await fetch(`${origin}/__simulator/state`)).json()) as { runningContainers: string[]; files: string[]; requests: number };
    expect(state).toEqual({ runningContainers: [again.id], files: [file.id], requests: 7 });
    const log = (await (await fetch(`${origin}/__simulator/requests`)).json()) as Array<{ method: string; path: string; status: number }>;
    expect(log.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /containers 200',
      'POST /containers 200',
      `DELETE /containers/${gone.id} 200`,
      'POST /files 200',
      `GET /containers/${kept.id} 200`,
      'POST /containers 200',
      'GET /files 503',
    ]);

    await new Promise((resolve) => setTimeout(resolve, 300)); // the --log lines are printed every 100 ms
    const { code, output } = await sim.stop();
    expect(code).toBe(0);
    expect(output).toMatch(/Z POST \/containers 200\n/);
    expect(output).toContain('GET /files 503');
    expect(output).toContain(`Left behind: 1 running container(s) (${again.id}), 1 Files API file(s) (${file.id}).`);
  });

  it('--log keeps printing after POST /__simulator/reset cleared the request log', async () => {
    const sim = await startSimulateProcess('--log');
    const origin = sim.url.replace(/\/v1$/, '');
    const client = new OpenAI({ apiKey: 'test', baseURL: sim.url, maxRetries: 0 });
    await client.containers.create({ name: 'before' });
    await client.files.list();
    await expect.poll(() => sim.output(), { timeout: 5000 }).toContain('GET /files 200');
    expect((await fetch(`${origin}/__simulator/reset`, { method: 'POST' })).status).toBe(204);
    const after = await client.containers.create({ name: 'after' });
    await expect.poll(() => sim.output(), { timeout: 5000 }).toMatch(/Z POST \/containers 200\n[^]*Z POST \/containers 200\n/);
    const { code, output } = await sim.stop();
    expect(code).toBe(0);
    expect(output).toContain(`Requests served: 1. Left behind: 1 running container(s) (${after.id}), 0 Files API file(s).`);
  });

  it("gives uploads the service's hashed paths, or plain ones with --no-hashed-paths", async () => {
    for (const [flags, pattern] of [[[], /^\/mnt\/data\/[0-9a-f]{32}-data\.csv$/], [['--no-hashed-paths'], /^\/mnt\/data\/data\.csv$/]] as const) {
      const sim = await startSimulateProcess(...flags);
      const client = new OpenAI({ apiKey: 'test', baseURL: sim.url, maxRetries: 0 });
      const container = await client.containers.create({ name: 'paths' });
      const file = await client.containers.files.create(container.id, { file: new File(['a,b\n1,2\n'], 'data.csv') });
      expect(file.path).toMatch(pattern);
      await client.containers.delete(container.id);
      expect((await sim.stop()).code).toBe(0);
    }
  });

  it('refuses bad flags with exit code 2 before serving anything', async () => {
    for (const flags of [['--port', 'http'], ['--port', '70000'], ['--rate-limit', '100'], ['--rate-limit', '0/1000'], ['--latency-ms', '-5']]) {
      const { code, stderr } = await cli('simulate', ...flags);
      expect(code, flags.join(' ')).toBe(EXIT.usage);
      expect(stderr).toMatch(/error: option '(-p, )?--[a-z-]+ <[^>]+>' argument '[^']*' is invalid\. give /);
    }
  });
});
