import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { buildOnceLeftovers } from '../helpers/build-once.js';
import { startRedis } from '../helpers/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis server for the Redis tests, or '' when there is none (they are then skipped). */
    redisUrl: string;
    /** Where this run builds the package for the tests that import it (test/helpers/built-package.ts). */
    builtPackageDir: string;
  }
}

/** Where the tests' builds of the package go: under the project, so their imports resolve from node_modules. */
const BUILDS = fileURLToPath(new URL('../../.cache/built-package/', import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A folder of this run's own for its build of the package (built on first use, once, by
 * test/helpers/built-package.ts), so that runs side by side never build into each other's. Builds
 * left by runs that were killed (their process is gone) are removed, and so is the old shared folder.
 */
function builtPackageDir(): { dir: string; remove: () => void } {
  mkdirSync(BUILDS, { recursive: true });
  for (const entry of readdirSync(BUILDS)) {
    const pid = /^run-(\d+)-/.exec(entry)?.[1];
    if (pid === undefined || !isAlive(Number(pid))) rmSync(join(BUILDS, entry), { recursive: true, force: true });
  }
  const dir = join(BUILDS, `run-${process.pid}-${randomBytes(4).toString('hex')}`);
  const remove = () => {
    for (const path of buildOnceLeftovers(dir)) rmSync(path, { recursive: true, force: true });
  };
  return { dir, remove };
}

const HOW_TO_RUN_REDIS_TESTS =
  'install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:port';

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs once per `vitest run`: says which Node runs the suite (CI checks 22 and 24) and finds a
 * Redis server for the Redis tests — `REDIS_URL`, or `redis-server` from PATH started on a free
 * port. Without either, the Redis tests are skipped (listed by name) unless `REQUIRE_REDIS=1`.
 */
export default async function setup(project: TestProject) {
  console.log(`[setup] running the suite on Node ${process.version} (${process.execPath})`);
  // Every temporary file of the run (the tests', their child processes', a 1 GiB download) goes
  // into one folder that is removed at the end: a test run leaves nothing in the system's tmp.
  const tempRoot = mkdtempSync(join(tmpdir(), 'cis-test-run-'));
  process.env.TMPDIR = tempRoot;
  const built = builtPackageDir();
  project.provide('builtPackageDir', built.dir);
  const removeTemp = () => {
    rmSync(tempRoot, { recursive: true, force: true });
    built.remove();
  };
  if (process.env.REDIS_URL) {
    console.log(`[setup] Redis tests use REDIS_URL (${process.env.REDIS_URL.replace(/\/\/[^@/]*@/, '//***@')})`);
    project.provide('redisUrl', process.env.REDIS_URL);
    return removeTemp;
  }
  if (!hasRedisServer()) {
    if (process.env.REQUIRE_REDIS === '1') {
      removeTemp();
      throw new Error(`REQUIRE_REDIS=1 but no Redis server is available for the Redis tests: ${HOW_TO_RUN_REDIS_TESTS}.`);
    }
    console.log(`[setup] SKIPPING the Redis tests (no redis-server on PATH, no REDIS_URL). To run them: ${HOW_TO_RUN_REDIS_TESTS}.`);
    project.provide('redisUrl', '');
    return removeTemp;
  }
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return () => {
    redis.child.kill('SIGTERM');
    removeTemp();
  };
}
