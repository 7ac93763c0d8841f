// Size budget of the built ESM entry (what `import 'code-interpreter-session'` loads, with the
// shared chunks it imports), minified and gzipped as a bundler would ship it. Dependencies and
// peers are not counted. Fails when over budget; prints the figure either way.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

// 16 KiB until 2026-11-29, when the main entry took on the session pool, cost tracking, the wire-timed
// transport and `session.fetch`, Azure support, input validation and the secret scrubber (27.5 KiB;
// 32.1 KiB once generated-file listing, the Redis-aware transport and content-checked claims landed;
// 36.7 KiB on 2026-11-29 with redirects followed one slot per hop, construction-time checks of the
// rate-limit factories' options and the stricter input-file checks: measured by module, nothing
// from node_modules, all of it the library's own code — budget raised to 40 KiB).
// The framework adapters (ai-sdk, agents), the simulator and Redis stay in their own entries and do
// not count here. A Node backend library, not a browser bundle: the budget guards against growth by
// accident (a dependency bundled in, a copy of a module), with room for the next few features.
const BUDGET_GZIP_BYTES = 40 * 1024;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const { outputFiles } = buildSync({
  entryPoints: [new URL('../dist/index.js', import.meta.url).pathname],
  bundle: true,
  minify: true,
  write: false,
  format: 'esm',
  platform: 'node',
  external,
  logLevel: 'silent',
});
const minified = outputFiles[0].contents;
const gzipped = gzipSync(minified).length;
console.log(`size: dist/index.js ${minified.length} B minified, ${gzipped} B min+gzip (budget ${BUDGET_GZIP_BYTES} B)`);
if (gzipped > BUDGET_GZIP_BYTES) {
  console.error(`size: over the budget by ${gzipped - BUDGET_GZIP_BYTES} B`);
  process.exit(1);
}
