import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Where the package is built for tests: the project's own tsup config, another out dir (dist/ is left alone). */
export const BUILT_DIR = `${root}.cache/built-package`;

let building: Promise<void> | undefined;

/** Builds the package once per test process (ESM + CJS + types, exactly as `npm run build`). */
export function buildPackage(): Promise<void> {
  building ??= promisify(execFile)(`${root}node_modules/.bin/tsup`, ['--silent', '--out-dir', BUILT_DIR], { cwd: root }).then(() => undefined);
  return building;
}

/** A module of the built package by entry name (`index.js`, `index.cjs`, `testing.js` …). */
export function builtEntry(file: string): string {
  return pathToFileURL(`${BUILT_DIR}/${file}`).href;
}
