import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { buildOnce, buildOnceLeftovers } from './build-once.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where this `vitest run` builds the package for its tests: a folder of its own (named by the
 * global setup, test/setup/global.ts, which removes it at the end), under the project so that the
 * build's imports (`openai`, `zod` …) resolve from its node_modules. dist/ is left alone. Outside
 * vitest (the bench), a folder of this process's own, removed when it exits.
 */
export const BUILT_DIR = process.env.VITEST ? inject('builtPackageDir') : standaloneDir();

/** Named as the global setup names a run's folder (`run-<pid>-…`), so that a test run started meanwhile leaves it alone while this process lives. */
function standaloneDir(): string {
  mkdirSync(`${root}.cache/built-package`, { recursive: true });
  const dir = `${root}.cache/built-package/run-${process.pid}-${randomBytes(4).toString('hex')}`;
  process.once('exit', () => {
    for (const path of buildOnceLeftovers(dir)) rmSync(path, { recursive: true, force: true });
  });
  return dir;
}

let building: Promise<void> | undefined;

/**
 * Builds the package once per `vitest run` (ESM + CJS + types, exactly as `npm run build`), however
 * many test files, each in its own worker process, ask at the same time ({@link buildOnce}): no test
 * imports a build that another file's build is writing or cleaning.
 */
export function buildPackage(): Promise<void> {
  building ??= buildOnce(BUILT_DIR, async (into) => {
    await promisify(execFile)(`${root}node_modules/.bin/tsup`, ['--silent', '--out-dir', into], { cwd: root });
  });
  return building;
}

/** A module of the built package by entry name (`index.js`, `index.cjs`, `testing.js` …). */
export function builtEntry(file: string): string {
  return pathToFileURL(`${BUILT_DIR}/${file}`).href;
}
