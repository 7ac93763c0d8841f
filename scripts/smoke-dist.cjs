// Requires every entry of the built package through its exports map (CJS) and checks its exports.
const assert = require('node:assert/strict');

const main = require('code-interpreter-session');
const testing = require('code-interpreter-session/testing');
const redis = require('code-interpreter-session/redis');

for (const name of ['CodeInterpreterSession', 'createRateLimiter', 'CodeInterpreterError', 'InvalidOptionsError', 'SessionClosedError',
  'ContainerExpiredError', 'RetriesExhaustedError', 'DownloadTooLargeError', 'FileNotFoundError', 'RunResultSchema', 'MemorySessionStore']) {
  assert.ok(main[name], `code-interpreter-session exports ${name}`);
}
assert.equal(typeof testing.createSimulator, 'function');
for (const name of ['createRedisRateLimiter', 'RedisSessionStore']) assert.ok(redis[name], `code-interpreter-session/redis exports ${name}`);
assert.ok(new main.InvalidOptionsError('x', []) instanceof main.CodeInterpreterError);

(async () => {
  const sim = testing.createSimulator();
  const server = await sim.listen();
  const OpenAI = require('openai');
  const session = new main.CodeInterpreterSession({ client: new OpenAI({ apiKey: 'sk-smoke', baseURL: server.url }), model: 'gpt-5' });
  const result = await session.run('hello');
  assert.equal(typeof result.text, 'string');
  await session.close();
  await server.close();
  console.log(`CJS smoke test passed on Node ${process.version}: ${Object.keys(main).length} main exports, testing and redis entries load`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
