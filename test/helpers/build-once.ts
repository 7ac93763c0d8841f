import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * Makes `dir` once, however many processes ask at the same time: the first to take the lock (an
 * atomic `mkdir` of `<dir>.lock`) runs `build` into a staging folder and renames it to `dir` when
 * complete; the others wait until `dir` appears (or the build failed). So nobody reads a
 * half-written or cleaned folder, and the work is done once. The folder is never rebuilt: give each
 * run its own `dir`.
 */
export async function buildOnce(dir: string, build: (into: string) => Promise<void>, waitMs = 300_000): Promise<void> {
  if (existsSync(dir)) return; // renamed into place whole: complete
  try {
    await mkdir(`${dir}.lock`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return waitFor(dir, waitMs);
  }
  const staging = `${dir}.staging`;
  try {
    await rm(staging, { recursive: true, force: true });
    await build(staging);
    await rename(staging, dir);
  } catch (error) {
    await writeFile(`${dir}.failed`, error instanceof Error ? (error.stack ?? error.message) : String(error));
    throw error;
  }
}

async function waitFor(dir: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!existsSync(dir)) {
    if (existsSync(`${dir}.failed`)) throw new Error(`the build of ${dir} (by another process) failed:\n${await readFile(`${dir}.failed`, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`the build of ${dir} (by another process) did not finish within ${waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The folders {@link buildOnce} may leave next to `dir`, for clean-up. */
export const buildOnceLeftovers = (dir: string): string[] => [dir, `${dir}.lock`, `${dir}.staging`, `${dir}.failed`];
