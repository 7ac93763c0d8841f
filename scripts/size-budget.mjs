// Size budget of the built ESM entry (what `import 'code-interpreter-session'` loads, with the
// shared chunks it imports), minified and gzipped as a bundler would ship it. Dependencies and
// peers are not counted. Fails when over budget; prints the figure either way.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

const BUDGET_GZIP_BYTES = 16 * 1024;
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
