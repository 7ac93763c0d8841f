import { startRedis } from '../helpers/redis-server.js';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Runs once per `vitest run`: says which Node runs the suite (CI checks 22 and 24) and starts Redis. */
export default async function setup(project: TestProject) {
  console.log(`[setup] running the suite on Node ${process.version} (${process.execPath})`);
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return () => {
    redis.child.kill('SIGTERM');
  };
}
