// Imports every entry of the built package through its exports map (ESM) and checks its exports.
import assert from 'node:assert/strict';

const main = await import('code-interpreter-session');
const testing = await import('code-interpreter-session/testing');
const redis = await import('code-interpreter-session/redis');

for (const name of ['CodeInterpreterSession', 'createRateLimiter', 'CodeInterpreterError', 'InvalidOptionsError', 'SessionClosedError',
  'ContainerExpiredError', 'RetriesExhaustedError', 'DownloadTooLargeError', 'FileNotFoundError', 'RunResultSchema', 'MemorySessionStore']) {
  assert.ok(main[name], `code-interpreter-session exports ${name}`);
}
assert.equal(typeof testing.createSimulator, 'function');
for (const name of ['createRedisRateLimiter', 'RedisSessionStore']) assert.ok(redis[name], `code-interpreter-session/redis exports ${name}`);
const aiSdk = await import('code-interpreter-session/ai-sdk');
for (const name of ['createSessionOpenAI', 'codeInterpreterTool', 'sessionTools', 'filesOf', 'saveAll']) assert.equal(typeof aiSdk[name], 'function', `code-interpreter-session/ai-sdk exports ${name}`);
const agents = await import('code-interpreter-session/agents');
for (const name of ['codeInterpreterTool', 'sessionModelProvider', 'fileCitationsOf']) assert.equal(typeof agents[name], 'function', `code-interpreter-session/agents exports ${name}`);

const sim = testing.createSimulator();
const server = await sim.listen();
const { default: OpenAI } = await import('openai');
const session = new main.CodeInterpreterSession({ client: new OpenAI({ apiKey: 'sk-smoke', baseURL: server.url }), model: 'gpt-5' });
const result = await session.run('hello');
assert.equal(typeof result.text, 'string');
await session.close();
await server.close();
console.log(`ESM smoke test passed on Node ${process.version}: ${Object.keys(main).length} main exports, testing, redis, ai-sdk and agents entries load`);

// The command line tool, as installed: `code-interpreter --help` and an offline run.
const { spawnSync } = await import('node:child_process');
const bin = new URL('../dist/cli.js', import.meta.url).pathname;
const help = spawnSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8' });
assert.equal(help.status, 0, help.stderr);
assert.match(help.stdout, /--offline/);
const out = new URL('../.cache/smoke-out', import.meta.url).pathname;
const run = spawnSync(process.execPath, [bin, 'run', 'revenue by region', '--file', new URL('../examples/data/sales.csv', import.meta.url).pathname, '--out', out, '--offline', '--json'], { encoding: 'utf8' });
assert.equal(run.status, 0, run.stderr);
assert.equal(JSON.parse(run.stdout).saved.length, 2);
console.log('CLI smoke test passed: --help and an offline run');
