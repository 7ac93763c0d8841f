// The main job, offline: analyse a CSV with Code Interpreter, save the chart and the totals, and
// show what happens when the container expires between two questions. Runs against the built-in
// simulator, so it needs no API key and no network, and its answers are simulated (not from a
// model):  npm run demo [-- --out DIR]. Re-running it replaces the files it saved before.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { CodeInterpreterSession, type RunResult } from 'code-interpreter-session';
import { createSimulator } from 'code-interpreter-session/testing';

const { values } = parseArgs({ options: { out: { type: 'string', default: './out' } } });
const out = values.out!;
const csv = fileURLToPath(new URL('./data/sales.csv', import.meta.url));
const log = (message: string) => console.log(`\x1b[2m[${new Date().toISOString().slice(11, 19)}]\x1b[0m ${message}`);

const sim = createSimulator();
const server = await sim.listen();
log(`simulator listening on ${server.url}`);

const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-demo', baseURL: server.url }),
  model: 'gpt-5',
  instructions: 'You are a data analyst. Answer with totals and save a chart.',
});
session
  .on('container.created', ({ container }) => log(`container ${container.id} created`))
  .on('file.uploaded', ({ file }) => log(`uploaded ${file.filename} (${file.bytes} bytes) as ${file.fileId}`))
  .on('container.expired', ({ containerId, reason }) => log(`container ${containerId} expired (${reason})`))
  .on('container.recreated', ({ container, restoredFiles }) => log(`re-created as ${container.id} with ${restoredFiles} file(s) restored`))
  .on('request.retry', ({ operation, attempt, delayMs }) => log(`retrying ${operation} (attempt ${attempt}) in ${delayMs} ms`));

async function ask(question: string): Promise<RunResult> {
  console.log(`\n\x1b[1m> ${question}\x1b[0m`);
  const result = await session.run(question);
  console.log(`\n[simulated answer: offline demo, not from a model]\n${result.text}\n`);
  for (const call of result.codeCalls) {
    console.log('--- code ---');
    console.log(call.code);
    console.log('--- logs ---');
    console.log(call.logs.trimEnd());
  }
  for (const path of await session.saveAll(result, out, { overwrite: true })) log(`saved ${path}`);
  if (result.recovered) log('this answer needed a new container: files were restored, Python state was reset');
  return result;
}

try {
  await session.upload(csv);
  await ask('What is the total revenue by region? Make a chart.');
  log(`forcing the container to expire (as 20 idle minutes would)`);
  sim.expire(session.containerId!);
  await ask('And the units by product?');
  const { requests, containersCreated, recreations } = session.stats;
  log(`done: ${requests} requests, ${containersCreated} containers created, ${recreations} re-creation`);
} finally {
  await session.close();
  await server.close();
}
