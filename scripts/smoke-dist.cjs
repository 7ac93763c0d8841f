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
const aiSdk = require('code-interpreter-session/ai-sdk');
for (const name of ['createSessionOpenAI', 'codeInterpreterTool', 'sessionTools', 'filesOf', 'saveAll']) assert.equal(typeof aiSdk[name], 'function', `code-interpreter-session/ai-sdk exports ${name}`);
const agents = require('code-interpreter-session/agents');
for (const name of ['codeInterpreterTool', 'sessionModelProvider', 'fileCitationsOf']) assert.equal(typeof agents[name], 'function', `code-interpreter-session/agents exports ${name}`);
assert.ok(new main.InvalidOptionsError('x', []) instanceof main.CodeInterpreterError);

// Constructing a session through the CJS entry needs no network: that is enough here (the ESM
// smoke test runs one against the simulator).
const OpenAI = require('openai');
const session = new main.CodeInterpreterSession({ client: new OpenAI({ apiKey: 'sk-smoke' }), model: 'gpt-5' });
assert.equal(typeof session.run, 'function');
assert.equal(typeof testing.createSimulator().handle, 'function');
console.log(`CJS smoke test passed on Node ${process.version}: ${Object.keys(main).length} main exports, testing, redis, ai-sdk and agents entries load`);
