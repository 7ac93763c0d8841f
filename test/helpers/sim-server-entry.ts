// Child process: a simulator on loopback HTTP, driven by JSON commands on stdin (see sim-process.ts).
import { createInterface } from 'node:readline';
import { createSimulator, generatedContent, type FaultSpec } from '../../src/testing/index.js';

const sim = createSimulator(JSON.parse(process.argv[2] ?? '{}'));
const server = await sim.listen();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

const toolContainer = (body: unknown) =>
  (body as { tools?: Array<{ type?: string; container?: unknown }> } | undefined)?.tools?.find((t) => t.type === 'code_interpreter')?.container;

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; containerId?: string; name?: string; size?: number; fault?: FaultSpec };
  let reply: unknown;
  if (cmd.op === 'files') reply = [...sim.files.values()].map((f) => ({ id: f.id, filename: f.filename, size: f.content.size, deleted: f.deleted }));
  else if (cmd.op === 'containerFiles') reply = [...sim.containers.get(cmd.containerId!)!.files.values()].map((f) => ({ path: f.path, size: f.content.size }));
  else if (cmd.op === 'addGenerated') reply = sim.addContainerFile(cmd.containerId!, { name: cmd.name!, content: generatedContent(cmd.size!) }).id;
  else if (cmd.op === 'expire') reply = sim.expire(cmd.containerId!);
  else if (cmd.op === 'requests') {
    // `client`: the sender's `x-client` header; `container`: the code_interpreter container a response named.
    reply = sim.requests.map((r) => ({ method: r.method, path: r.path, status: r.status, time: r.time, rejectedBy: r.rejectedBy, client: r.headers['x-client'], container: toolContainer(r.body) }));
  }
  else if (cmd.op === 'running') reply = [...sim.containers.values()].filter((c) => c.status === 'running').length;
  else if (cmd.op === 'status') reply = sim.containers.get(cmd.containerId!)?.status ?? null;
  else if (cmd.op === 'fileText') {
    const file = [...(sim.containers.get(cmd.containerId!)?.files.values() ?? [])].find((f) => f.name === cmd.name);
    reply = file ? new TextDecoder().decode(file.content.bytes()) : null;
  } else if (cmd.op === 'fail') reply = sim.fail(cmd.fault!);
  else if (cmd.op === 'clearFaults') reply = sim.clearFaults();
  process.stdout.write(`${JSON.stringify({ reply: reply ?? null })}\n`);
});
