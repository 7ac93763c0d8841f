import type { TestProject } from 'vitest/node';

/** Runs once per `vitest run`: says which Node runs the suite (CI checks 22 and 24). */
export default function setup(_project: TestProject): void {
  console.log(`[setup] running the suite on Node ${process.version} (${process.execPath})`);
}
