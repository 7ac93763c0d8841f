// Child process (plain Node, no loader): one process that loads the library twice, as the ESM
// build by `import` and the CJS build by `require`, makes sessions from both without a
// `rateLimiter`, and starts them all at once. Prints what it saw as one JSON line.
// argv: builtDir baseURL perCopy settleMs mode ('shared' | 'control': the global slot cleared
// after the ESM sessions took the default, so the CJS ones make a second one — what two unshared
// defaults would do — to show the measure sees it).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [builtDir, baseURL, perCopyArg, settleMsArg, mode] = process.argv.slice(2);
const perCopy = Number(perCopyArg);
const require = createRequire(import.meta.url);
const KEY = Symbol.for('code-interpreter-session.default-rate-limiter');

const esm = await import(pathToFileURL(`${builtDir}/index.js`).href);
const cjs = require(`${builtDir}/index.cjs`);
const OpenAI = require('openai');
const client = new OpenAI({ apiKey: 'sk-default-limiter-0123', baseURL, maxRetries: 0 });

const abort = new AbortController();
let started = 0;
const starts = [];
for (const [name, lib] of [['esm', esm], ['cjs', cjs]]) {
  for (let i = 0; i < perCopy; i++) {
    const session = new lib.CodeInterpreterSession({ client, model: 'gpt-5', sessionId: `${name}-${i}` });
    starts.push(session.start({ signal: abort.signal }).then(() => started++, () => {}));
  }
  // The control: the ESM sessions keep the default they took; the CJS ones get a second one.
  if (mode === 'control' && name === 'esm') delete globalThis[KEY];
}
const expected = mode === 'control' ? 2 * perCopy : esm.DEFAULT_RATE_LIMIT.limit;
const deadline = Date.now() + 60_000;
while (started < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
// Anything the limiter would let through late would arrive now; with one window nothing can
// until the first slot was stamped `intervalMs` (60 s) ago.
await new Promise((r) => setTimeout(r, Number(settleMsArg)));
const limiter = globalThis[KEY];
const report = {
  distinctCopies: esm.CodeInterpreterSession !== cjs.CodeInterpreterSession,
  sameLimiter: esm.defaultRateLimiter() === cjs.defaultRateLimiter(),
  globalIsEsm: limiter === esm.defaultRateLimiter(),
  limit: esm.DEFAULT_RATE_LIMIT,
  started,
  pending: limiter.pending,
  esmPending: esm.defaultRateLimiter().pending,
  cjsPending: cjs.defaultRateLimiter().pending,
};
abort.abort();
await Promise.all(starts);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
